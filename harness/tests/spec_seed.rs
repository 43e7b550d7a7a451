//! The seed's three pipelines parse, and their model is what the YAML says, field by field.

use std::path::Path;

use pipeline_test_harness::source::{Pos, SourceFile};
use pipeline_test_harness::spec::{Pipeline, Pull, StageType, StepSpec};

fn seed(name: &str) -> Pipeline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/seed")
        .join(name);
    let file = SourceFile::read(&path).unwrap();
    Pipeline::parse(&file).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn communication_pipeline() {
    let p = seed("communication.yaml");
    assert_eq!(p.stages.len(), 1);
    let stage = &p.stages[0];
    assert_eq!(stage.stage_type.value, StageType::Ci);
    assert_eq!(stage.stage_type.span.start, Pos::new(4, 11));
    assert!(stage.name.is_none() && stage.id.is_none());
    assert!(stage.envs.is_empty() && p.options.envs.is_empty());
    assert_eq!(stage.steps.len(), 2);

    let cache = &stage.steps[0];
    assert_eq!(cache.name.as_ref().unwrap().as_str(), "cache");
    assert_eq!(cache.name.as_ref().unwrap().span.start, Pos::new(7, 15));
    assert_eq!(cache.hostnames, ["cache"]);
    assert!(cache.timeout.is_none());
    let StepSpec::Background(bg) = &cache.spec else {
        panic!("cache is a background step: {:?}", cache.spec)
    };
    let container = bg.container.as_ref().unwrap();
    assert_eq!(container.image.as_str(), "redis");
    assert_eq!(container.image.span.start, Pos::new(10, 22));
    assert!(container.pull.is_none() && container.entrypoint.is_none());
    assert!(bg.script.is_empty() && bg.run.is_none() && bg.image.is_none());
    assert!(bg.envs.is_empty() && bg.healthcheck.is_none());

    let ping = &stage.steps[1];
    assert_eq!(ping.name.as_ref().unwrap().as_str(), "ping");
    assert_eq!(ping.hostnames, ["ping"]);
    let StepSpec::Run(run) = &ping.spec else {
        panic!("ping is a run step")
    };
    assert_eq!(run.container.as_ref().unwrap().image.as_str(), "redis");
    assert_eq!(run.script.len(), 1);
    assert_eq!(run.script[0].as_str(), "redis-cli -h cache ping");
    assert_eq!(run.script[0].span.start.line, 16);
    assert!(run.envs.is_empty() && run.shell.is_none() && run.reports.is_empty());
    assert_eq!(p.summary(), "1 stage, 2 steps, images: redis");
}

#[test]
fn health_check_pipeline() {
    let p = seed("health-check.yaml");
    let stage = &p.stages[0];
    assert_eq!(stage.steps.len(), 2);

    let db = &stage.steps[0];
    assert_eq!(db.name.as_ref().unwrap().as_str(), "database");
    assert_eq!(db.hostnames, ["database"]);
    let StepSpec::Background(bg) = &db.spec else {
        panic!("database is a background step")
    };
    assert!(bg.container.is_none());
    let image = bg.image.as_ref().unwrap();
    assert_eq!(image.as_str(), "mysql:8.0");
    assert_eq!(image.span.start, Pos::new(10, 18));
    let envs: Vec<(&str, &str)> = bg.envs.iter().collect();
    assert_eq!(
        envs,
        [
            ("MYSQL_ALLOW_EMPTY_PASSWORD", "yes"),
            ("MYSQL_DATABASE", "gitness_db"),
            ("MYSQL_PASSWORD", "gitness"),
            ("MYSQL_USER", "gitness"),
        ]
    );
    assert_eq!(bg.envs.0[0].name.span.start, Pos::new(12, 13));
    assert_eq!(bg.envs.0[0].value.span.start, Pos::new(12, 41));
    assert_eq!(db.spec.image().unwrap().as_str(), "mysql:8.0");

    let hc = &stage.steps[1];
    assert_eq!(hc.name.as_ref().unwrap().as_str(), "healthcheck");
    assert_eq!(hc.hostnames, ["healthcheck"]);
    let StepSpec::Script(script) = &hc.spec else {
        panic!("healthcheck is a script step")
    };
    assert_eq!(script.image.as_ref().unwrap().as_str(), "mysql:8.0");
    assert_eq!(script.pull.as_ref().map(|p| p.value), None::<Pull>);
    assert_eq!(script.run.len(), 1);
    let lines: Vec<&str> = script.run[0].lines().collect();
    assert_eq!(
        lines[0],
        "while ! mysqladmin ping -h database -u gitness -pgitness --silent; do sleep 1; done"
    );
    assert!(lines[1].starts_with("mysql -h database -u gitness -pgitness -e \"CREATE TABLE"));
    assert_eq!(lines.len(), 2);
    assert!(
        !script.run[0].ends_with('\n'),
        "`|-` strips the final newline"
    );
    assert_eq!(p.summary(), "1 stage, 2 steps, images: mysql:8.0");
}

