//! The variables Gitness gives every step of a build, from its context: runner-go's
//! `environ` System, Repo, Build and Link, the legacy `CI_*` names, and the clone's
//! `GIT_AUTHOR_*` / `GIT_COMMITTER_*`.

use super::BuildContext;

impl BuildContext {
    /// The variables Gitness gives every step of the build (runner-go's `environ` System,
    /// Repo, Build and Link, the legacy `CI_*` names, and the clone's `GIT_AUTHOR_*`), in
    /// order.
    pub fn environment(&self) -> Vec<(String, String)> {
        let git_ref = self.git_ref();
        let slug = self.slug();
        let number = self.number.to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let link = format!("http://localhost/{slug}/{number}");
        let mut env: Vec<(&str, String)> = vec![
            ("CI", "true".into()),
            ("DRONE", "true".into()),
            ("DRONE_SYSTEM_PROTO", "http".into()),
            ("DRONE_SYSTEM_HOST", "localhost".into()),
            ("DRONE_SYSTEM_HOSTNAME", "localhost".into()),
            ("DRONE_SYSTEM_VERSION", String::new()),
            ("DRONE_REPO", slug.clone()),
            ("DRONE_REPO_SCM", "git".into()),
            ("DRONE_REPO_OWNER", self.repo_namespace.clone()),
            ("DRONE_REPO_NAMESPACE", self.repo_namespace.clone()),
            ("DRONE_REPO_NAME", self.repo_name.clone()),
            ("DRONE_REPO_LINK", String::new()),
            ("DRONE_REPO_BRANCH", self.default_branch.clone()),
            ("DRONE_REMOTE_URL", self.remote_url.clone()),
            ("DRONE_GIT_HTTP_URL", self.remote_url.clone()),
            ("DRONE_GIT_SSH_URL", String::new()),
            ("DRONE_REPO_VISIBILITY", "private".into()),
            ("DRONE_REPO_PRIVATE", "true".into()),
            ("DRONE_BRANCH", self.branch.clone()),
            ("DRONE_SOURCE_BRANCH", self.branch.clone()),
            ("DRONE_TARGET_BRANCH", self.branch.clone()),
            ("DRONE_COMMIT", self.commit.clone()),
            ("DRONE_COMMIT_SHA", self.commit.clone()),
            ("DRONE_COMMIT_BEFORE", self.before.clone()),
            ("DRONE_COMMIT_AFTER", self.commit.clone()),
            ("DRONE_COMMIT_REF", git_ref.clone()),
            ("DRONE_COMMIT_BRANCH", self.branch.clone()),
            ("DRONE_COMMIT_LINK", String::new()),
            ("DRONE_COMMIT_MESSAGE", self.message.clone()),
            ("DRONE_COMMIT_AUTHOR", self.author_login.clone()),
            ("DRONE_COMMIT_AUTHOR_EMAIL", self.author_email.clone()),
            ("DRONE_COMMIT_AUTHOR_AVATAR", String::new()),
            ("DRONE_COMMIT_AUTHOR_NAME", self.author_name.clone()),
            ("DRONE_BUILD_NUMBER", number.clone()),
            ("DRONE_BUILD_PARENT", "0".into()),
            ("DRONE_BUILD_EVENT", self.event.clone()),
            ("DRONE_BUILD_ACTION", String::new()),
            ("DRONE_BUILD_STATUS", "success".into()),
            ("DRONE_BUILD_CREATED", now.clone()),
            ("DRONE_BUILD_STARTED", now.clone()),
            ("DRONE_BUILD_FINISHED", now),
            ("DRONE_DEPLOY_TO", String::new()),
            ("DRONE_BUILD_LINK", link.clone()),
            ("CI_REPO", slug.clone()),
            ("CI_REPO_NAME", slug.clone()),
            ("CI_REPO_LINK", String::new()),
            ("CI_REPO_REMOTE", self.remote_url.clone()),
            ("CI_REMOTE_URL", self.remote_url.clone()),
            ("CI_REPO_PRIVATE", "true".into()),
            ("CI_BUILD_NUMBER", number),
            ("CI_BUILD_EVENT", self.event.clone()),
            ("CI_BUILD_LINK", link),
            ("CI_BUILD_STATUS", "success".into()),
            ("CI_COMMIT_SHA", self.commit.clone()),
            ("CI_COMMIT_REF", git_ref.clone()),
            ("CI_COMMIT_BRANCH", self.branch.clone()),
            ("CI_COMMIT_MESSAGE", self.message.clone()),
            ("CI_COMMIT_AUTHOR", self.author_login.clone()),
            ("CI_COMMIT_AUTHOR_NAME", self.author_name.clone()),
            ("CI_COMMIT_AUTHOR_EMAIL", self.author_email.clone()),
            ("GIT_AUTHOR_NAME", self.author_name.clone()),
            ("GIT_AUTHOR_EMAIL", self.author_email.clone()),
            ("GIT_COMMITTER_NAME", self.author_name.clone()),
            ("GIT_COMMITTER_EMAIL", self.author_email.clone()),
        ];
        if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
            env.push(("DRONE_TAG", tag.to_string()));
            env.push(("CI_TAG", tag.to_string()));
        }
        if self.event == "pull_request" {
            let pr: String = git_ref
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            env.push(("DRONE_PULL_REQUEST", pr));
        }
        env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}
