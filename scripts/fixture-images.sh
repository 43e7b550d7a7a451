#!/usr/bin/env bash
# Builds stand-in images for `redis`, `mysql:8.0`, `postgres:15`, `node:20`, a Drone-style plugin (`plugins/env`,
# which prints its PLUGIN_* settings) and an image without a shell (`no-shell`) from Debian packages,
# for machines that cannot pull from a registry. Idempotent: an image whose recipe has not changed is kept.
#
# The last line printed is the value for PIPELINE_TEST_IMAGES, which maps the public names a
# pipeline uses onto these images:
#   export PIPELINE_TEST_IMAGES="$(scripts/fixture-images.sh | tail -n 1)"
#
# Needs: a Docker engine, debootstrap (installed with apt-get when missing, as root), and the
# Debian mirror named in this machine's apt sources.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${PIPELINE_TEST_FIXTURE_PREFIX:-pipeline-test-fixtures}"
base="$prefix/debian-base"
log() { printf '%s\n' "fixture-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "the docker command is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is it running? is DOCKER_HOST right?)"

# The Debian mirror and suite this machine's apt uses (deb822 .sources files or sources.list).
read_mirror() {
  local files=() f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 1
  # deb822: a stanza with URIs: and Suites:, whose URI serves Debian (not -security, not third-party).
  awk '
    function flush() {
      if (uri != "" && suite != "" && uri !~ /security/ && suite !~ /-(security|updates|backports)$/ && key ~ /debian-archive/) { print uri, suite; found=1; exit }
      uri=""; suite=""; key=""
    }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/ { uri=$2 }
    /^Suites:/ { suite=$2 }
    /^Signed-By:/ { key=$2 }
    /^deb[[:space:]]/ && $0 !~ /security/ {
      # one-line form: deb [opts] URI SUITE COMPONENTS
      n=2; if ($2 ~ /^\[/) { while ($n !~ /\]$/) n++; n++ }
      if ($(n+1) ~ /^(bookworm|trixie|bullseye|sid|stable|testing)$/) { print $n, $(n+1); found=1; exit }
    }
    END { if (!found) flush() }
  ' "${files[@]}" | head -n 1
}

mirror_line="$(read_mirror || true)"
[ -n "$mirror_line" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; add one, or set PIPELINE_TEST_IMAGES to images you have"
mirror="${mirror_line% *}"
suite="${mirror_line#* }"

# A hash of every input, so that a changed recipe rebuilds and an unchanged one is kept.
recipe_hash() { (printf '%s %s\n' "$mirror" "$suite"; cat "$0"; find "$here/fixtures/$1" -type f -print0 | sort -z | xargs -0 cat) | sha256sum | cut -c1-16; }
has_image() { [ "$(docker image inspect -f '{{ index .Config.Labels "pipeline-test.fixture-hash" }}' "$1" 2>/dev/null)" = "$2" ]; }

base_hash="$( (printf '%s %s\n' "$mirror" "$suite"; grep -v '^#' "$0" | sed -n '/^build_base()/,/^}/p') | sha256sum | cut -c1-16)"
build_base() {
  command -v debootstrap >/dev/null || {
    [ "$(id -u)" = 0 ] || die "debootstrap is missing: apt-get install debootstrap"
    log "installing debootstrap"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  local root
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' RETURN
  log "debootstrap $suite from $mirror (a minimal base, about a minute)"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
  tar -C "$root" -c . | docker import \
    -c "LABEL pipeline-test.fixture-hash=$base_hash" -c 'CMD ["/bin/bash"]' - "$base:$suite" >/dev/null
}

if has_image "$base:$suite" "$base_hash"; then
  log "$base:$suite is up to date"
else
  build_base
fi

build() { # name tag
  local name="$1" tag="$2" hash
  hash="$(recipe_hash "$name")"
  if has_image "$tag" "$hash"; then
    log "$tag is up to date"
    return
  fi
  log "building $tag"
  local out
  out="$(mktemp)"
  if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$base:$suite" --label "pipeline-test.fixture-hash=$hash" \
    -t "$tag" "$here/fixtures/$name" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
}

build redis "$prefix/redis:7" &
redis_pid=$!
build mysql "$prefix/mysql:8.0" &
mysql_pid=$!
build plugin-env "$prefix/plugin-env:1" &
plugin_pid=$!
build no-shell "$prefix/no-shell:1" &
noshell_pid=$!
build node "$prefix/node:20" &
node_pid=$!
build postgres "$prefix/postgres:15" &
postgres_pid=$!
wait "$redis_pid" || die "building the redis image failed"
wait "$mysql_pid" || die "building the mysql image failed"
wait "$plugin_pid" || die "building the plugin-env image failed"
wait "$noshell_pid" || die "building the no-shell image failed"
wait "$node_pid" || die "building the node image failed"
wait "$postgres_pid" || die "building the postgres image failed"
docker image prune -f --filter "label=pipeline-test.fixture-hash" --filter dangling=true >/dev/null 2>&1 || true

echo "redis=$prefix/redis:7,mysql:8.0=$prefix/mysql:8.0,plugins/env=$prefix/plugin-env:1,no-shell=$prefix/no-shell:1,node:20=$prefix/node:20,postgres:15=$prefix/postgres:15"