#[test]
fn sleep_pipeline() {
    let p = seed("sleep.yaml");
    let steps = &p.stages[0].steps;
    assert_eq!(steps[0].hostnames, ["cache"]);
    let StepSpec::Run(run) = &steps[1].spec else {
        panic!("ping is a run step")
    };
    assert_eq!(run.script[0].as_str(), "sleep 5\nredis-cli -h cache ping");
}

#[test]
fn every_documented_field_is_read() {
    let yaml = r#"
version: 1
name: full
kind: pipeline
spec:
  options:
    envs: {GLOBAL: "1", PORT: "3306", DEBUG: "true"}
    timeout: 30m
  stages:
  - name: build
    id: build_stage
    type: ci
    spec:
      envs: {STAGE: s}
      platform: {os: linux, arch: amd64}
      volumes:
      - name: data
        type: temp
      steps:
      - id: my-db
        name: my-db
        type: background
        timeout: 1h30m
        spec:
          container:
            image: postgres:16
            pull: always
            entrypoint: /entry
            args: [-c, x]
            ports: ["5432"]
            privileged: true
            workdir: /w
            user: "999"
            memory: 1g
            dns: 1.1.1.1
            extra_hosts: [a:1.2.3.4]
          envs: {POSTGRES_PASSWORD: pw}
          mount:
          - name: data
            path: /var/lib/postgresql
          healthcheck:
            test: ["CMD", "pg_isready"]
            interval: 1s
            retries: 30
            start_period: 2s
      - type: parallel
        spec:
          steps:
          - name: a
            type: run
            spec: {container: alpine, script: [echo a, echo b]}
          - name: b
            type: run
            spec: {container: alpine, script: echo b, shell: bash}
      - type: run
        spec: {container: alpine, script: echo}
"#;
    let p = Pipeline::parse(&SourceFile::new("full.yaml", yaml)).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(p.version.as_ref().unwrap().as_str(), "1");
    assert_eq!(p.options.envs.get("PORT"), Some("3306"));
    assert_eq!(p.options.envs.get("DEBUG"), Some("true"));
    assert_eq!(p.options.timeout.as_ref().unwrap().value.as_secs(), 1800);
    let stage = p.stage("build").unwrap();
    assert_eq!(stage.id.as_ref().unwrap().as_str(), "build_stage");
    assert_eq!(stage.ignored[0].as_str(), "platform");
    let db = &stage.steps[0];
    assert_eq!(db.hostnames, ["mydb", "my-db"]);
    assert_eq!(db.timeout.as_ref().unwrap().value.as_secs(), 5400);
    let StepSpec::Background(bg) = &db.spec else {
        panic!()
    };
    let c = bg.container.as_ref().unwrap();
    assert_eq!(c.pull.as_ref().unwrap().value, Pull::Always);
    assert_eq!(
        c.args.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["-c", "x"]
    );
    assert!(c.privileged);
    assert_eq!(c.dns[0].as_str(), "1.1.1.1");
    assert_eq!(bg.mount[0].path.as_str(), "/var/lib/postgresql");
    let hc = bg.healthcheck.as_ref().unwrap();
    assert_eq!(hc.retries.as_ref().unwrap().value, 30);
    assert!(
        matches!(&hc.test, pipeline_test_harness::spec::HealthTest::Cmd(c) if c == &["pg_isready"])
    );
    let StepSpec::Parallel(children) = &stage.steps[1].spec else {
        panic!()
    };
    assert_eq!(children.len(), 2);
    assert_eq!(stage.steps[1].hostnames, ["parallel"]);
    assert_eq!(stage.steps[2].hostnames, ["run"]);
    let StepSpec::Run(a) = &children[0].spec else {
        panic!()
    };
    assert_eq!(a.script.len(), 2);
    assert_eq!(p.summary(), "1 stage, 5 steps, images: postgres:16, alpine");
}
