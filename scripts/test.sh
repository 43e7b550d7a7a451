#!/usr/bin/env bash
# The project's test command: builds the stand-in images the tests need, then runs every test
# of the workspace (unit, integration, CLI, compile-fail, doc tests) against the real Docker
# engine, and fails if any test left a labelled container, network or volume behind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

images="$(scripts/fixture-images.sh | tail -n 1)"
export PIPELINE_TEST_IMAGES="${PIPELINE_TEST_IMAGES:+$PIPELINE_TEST_IMAGES,}$images"
echo "PIPELINE_TEST_IMAGES=$PIPELINE_TEST_IMAGES"

# Every test of the workspace under cargo-nextest, a process per test (the shared-stage tests
# included: there each test gets a stage of its own), then the doc tests, which nextest does not
# run.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
cargo nextest run --workspace --no-fail-fast -E 'not test(/^scale_/)' "$@"
cargo test --workspace --doc "$@"
# Forty pipeline tests of one binary, all at once, in one process.
cargo test --workspace --test scale "$@" -- --test-threads=40

# A crate outside the workspace whose six tests use its GitHub workflow as their fixture.
# (built where tests/failure_paths.rs built it, so nothing is compiled twice)
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/tmp/outside" \
  cargo nextest run --manifest-path tests/outside/Cargo.toml --test fixture "$@"

# The seed, Redis and MySQL tests on Podman and through a TCP engine.
scripts/engines.sh

# A passed test's stage is removed off its path, and a test binary's watcher removes what is
# left when it exits: give them a moment.
count() {
  echo "$(docker ps -aq --filter label=pipeline-test.managed | wc -l) containers, $(docker network ls -q --filter label=pipeline-test.managed | wc -l) networks, $(docker volume ls -q --filter label=pipeline-test.managed | wc -l) volumes"
}
for _ in $(seq 50); do
  [ "$(count)" = "0 containers, 0 networks, 0 volumes" ] && break
  sleep 0.1
done
left="$(count)"
if [ "$left" != "0 containers, 0 networks, 0 volumes" ]; then
  echo "error: the tests left Docker resources labelled pipeline-test.managed: $left" >&2
  exit 1
fi
echo "no Docker resources left behind"
