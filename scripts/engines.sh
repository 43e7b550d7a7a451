#!/usr/bin/env bash
# The seed pipelines, the Redis and MySQL attribute tests and tests/engines.rs on engines other
# than the local Docker socket: Podman's Docker-compatible socket, and Docker through TCP as a
# remote engine would be (socat on 127.0.0.2, so that the services must be reached at the
# engine's host, not 127.0.0.1). Run by scripts/test.sh (as root, on Debian); installs podman
# and socat when they are missing, and skips an engine, saying why, only when its package
# cannot be installed. PIPELINE_TEST_IMAGES must map the stand-in images already.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tests=(--test seed --test redis --test mysql --test engines)
work="$(mktemp -d /tmp/pipeline-test-engines.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "engines: installing $2"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >"$work/apt-$2.log" 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >"$work/apt-$2.log" 2>&1; } \
      || true
  fi
  command -v "$1" >/dev/null 2>&1
}

wait_for() { # a path or a host:port, up to 30 s
  for _ in $(seq 300); do
    if [[ "$1" == /* ]]; then [ -S "$1" ] && return 0; else (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0; fi
    sleep 0.1
  done
  echo "engines: $1 did not come up" >&2
  return 1
}

# Each image the tests map, for loading into Podman.
images=()
IFS=',' read -ra pairs <<<"$PIPELINE_TEST_IMAGES"
for pair in "${pairs[@]}"; do
  image="${pair#*=}"
  case "$image" in *redis*|*mysql*) images+=("$image") ;; esac
done

# --- Docker through TCP, as a remote engine ----------------------------------------------------
if have socat socat; then
  socat TCP-LISTEN:2375,bind=127.0.0.2,reuseaddr,fork UNIX-CONNECT:/var/run/docker.sock &
  pids+=($!)
  wait_for 127.0.0.2:2375
  echo "engines: Docker through tcp://127.0.0.2:2375"
  DOCKER_HOST=tcp://127.0.0.2:2375 cargo test -p pipeline-test "${tests[@]}"
else
  echo "engines: SKIPPED the TCP engine: socat could not be installed (see $work/apt-socat.log)"
fi

# --- PIPELINE_TEST_HOST: the local engine, services reached at another address ----------------
echo "engines: Docker's socket with PIPELINE_TEST_HOST=127.0.0.3"
PIPELINE_TEST_HOST=127.0.0.3 cargo test -p pipeline-test --test engines

# --- Podman ---------------------------------------------------------------------------------
if have podman podman; then
  # Podman's default ulimits are refused in this machine's containers; the engine needs none.
  printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
  export CONTAINERS_CONF="$work/containers.conf"
  sock="$work/podman.sock"
  podman system service --time=0 "unix://$sock" >"$work/podman.log" 2>&1 &
  pids+=($!)
  wait_for "$sock"
  for image in "${images[@]}"; do
    if ! podman image exists "$image"; then
      docker save "$image" | podman load -q >/dev/null
    fi
  done
  echo "engines: Podman $(podman --version | awk '{print $3}') at unix://$sock"
  DOCKER_HOST="unix://$sock" cargo test -p pipeline-test "${tests[@]}"
  sleep 3 # the test binaries' watchers finish
  left="$(podman ps -aq --filter label=pipeline-test.managed | wc -l) containers, $(podman network ls -q --filter label=pipeline-test.managed | wc -l) networks, $(podman volume ls -q --filter label=pipeline-test.managed | wc -l) volumes"
  if [ "$left" != "0 containers, 0 networks, 0 volumes" ]; then
    echo "error: the tests left Podman resources labelled pipeline-test.managed: $left" >&2
    exit 1
  fi
else
  echo "engines: SKIPPED Podman: the podman package could not be installed (see $work/apt-podman.log)"
fi
echo "engines: done"
