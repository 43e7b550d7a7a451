//! Images built before a stage starts: a GitHub Actions Docker action whose `runs.image` is a
//! Dockerfile, built from the action's directory under a name of its own.

use bollard::Docker;
use bollard::body_full;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures::StreamExt;

use crate::Error;
use crate::plan::StagePlan;
use crate::report::{Event, Observer};

/// Builds every image the plan's steps build, one after the other.
pub(crate) async fn build_images(
    docker: &Docker,
    endpoint: &str,
    observer: &dyn Observer,
    plan: &StagePlan,
) -> Result<(), Error> {
    let mut done: Vec<&str> = Vec::new();
    for step in plan.steps.iter().filter(|s| s.can_run()) {
        let Some((dir, dockerfile)) = &step.build else {
            continue;
        };
        if done.contains(&step.resolved_image.as_str()) {
            continue;
        }
        done.push(&step.resolved_image);
        super::prepare::forget_image(endpoint, &step.resolved_image);
        observer.on_event(&Event::Notice {
            message: &format!("building {} from {}", step.resolved_image, dir.display()),
        });
        let refused = |message: String| Error::StepRefused {
            message: format!(
                "cannot build the image of step `{}` from {}/{dockerfile}: {message}",
                step.name,
                dir.display()
            ),
        };
        let mut archive = tar::Builder::new(Vec::new());
        archive
            .append_dir_all(".", dir)
            .map_err(|e| refused(e.to_string()))?;
        let context = archive.into_inner().map_err(|e| refused(e.to_string()))?;
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile)
            .t(&step.resolved_image)
            .rm(true)
            .build();
        let mut stream = docker.build_image(options, None, Some(body_full(context.into())));
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| refused(e.to_string()))?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(refused(detail));
            }
        }
    }
    Ok(())
}
