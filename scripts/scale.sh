#!/usr/bin/env bash
# Stages per minute with 1, 4, 16 and 40 `pipeline-test run` processes at once, on the seed's
# Redis pipeline. Prints a Markdown table (the README's). Usage: scripts/scale.sh [LEVELS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

images="$(scripts/fixture-images.sh 2>/dev/null | tail -n 1)"
export PIPELINE_TEST_IMAGES="${PIPELINE_TEST_IMAGES:+$PIPELINE_TEST_IMAGES,}$images"
cargo build -q --release -p pipeline-test-cli
bin="$PWD/target/release/pipeline-test"
levels=("${@:-1 4 16 40}")
read -r -a levels <<<"${levels[*]}"

echo "| stages at once | stages run | wall time | stages per minute | failures |"
echo "|---:|---:|---:|---:|---:|"
for n in "${levels[@]}"; do
  total=$(( n >= 40 ? n : (n >= 16 ? 2 * n : (n >= 4 ? 5 * n : 10)) ))
  logs="$(mktemp -d)"
  start=$(date +%s.%N)
  seq "$total" | xargs -P "$n" -I{} sh -c "'$bin' run examples/seed/communication.yaml >'$logs/{}.log' 2>&1 || echo failed >>'$logs/failures'"
  end=$(date +%s.%N)
  failures=0
  [ -f "$logs/failures" ] && failures=$(wc -l <"$logs/failures")
  wall=$(echo "$end - $start" | bc)
  rate=$(echo "scale=1; $total * 60 / $wall" | bc)
  printf '| %s | %s | %.1f s | %s | %s |\n' "$n" "$total" "$wall" "$rate" "$failures"
  rm -rf "$logs"
done
left=$(docker ps -aq --filter label=pipeline-test.managed | wc -l)
echo
echo "labelled containers left: $left"
