#!/usr/bin/env bash
# The main job: runs pipeline files through the harness, like `drone exec`.
# On a machine without a registry, the stand-in images are built first and mapped in.
#   scripts/run.sh [FILE...] [-- RUN OPTIONS]     (default: the seed's three pipelines)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

images="$(scripts/fixture-images.sh | tail -n 1)"
export PIPELINE_TEST_IMAGES="${PIPELINE_TEST_IMAGES:+$PIPELINE_TEST_IMAGES,}$images"

files=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#files[@]} -gt 0 ] || files=(examples/seed/communication.yaml examples/seed/health-check.yaml examples/seed/sleep.yaml)

cargo build -q --release -p pipeline-test-cli
for f in "${files[@]}"; do
  echo "### $f"
  target/release/pipeline-test run "$f" "$@"
done
