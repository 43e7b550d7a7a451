//! The rows for services whose health checks are written as GitHub's documentation writes
//! them (`--health-interval 10s`): the same job with `--health-interval 100ms` is the
//! reference (target: ratio <= 1.15), and MySQL's readiness is compared with the moment its
//! stand-in first accepts a connection on its port (target: within 1 s).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use pipeline_test::harness::{Event, ImageMap, Observer, Pipeline, Runner, SourceFile};
use tokio::io::AsyncReadExt;

/// A job with GitHub's documented Redis and MySQL services, checked every `interval` (with
/// `retries` tries for MySQL's slower start: 3 as documented, more at 100 ms).
fn job(interval: &str, retries: u32) -> String {
    format!(
        r#"on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: redis
    services:
      redis:
        image: redis
        options: >-
          --health-cmd "redis-cli ping"
          --health-interval {interval}
          --health-timeout 5s
          --health-retries 5
      mysql:
        image: mysql:8.0
        env:
          MYSQL_ROOT_PASSWORD: root
        options: --health-cmd="mysqladmin ping" --health-interval={interval} --health-timeout=5s --health-retries={retries}
    steps:
      - run: redis-cli -h redis ping
"#
    )
}

/// Records when each service was ready.
#[derive(Default)]
struct Ready(Mutex<Vec<(String, Duration)>>);
impl Observer for Ready {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::ServiceReady { step, after, .. } = event {
            self.0.lock().unwrap().push((step.to_string(), *after));
        }
    }
}

/// One run of the job: its total time, and when MySQL was ready.
async fn stage(runner: &Runner, ready: &Ready, yaml: &str) -> (Duration, Duration) {
    ready.0.lock().unwrap().clear();
    let t0 = Instant::now();
    let pipeline = Pipeline::parse(&SourceFile::new("documented.yml", yaml.to_string())).unwrap();
    let report = runner.run_stage(&pipeline, 0).await.unwrap();
    assert!(report.passed(), "{}", report.summary());
    let mysql = ready
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|(s, _)| s == "mysql")
        .unwrap()
        .1;
    (t0.elapsed(), mysql)
}

/// How long the MySQL stand-in takes from its creation to its first greeting on its port.
async fn mysql_accepts(docker: &Docker, image: &str) -> Duration {
    let t0 = Instant::now();
    let body = ContainerCreateBody {
        image: Some(image.into()),
        env: Some(vec!["MYSQL_ROOT_PASSWORD=root".into()]),
        labels: Some([("pipeline-test.managed".into(), "true".into())].into()),
        host_config: Some(HostConfig {
            port_bindings: Some(
                [(
                    "3306/tcp".into(),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
                        host_port: Some(String::new()),
                    }]),
                )]
                .into(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker.create_container(None, body).await.unwrap().id;
    docker.start_container(&id, None).await.unwrap();
    let inspect = docker.inspect_container(&id, None).await.unwrap();
    let port: u16 = inspect.network_settings.unwrap().ports.unwrap()["3306/tcp"]
        .as_ref()
        .unwrap()[0]
        .host_port
        .as_ref()
        .unwrap()
        .parse()
        .unwrap();
    let accepted = loop {
        // The server speaks first; Docker's proxy accepts and closes while nothing listens.
        if let Ok(mut conn) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_millis(500), conn.read(&mut byte));
            if matches!(read.await, Ok(Ok(1))) {
                break t0.elapsed();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "MySQL never accepted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let rm = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker.remove_container(&id, Some(rm)).await.unwrap();
    accepted
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs the rows; false when a target is missed.
pub fn bench(
    rt: &tokio::runtime::Runtime,
    docker: &Docker,
    images: &ImageMap,
    rounds: usize,
) -> bool {
    let ready = Arc::new(Ready::default());
    let mut options = super::options(images, true);
    options.observer = ready.clone();
    let runner = rt.block_on(Runner::connect(options)).unwrap();
    let (documented, quick) = (job("10s", 3), job("100ms", 300));
    let mysql_image = images.resolve("mysql:8.0");
    let (mut slow, mut fast, mut ready_at, mut accepts) = (vec![], vec![], vec![], vec![]);
    for r in 0..rounds {
        rt.block_on(async {
            if r % 2 == 0 {
                let (total, mysql) = stage(&runner, &ready, &documented).await;
                slow.push(total);
                ready_at.push(mysql);
                fast.push(stage(&runner, &ready, &quick).await.0);
            } else {
                fast.push(stage(&runner, &ready, &quick).await.0);
                let (total, mysql) = stage(&runner, &ready, &documented).await;
                slow.push(total);
                ready_at.push(mysql);
            }
            accepts.push(mysql_accepts(docker, &mysql_image).await);
        });
    }
    drop(runner);
    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1e3);
    let (slow, fast) = (median(slow), median(fast));
    let (ready_at, accepts) = (median(ready_at), median(accepts));
    println!(
        "stage `github-documented-health` (Redis and MySQL, health checks as GitHub documents them), {rounds} rounds; medians in ms"
    );
    println!("  --health-interval 10s     {:>6} ms", ms(slow));
    println!("  --health-interval 100ms   {:>6} ms", ms(fast));
    println!(
        "  mysql ready after {} ms; its stand-in first accepts a connection after {} ms",
        ms(ready_at),
        ms(accepts)
    );
    let ratio = slow.as_secs_f64() / fast.as_secs_f64();
    let late = ready_at.saturating_sub(accepts);
    println!("ratio documented-vs-100ms {ratio:.2} (github-documented-health, target <= 1.15)");
    println!(
        "mysql ready {} ms after it accepts connections (target <= 1000)",
        ms(late)
    );
    ratio <= 1.15 && late <= Duration::from_secs(1)
}
