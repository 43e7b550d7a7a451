#!/usr/bin/env bash
# The project's test command: builds the stand-in images the tests need, then runs every test
# of the workspace against the real Docker engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

images="$(scripts/fixture-images.sh | tail -n 1)"
export PIPELINE_TEST_IMAGES="${PIPELINE_TEST_IMAGES:+$PIPELINE_TEST_IMAGES,}$images"
echo "PIPELINE_TEST_IMAGES=$PIPELINE_TEST_IMAGES"
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
