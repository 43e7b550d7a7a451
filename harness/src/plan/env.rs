//! A step's environment, with Gitness's precedence, and a plugin's settings as `PLUGIN_*`.

use super::PlannedStep;
use super::step::Planner;
use crate::spec::Envs;

impl Planner<'_> {
    /// The step's environment, with Gitness's precedence (later wins): `--env`,
    /// `options.envs`, the stage's `envs`, the build's variables, the stage's and the
    /// workspace's, the step's `envs`; then the `DRONE_BUILD_*`, `DRONE_STAGE_*` and
    /// `DRONE_STEP_*` variables again, as Gitness's runner sets them last.
    pub(super) fn environment(&self, p: &PlannedStep, step_envs: &Envs) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| {
            if let Some(e) = env.iter_mut().find(|(n, _)| n == k) {
                e.1 = v.to_string();
            } else {
                env.push((k.to_string(), v.to_string()));
            }
        };
        for (k, v) in &self.options.env {
            set(k, v);
        }
        for (k, v) in self.pipeline.options.envs.iter() {
            set(k, v);
        }
        for (k, v) in self.stage.envs.iter() {
            set(k, v);
        }
        let mut system: Vec<(String, String)> = if self.options.build_env.is_empty() {
            vec![
                ("CI".into(), "true".into()),
                ("DRONE".into(), "true".into()),
            ]
        } else {
            self.options.build_env.clone()
        };
        // Gitness numbers its clone step 1 and names steps by their id.
        let number = (p.index + 2).to_string();
        let step_name = p.aliases.first().cloned().unwrap_or_else(|| p.name.clone());
        let stage_number = (self.stage_index + 1).to_string();
        for (k, v) in [
            ("PIPELINE_TEST", "true"),
            ("DRONE_WORKSPACE", self.workspace_path.as_str()),
            ("DRONE_WORKSPACE_BASE", self.workspace_path.as_str()),
            ("DRONE_WORKSPACE_PATH", ""),
            ("DRONE_STAGE_KIND", "pipeline"),
            ("DRONE_STAGE_TYPE", "ci"),
            ("DRONE_STAGE_NAME", self.stage_name.as_str()),
            ("DRONE_STAGE_NUMBER", stage_number.as_str()),
            ("DRONE_STAGE_MACHINE", "localhost"),
            ("DRONE_STAGE_OS", "linux"),
            ("DRONE_STAGE_ARCH", std::env::consts::ARCH),
            ("DRONE_STAGE_STATUS", "success"),
            ("DRONE_STEP_NAME", step_name.as_str()),
            ("DRONE_STEP_NUMBER", number.as_str()),
        ] {
            system.push((k.to_string(), v.to_string()));
        }
        for (k, v) in &system {
            set(k, v);
        }
        for (k, v) in step_envs.iter() {
            set(k, v);
        }
        for (k, v) in &system {
            if k.starts_with("DRONE_BUILD_")
                || k.starts_with("DRONE_STAGE_")
                || k.starts_with("DRONE_STEP_")
            {
                set(k, v);
            }
        }
        env
    }
}

/// A plugin's settings as the `PLUGIN_<NAME>` variables Drone plugins read: the name upper
/// case with every other character `_` (`channel` -> `PLUGIN_CHANNEL`, `dry-run` ->
/// `PLUGIN_DRY_RUN`).
pub(super) fn plugin_env(
    settings: &[(
        crate::source::Spanned<String>,
        crate::source::Spanned<String>,
    )],
) -> Vec<(String, String)> {
    settings
        .iter()
        .map(|(k, v)| {
            let name: String = k
                .value
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            (format!("PLUGIN_{name}"), v.value.clone())
        })
        .collect()
}
