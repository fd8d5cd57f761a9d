#!/usr/bin/env bash
# Docker for the container tier of the tests (DESIGN.md §4, tier 5), idempotent:
#  1. the Debian engine (docker.io) and debootstrap when missing;
#  2. dockerd started in the background when `docker info` fails;
#  3. a local stand-in for every `node:*-bookworm-slim` base image the project's
#     Dockerfiles name, when that tag is absent. No registry is reachable here, so the
#     stand-in is Debian bookworm (minbase) plus this machine's own node and npm,
#     imported under the SAME tag: the production Dockerfiles stay ordinary;
#     Likewise `debian:*` bases (bookworm minbase as it is).
#  4. likewise a stand-in for the nginx image the stack files pin (Debian's nginx on
#     bookworm minbase, uid/gid 101 free as in the official image), so the containers the
#     program declares can run here exactly as declared.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup-docker: %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    log "$1 needs root; run as root: bash scripts/setup-docker.sh"
    exit 1
  fi
}

# --- 1. packages -----------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "installing ${missing[*]}"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. engine -------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  need_root "starting dockerd"
  log "starting dockerd (log: /var/log/image-origin-dockerd.log)"
  # setsid: the engine outlives this script and the test run that started it.
  setsid nohup dockerd >/var/log/image-origin-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; see /var/log/image-origin-dockerd.log"; exit 1; }
fi

# --- stand-in images -------------------------------------------------------------
# build_standin TAG PACKAGES CUSTOMISE [docker import --change ...]
# Debian bookworm (minbase) with PACKAGES, adjusted by the function CUSTOMISE (given the
# root directory), imported under TAG unless the engine already has it.
build_standin() {
  local tag=$1 packages=$2 customise=$3
  shift 3
  docker image inspect "$tag" >/dev/null 2>&1 && return 0
  need_root "building the stand-in image $tag"
  log "building stand-in image $tag (debootstrap bookworm minbase + $packages)"
  rootfs=$(mktemp -d /tmp/standin-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  "$customise" "$rootfs"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.image-origin.stand-in=true' \
    "$@" - "$tag" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
}

# 3. node base images: same places as the official image (node and npm under /usr/local,
# user `node` = 1000), with this machine's own node and npm.
customise_node() {
  local rootfs=$1 npm_dir
  install -m 0755 "$(readlink -f "$(command -v node)")" "$rootfs/usr/local/bin/node"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # This machine reaches registries through its own CA: trust what the host trusts,
  # so `npm ci` inside `docker build` works here. Test set-up only.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
}
# The tags come from the Dockerfiles themselves, so the pin lives in one place.
mapfile -t tags < <(
  find . -name Dockerfile -not -path '*/node_modules/*' -not -path './.git/*' -print0 |
    xargs -0 -r grep -hoE '^FROM[[:space:]]+node:[^[:space:]]+-bookworm-slim' |
    awk '{print $2}' | sort -u
)
for tag in "${tags[@]}"; do
  build_standin "$tag" ca-certificates customise_node \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["node"]'
done

# Debian base images (the L4 hosts' HAProxy and keepalived image): bookworm minbase itself,
# under the tag the Dockerfile names.
customise_debian() { :; }
mapfile -t debian_tags < <(
  find . -name Dockerfile -not -path '*/node_modules/*' -not -path './.git/*' -print0 |
    xargs -0 -r grep -hoE '^FROM[[:space:]]+debian:[^[:space:]]+' |
    awk '{print $2}' | sort -u
)
for tag in "${debian_tags[@]}"; do
  build_standin "$tag" ca-certificates customise_debian --change 'CMD ["bash"]'
done

# 4. the nginx image the stack files pin: Debian's nginx (uid/gid 101 free, as in the
# official image), without the distribution's default site.
customise_nginx() { rm -rf "$1"/etc/nginx/sites-enabled/*; }
mapfile -t nginx_tags < <(node --import tsx scripts/stack-images.ts)
for tag in "${nginx_tags[@]}"; do
  build_standin "$tag" nginx-light customise_nginx --change 'CMD ["nginx", "-g", "daemon off;"]'
done
