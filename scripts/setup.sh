#!/usr/bin/env bash
# One idempotent set-up for `npm test` and `npm start` on a fresh Debian machine:
# npm dependencies when missing or stale, the system packages the tests and the local
# cluster need, then what the purpose needs on top:
#   bash scripts/setup.sh [test]   + Docker and the stand-in images (container tests)
#   bash scripts/setup.sh start    + the sample images tree `npm start` serves (no Docker)
#   bash scripts/setup.sh bench    + the peers `npm run bench` measures against (php-fpm +
#                                    php-gd, wrk, fonts for the generated sources; no Docker)
# Safe to run repeatedly; does nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-test}
case "$purpose" in
  test|start|bench) ;;
  *) printf 'usage: bash scripts/setup.sh [test|start|bench]\n' >&2; exit 2 ;;
esac

log() { printf 'setup: %s\n' "$*" >&2; }

# --- npm dependencies -------------------------------------------------------
# `npm ci` only when node_modules does not match the lockfile (hash stamp).
stamp=node_modules/.image-origin-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# --- system packages ----------------------------------------------------------
# command-or-file -> Debian package. A file path is checked with -e, a name with
# `command -v`.
declare -A need=(
  [nginx]=nginx
  [/usr/lib/nginx/modules/ngx_http_image_filter_module.so]=libnginx-mod-http-image-filter
  [openssl]=openssl
  [curl]=curl
  # ACME on loopback: Let's Encrypt's test server and its DNS stand-in, certbot itself, and
  # busybox (the certbot image is Alpine: its scripts are also run under busybox's shell).
  [pebble]=pebble
  [pebble-challtestsrv]=pebble
  [certbot]=certbot
  [busybox]=busybox
  # The workflows' `run:` scripts are linted in the tests.
  [shellcheck]=shellcheck
  # The software VIP (`vip.mode: haproxy`, `npm start -- --all-hosts`): HAProxy, keepalived,
  # and socat for HAProxy's admin socket (its configs are checked by both programs in tests).
  [haproxy]=haproxy
  [keepalived]=keepalived
  [socat]=socat
  # The VIP failover test's network namespaces and veth pairs (`ip netns`).
  [ip]=iproute2
  # Monitoring: promtool checks and unit-tests the rendered rules; the e2e test runs
  # Prometheus and the blackbox exporter against the local cluster's ops listener.
  [promtool]=prometheus
  [prometheus]=prometheus
  [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
)
# A real player for the storyboard tests (headless; `npm start` does not need it).
if [ "$purpose" = test ]; then need[chromium]=chromium; fi
if [ "$purpose" = bench ]; then
  # The seeds' design (php-fpm + GD behind nginx) as a peer, the load generator, and a
  # font for the text in the generated sources and the chart. A glob probe (php-fpm8.2,
  # /etc/php/8.2/...) is checked with compgen -G: the PHP version is Debian's choice.
  need+=(
    ['/usr/sbin/php-fpm*']=php-fpm
    ['/etc/php/*/mods-available/gd.ini']=php-gd
    [wrk]=wrk
    [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]=fonts-dejavu-core
  )
fi
missing=()
for probe in "${!need[@]}"; do
  if [[ $probe == *'*'* ]]; then compgen -G "$probe" >/dev/null && continue
  elif [[ $probe == /* ]]; then [ -e "$probe" ] && continue
  else command -v "$probe" >/dev/null 2>&1 && continue; fi
  missing+=("${need[$probe]}")
done
# jemalloc, preloaded into the resizers as in their container image (no command or fixed path).
ldconfig -p 2>/dev/null | grep -q 'libjemalloc\.so\.2' || missing+=(libjemalloc2)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: ${missing[*]}"
    log "run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian enables and starts the packaged nginx service where systemd runs; the
  # project runs its own instances, so make sure nothing holds port 80.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl stop nginx || true
  fi
  # Likewise the packaged HAProxy and keepalived services: the project runs its own.
  for service in haproxy keepalived; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet "$service" 2>/dev/null; then
      systemctl disable --now "$service" || true
    fi
  done
  # Likewise php-fpm's packaged service (the benchmark runs its own pool on a free port).
  if command -v systemctl >/dev/null 2>&1; then
    for unit in $(systemctl list-units --plain --no-legend 'php*-fpm.service' 2>/dev/null | awk '{print $1}'); do
      systemctl disable --now "$unit" || true
    done
  fi
  # Likewise certbot's packaged renewal timer: the project's renewer is the only one.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet certbot.timer 2>/dev/null; then
    systemctl disable --now certbot.timer || true
  fi
  # And the packaged Prometheus and blackbox exporter: the tests start their own.
  for unit in prometheus prometheus-blackbox-exporter; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      systemctl disable --now "$unit" || true
    fi
  done
fi

case "$purpose" in
  # --- Docker (container tests) -------------------------------------------------
  test) bash scripts/setup-docker.sh ;;
  # --- the sample images tree (Pulumi.local.yaml's imagesDir) ---------------------
  start) node --import tsx scripts/sample-images.ts ;;
  # --- the benchmark: peers only (it generates its own sources and starts its own cluster)
  bench) ;;
esac
