//! What a variant left on the engine after its run, and the removal of what the `static`
//! variants leave by design.

use std::process::{Command, Stdio};

fn docker_count(args: &[&str]) -> usize {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// What a variant left: the testcontainers' containers, the floor's, or pipeline-test's
/// resources.
pub fn left(variant: &str) -> usize {
    let label = if variant.contains("testcontainers") {
        "label=org.testcontainers.managed-by=testcontainers"
    } else if variant.contains("floor") {
        "label=pipeline-test.bench-floor"
    } else {
        "label=pipeline-test.managed"
    };
    docker_count(&["ps", "-aq", "--filter", label])
        + docker_count(&["network", "ls", "-q", "--filter", label])
        + docker_count(&["volume", "ls", "-q", "--filter", label])
}

/// Variants whose container is held in a `static`, never dropped: what they leave is removed
/// after each run, not counted against them.
pub fn leaves_by_design(variant: &str) -> bool {
    variant.contains("testcontainers") || variant == "process-floor"
}

/// Removes what the `static` variants leave: testcontainers' containers and (j)'s.
pub fn remove_static_leftovers() {
    for label in [
        "label=org.testcontainers.managed-by=testcontainers",
        "label=pipeline-test.bench-floor",
    ] {
        let ids = Command::new("docker")
            .args(["ps", "-aq", "--filter", label])
            .output()
            .expect("docker");
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v"])
                .args(&ids)
                .stdout(Stdio::null())
                .status();
        }
    }
}
