//! One pipeline step -> one planned container: image, command, script, environment, mounts.

use super::container_body::{
    apply_container, health_plan, script_text, script_with, shell_path, split_words,
};
use super::{Block, Mount, PlanOptions, PlannedStep, StepKind, VolumeSource};
use crate::ports::PortMapping;
use crate::spec::{Envs, Pipeline, Pull, Stage, Step, StepSpec};

pub(super) struct Planner<'a> {
    pub(super) pipeline: &'a Pipeline,
    pub(super) stage: &'a Stage,
    pub(super) stage_name: String,
    pub(super) stage_index: usize,
    pub(super) options: &'a PlanOptions,
    pub(super) workspace_path: String,
    pub(super) steps: Vec<PlannedStep>,
}

impl Planner<'_> {
    pub(super) fn blocks(&mut self, steps: &[Step]) -> Vec<Block> {
        steps.iter().map(|s| self.block(s)).collect()
    }

    fn block(&mut self, step: &Step) -> Block {
        match &step.spec {
            StepSpec::Group(children) => Block::Sequence(self.blocks(children)),
            StepSpec::Parallel(children) => Block::Parallel(self.blocks(children)),
            _ => {
                let planned = self.step(step);
                self.steps.push(planned);
                Block::Step(self.steps.len() - 1)
            }
        }
    }

    fn step(&self, step: &Step) -> PlannedStep {
        let index = self.steps.len();
        // What people read: a name cannot move the cursor or rewrite the terminal.
        let name = crate::escape::escape_controls(&step.display_name()).into_owned();
        let mut p = PlannedStep {
            index,
            name: name.clone(),
            type_name: step.spec.type_name(),
            kind: StepKind::Run,
            image: String::new(),
            resolved_image: String::new(),
            pull: Pull::IfNotExists,
            login: None,
            entrypoint: None,
            cmd: None,
            script: None,
            env: Vec::new(),
            workdir: None,
            aliases: step.hostnames.clone(),
            user: None,
            privileged: false,
            ports: Vec::new(),
            dns: Vec::new(),
            dns_search: Vec::new(),
            extra_hosts: Vec::new(),
            network_mode: None,
            memory: None,
            shm_size: None,
            nano_cpus: None,
            mounts: vec![Mount::new(
                VolumeSource::Workspace,
                self.workspace_path.clone(),
            )],
            timeout: step.timeout.as_ref().map(|t| t.value),
            healthcheck: None,
            span: step.span,
            policy: step.policy.clone(),
            continue_on_error: step.continue_on_error,
            github: None,
            build: None,
        };
        let step_envs: &Envs;
        let shell;
        match &step.spec {
            StepSpec::Run(r) => {
                p.kind = StepKind::Run;
                if let Some(c) = &r.container {
                    apply_container(&mut p, c);
                }
                shell = r.shell.as_ref().map(|s| s.value.as_str());
                let set = if r.pipefail {
                    "set -eo pipefail"
                } else {
                    "set -e"
                };
                p.script = Some(script_with(set, r.script.iter().map(|s| s.as_str())));
                if self.stage.github.is_some() {
                    p.github = Some(Box::new(super::GitHubStep {
                        id: step.id.as_ref().map(|i| i.value.clone()),
                        condition: step.at_turn.condition.as_ref().map(|c| c.value.clone()),
                        commands: step
                            .at_turn
                            .fields
                            .then(|| r.script.iter().map(|s| s.value.clone()).collect()),
                        set,
                        scope: step.at_turn.scope.clone(),
                        ends: step.at_turn.ends.clone(),
                        args: None,
                        env: Vec::new(),
                    }));
                }
                p.workdir = p.workdir.take().or(Some(self.workspace_path.clone()));
                p.mounts.extend(self.mounts(&r.mount));
                step_envs = &r.envs;
            }
            StepSpec::Script(s) => {
                p.kind = StepKind::Run;
                p.image = s
                    .image
                    .as_ref()
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
                p.pull = s.pull.as_ref().map(|x| x.value).unwrap_or_default();
                p.user = s.user.as_ref().map(|u| u.value.clone());
                p.privileged = s.privileged;
                p.network_mode = s.network.as_ref().map(|n| n.value.clone());
                shell = s.shell.as_ref().map(|s| s.value.as_str());
                if s.run.is_empty()
                    && (s.entrypoint.is_some() || !s.args.is_empty() || s.build.is_some())
                {
                    // The image's own program (a GitHub Docker action): no script.
                    p.entrypoint = s.entrypoint.as_ref().map(|e| split_words(&e.value));
                    p.cmd = (!s.args.is_empty())
                        .then(|| s.args.iter().map(|a| a.value.clone()).collect());
                } else {
                    p.script = Some(script_text(s.run.iter().map(|s| s.as_str())));
                }
                p.build = s.build.clone();
                if self.stage.github.is_some() && step.at_turn.scope.is_some() {
                    p.github = Some(Box::new(super::GitHubStep {
                        id: step.id.as_ref().map(|i| i.value.clone()),
                        condition: step.at_turn.condition.as_ref().map(|c| c.value.clone()),
                        commands: None,
                        set: "set -e",
                        scope: step.at_turn.scope.clone(),
                        ends: step.at_turn.ends.clone(),
                        args: step
                            .at_turn
                            .fields
                            .then(|| s.args.iter().map(|a| a.value.clone()).collect()),
                        env: Vec::new(),
                    }));
                }
                p.workdir = Some(self.workspace_path.clone());
                p.mounts.extend(self.mounts(&s.mount));
                step_envs = &s.envs;
            }
            StepSpec::Background(b) => {
                p.kind = StepKind::Service;
                if let Some(c) = &b.container {
                    apply_container(&mut p, c);
                }
                if let Some(i) = &b.image {
                    p.image = i.value.clone();
                }
                if let Some(x) = &b.pull {
                    p.pull = x.value;
                }
                if let Some(u) = &b.user {
                    p.user = Some(u.value.clone());
                }
                if let Some(e) = &b.entrypoint {
                    p.entrypoint = Some(split_words(&e.value));
                }
                if !b.args.is_empty() {
                    p.cmd = Some(b.args.iter().map(|a| a.value.clone()).collect());
                }
                // Validated by the spec decoder, which reports a bad one at its line.
                p.ports.extend(
                    b.ports
                        .iter()
                        .filter_map(|x| x.value.parse::<PortMapping>().ok()),
                );
                if let Some(n) = &b.network {
                    p.network_mode = Some(n.value.clone());
                }
                p.privileged |= b.privileged;
                if let Some(w) = &b.workdir {
                    p.workdir = Some(w.value.clone());
                }
                shell = b.shell.as_ref().map(|s| s.value.as_str());
                // `run:` replaces the image's command; so does `script:` (engine2 ignores
                // it, which silently drops what the author wrote: we run it).
                if let Some(run) = &b.run {
                    p.script = Some(script_text(std::iter::once(run.as_str())));
                } else if !b.script.is_empty() {
                    p.script = Some(script_text(b.script.iter().map(|s| s.as_str())));
                }
                p.healthcheck = b.healthcheck.as_ref().map(health_plan);
                p.mounts.extend(self.mounts(&b.mount));
                step_envs = &b.envs;
            }
            StepSpec::Plugin(plugin) => {
                p.kind = StepKind::Run;
                p.image = plugin
                    .image
                    .as_ref()
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
                p.pull = plugin.pull.as_ref().map(|x| x.value).unwrap_or_default();
                p.privileged = plugin.privileged;
                p.user = plugin.user.as_ref().map(|u| u.value.clone());
                p.network_mode = plugin.network.as_ref().map(|n| n.value.clone());
                p.workdir = Some(self.workspace_path.clone());
                step_envs = &plugin.envs;
                let mut env = self.environment(&p, step_envs);
                env.extend(super::env::plugin_env(&plugin.settings));
                p.resolved_image = self.options.images.resolve(&p.image);
                p.env = env;
                return p;
            }
            StepSpec::Unsupported(_) => {
                return p;
            }
            StepSpec::Group(_) | StepSpec::Parallel(_) => unreachable!("blocks are not steps"),
        }
        if p.image.is_empty() && p.kind == StepKind::Run {
            if let Some(image) = &self.options.default_image {
                p.image = image.clone();
            }
        }
        if p.script.is_some() {
            // The script itself is uploaded to SCRIPT_PATH before the container starts. It
            // runs as a child of the container's first process, not as that process: a
            // process 1 ignores signals it has no handler for (`kill -9 $$` would do nothing).
            let sh = shell_path(shell);
            p.entrypoint = Some(vec![sh.to_string()]);
            p.cmd = Some(vec![
                "-c".to_string(),
                format!("{sh} {}; exit $?", super::SCRIPT_PATH),
            ]);
        }
        p.resolved_image = self.options.images.resolve(&p.image);
        p.env = self.environment(&p, step_envs);
        if let Some(gh) = &mut p.github {
            let at_turn = |v: &str| v.contains("${{") || v.contains(".output.outputVariables.");
            gh.env = self
                .stage
                .envs
                .iter()
                .chain(step_envs.iter())
                .filter(|(_, v)| at_turn(v))
                .map(|(k, _)| k.to_string())
                .collect();
        }
        if p.github.is_some() {
            for (var, file) in super::FILE_COMMANDS {
                let path = format!("{}/{file}", super::FILE_COMMANDS_DIR);
                p.env.push((var.to_string(), path));
            }
        }
        p
    }

    /// A step's `mount:` entries, each naming a stage volume: its `host` path, or the `temp`
    /// volume created for the run. A name the stage does not declare mounts nothing.
    fn mounts(&self, mount: &[crate::spec::Mount]) -> Vec<Mount> {
        mount
            .iter()
            .filter_map(|m| {
                let volume = self
                    .stage
                    .volumes
                    .iter()
                    .find(|v| v.name.value == m.name.value)?;
                let source = if volume.volume_type.as_str() == "host" {
                    VolumeSource::Host(volume.host_path.as_ref()?.value.clone())
                } else {
                    VolumeSource::Temp(m.name.value.clone())
                };
                Some(Mount::new(source, m.path.value.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::plan::{DEFAULT_WORKSPACE_PATH, HEALTH_RETRIES, StagePlan, plan_stage};
    use crate::source::SourceFile;

    fn plan(yaml: &str) -> StagePlan {
        let p = Pipeline::parse(&SourceFile::new("t.yaml", yaml)).unwrap_or_else(|d| panic!("{d}"));
        let mut options = PlanOptions::default();
        options.images.insert("redis", "fixtures/redis:7");
        options.env.push(("FROM_CLI".into(), "cli".into()));
        plan_stage(&p, 0, &options)
    }

    #[test]
    fn environment_precedence_and_order() {
        let p = plan(
            "kind: pipeline\nspec:\n  options:\n    envs: {A: options, B: options, FROM_CLI: options}\n  stages:\n  - name: s\n    type: ci\n    spec:\n      envs: {B: stage, C: stage, CI: stage}\n      steps:\n      - name: one\n        type: run\n        spec:\n          container: redis\n          envs: {C: step, DRONE_STEP_NAME: mine}\n          script: [echo a, echo b]\n",
        );
        let s = &p.steps[0];
        let get = |k: &str| s.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("A"), Some("options"));
        assert_eq!(get("B"), Some("stage"));
        assert_eq!(get("C"), Some("step"));
        assert_eq!(get("FROM_CLI"), Some("options"));
        assert_eq!(
            get("CI"),
            Some("true"),
            "system variables override the stage's"
        );
        assert_eq!(
            get("DRONE_STEP_NAME"),
            Some("one"),
            "Gitness's runner sets DRONE_STEP_* after the step's envs"
        );
        assert_eq!(
            get("DRONE_STEP_NUMBER"),
            Some("2"),
            "Gitness's clone step is 1"
        );
        assert_eq!(get("DRONE_STAGE_NAME"), Some("s"));
        assert_eq!(s.resolved_image, "fixtures/redis:7");
        assert_eq!(s.image, "redis");
        assert_eq!(s.workdir.as_deref(), Some(DEFAULT_WORKSPACE_PATH));
        let script = s.script.as_deref().unwrap();
        assert!(script.starts_with("set -e\n"));
        assert!(script.contains("echo a\n") && script.contains("echo b\n"));
    }

    #[test]
    fn structure_and_services() {
        let p = plan(
            "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: db\n        type: background\n        spec:\n          image: mysql:8.0\n          healthcheck: {test: mysqladmin ping, interval: 2s}\n      - type: parallel\n        spec:\n          steps:\n          - {name: a, type: run, spec: {container: alpine, script: x}}\n          - {name: b, type: run, spec: {container: alpine, script: y}}\n",
        );
        assert_eq!(
            p.order,
            Block::Sequence(vec![
                Block::Step(0),
                Block::Parallel(vec![Block::Step(1), Block::Step(2)])
            ])
        );
        let db = &p.steps[0];
        assert_eq!(db.kind, StepKind::Service);
        assert!(
            db.entrypoint.is_none() && db.cmd.is_none(),
            "a service keeps the image's command"
        );
        assert!(db.workdir.is_none());
        let hc = db.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test, ["CMD-SHELL", "mysqladmin ping"]);
        assert_eq!(hc.interval, Duration::from_secs(2));
        assert_eq!(hc.retries, HEALTH_RETRIES);
        assert_eq!(p.images().len(), 2);
    }
}
