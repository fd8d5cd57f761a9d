// ACME certificates (seed 004's certbot and `@daily certbot renew`, declared): the shell
// scripts the acme containers run, as text built from the plan. Pure: plan in, script
// text out, so every line is unit-tested (and the same text runs against a real ACME
// server in the tests) and `pulumi preview` shows it in the diff.
//
// The design (README "Certificates" says why):
//  - one issuer, the first host: per certificate a renewer container runs certbot against
//    the ACME server on a schedule. http-01 challenge files land in the issuer's webroot;
//    every other master proxies challenge requests it has no file for to the issuer's
//    master, so validation succeeds whichever host the L4 picks. One issuance per renewal,
//    not one per host (Let's Encrypt's duplicate-certificate limit is 5 a week).
//  - certbot's deploy hook publishes key + chain as ONE bundle file (nginx reads both
//    directives from it), replaced by rename, so a reader never sees a torn pair.
//  - on every host a sync agent installs a new bundle into the directory the master reads
//    (the issuer from its own volume, the others from the issuer's publisher over mutual
//    TLS), after `nginx -t` accepts it, and reloads the master with SIGHUP (`nginx -s
//    reload`): it shares the master's PID namespace, so no Docker socket is needed.
//  - until the first issuance a master serves a self-signed bootstrap bundle made on the
//    host; a failed issuance or renewal never touches what a master serves.
import { shellJoin, shellQuote, dockerOnHost } from "./remote.js";
import type { AcmeCertificatePlan, HostAcmePlan, HostPlan } from "./topology.js";

/** The renewer's schedule: certbot's own recommendation is twice a day. */
export const RENEW_CHECK_SECONDS = 12 * 3600;
/** After a failure; Let's Encrypt allows 5 failed validations per hostname and hour. */
export const RENEW_RETRY_SECONDS = 3600;
/** Validity of the bootstrap certificate a host serves until the first issuance. */
export const BOOTSTRAP_DAYS = 30;
/** The sync agent reports unhealthy when a certificate is this close to `renewBeforeDays` past. */
export const SYNC_ALARM_SLACK_DAYS = 7;

/** How long `pulumi up` waits for a renewer's first result (first issuance: seconds usually). */
export const ISSUANCE_TIMEOUT_SECONDS = 300;

/** Where each container keeps the script it runs (its tmpfs; the root filesystem is read-only). */
export const scriptPath = (runDir: string, name: string) => `${runDir}/${name}.sh`;

// ---------------------------------------------------------------------------------------
// Shared shell pieces

/** `log` to stderr with a UTC timestamp and who is talking (docker logs show it). */
function logFunction(who: string): string {
  return `log() { printf '%s %s: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" ${shellQuote(who)} "$*" >&2; }`;
}

/**
 * `write_bundle ID SOURCE KEY CHAIN DEST`: checks that KEY belongs to CHAIN's leaf, then
 * writes a header (id, source, SHA-256 fingerprint, notAfter) followed by key and chain
 * to DEST via a temporary file and a rename. OpenSSL skips the header lines.
 */
const WRITE_BUNDLE = [
  "write_bundle() {",
  '  fp=$(openssl x509 -in "$4" -noout -fingerprint -sha256) || return 1',
  '  end=$(openssl x509 -in "$4" -noout -enddate -dateopt iso_8601) || return 1',
  '  end=${end#*=}; end="${end% *}T${end#* }"',
  '  if [ "$(openssl pkey -in "$3" -pubout)" != "$(openssl x509 -in "$4" -noout -pubkey)" ]; then',
  '    log "$1: the private key does not belong to the certificate; nothing published"; return 1',
  "  fi",
  '  tmp="$5.tmp.$$"',
  "  { printf '# image-origin certificate bundle: %s\\n# source: %s\\n# fingerprint: %s\\n# not-after: %s\\n' \"$1\" \"$2\" \"${fp#*=}\" \"$end\"",
  '    cat "$3" "$4"; } > "$tmp" && chmod 0400 "$tmp" && mv -f "$tmp" "$5"',
  "}",
].join("\n");

/** `value NAME FILE`: a header value of a bundle. */
const VALUE = `value() { sed -n "s/^# $1: //p" "$2" 2>/dev/null | head -n 1; }`;

/** `now`, and `later A B`: the later of two ISO 8601 UTC times (they sort as text). */
const TIME = [
  "now() { date -u +%Y-%m-%dT%H:%M:%SZ; }",
  "later() { printf '%s\\n%s\\n' \"$1\" \"$2\" | sort | tail -n 1; }",
].join("\n");

/**
 * Sleep interruptibly and stop on SIGTERM (the script is PID 1 of its container: without
 * a trap the signal would be ignored until Docker kills it).
 */
const LOOP_SIGNALS = [
  'pause_pid=""',
  "trap 'log stopping; [ -z \"$pause_pid\" ] || kill \"$pause_pid\" 2>/dev/null; exit 0' TERM INT",
  'pause() { sleep "$1" & pause_pid=$!; wait "$pause_pid"; pause_pid=""; }',
].join("\n");

// ---------------------------------------------------------------------------------------
// The bootstrap one-shot

/**
 * Lays out the host's acme volume and gives every acme certificate without a bundle a
 * self-signed bootstrap one, so the master can start before the first issuance. Never
 * replaces an installed bundle. Runs before the master (certbot's image, for openssl).
 */
export function initScript(acme: HostAcmePlan, certificates: readonly Pick<AcmeCertificatePlan, "id" | "names">[]): string {
  return [
    `# ${acme.init.name}: the acme volume's layout, and a bootstrap certificate for each acme`,
    "# certificate the master has none for yet (generated by infra/acme.ts; do not edit).",
    "set -eu",
    "umask 077",
    logFunction(acme.init.name),
    WRITE_BUNDLE,
    `live=${shellQuote(acme.liveDir)}`,
    `mkdir -p "$live" ${shellJoin([acme.statusDir, acme.outboxDir, acme.certbotDir, `${acme.webroot}/.well-known/acme-challenge`])}`,
    "bootstrap() { # ID COMMON-NAME SUBJECT-ALT-NAMES",
    '  if [ -s "$live/$1.pem" ]; then log "$1: keeping the installed certificate"; return 0; fi',
    '  tmp="$live/.$1.bootstrap.$$"',
    `  openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days ${BOOTSTRAP_DAYS} \\`,
    '    -subj "/CN=$2/O=image-origin bootstrap (acme certificate not issued yet)" -addext "subjectAltName=$3" \\',
    '    -keyout "$tmp.key" -out "$tmp.crt" 2>/dev/null',
    '  write_bundle "$1" bootstrap "$tmp.key" "$tmp.crt" "$live/$1.pem"',
    '  rm -f "$tmp.key" "$tmp.crt"',
    '  log "$1: bootstrap certificate installed until the first issuance"',
    "}",
    ...certificates.map((c) => `bootstrap ${shellJoin([c.id, c.names[0] ?? c.id, c.names.map((n) => `DNS:${n}`).join(",")])}`),
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------
// The renewer (issuer only, one per certificate)

export interface RenewerPaths {
  /** certbot's config, work and logs directories live under `<certbotDir>/<id>`. */
  certbotDir: string;
  webroot: string;
  outboxDir: string;
  statusDir: string;
  /** The container's scratch directory (credentials, script). */
  runDir: string;
}

/** The renewer of certificate `id` on the issuer: its paths in the host's acme plan. */
export function renewerPaths(acme: HostAcmePlan, id: string): RenewerPaths & { name: string } {
  const renewer = acme.renewers.find((r) => r.id === id);
  if (renewer === undefined) throw new Error(`${acme.sync.name}: this host runs no renewer for "${id}"`);
  return { name: renewer.name, certbotDir: acme.certbotDir, webroot: acme.webroot, outboxDir: acme.outboxDir, statusDir: acme.statusDir, runDir: renewer.runDir };
}

/** Where the renewer finds a dns-01 plugin's credentials (written there from a secret). */
export const dnsCredentialsPath = (runDir: string) => `${runDir}/dns-credentials.ini`;

/** certbot arguments that select the challenge. */
export function challengeArgs(cert: AcmeCertificatePlan, paths: Pick<RenewerPaths, "webroot" | "runDir">): string[] {
  if (cert.challenge === "http-01") return ["--authenticator", "webroot", "--webroot-path", paths.webroot];
  const plugin = cert.dnsPlugin!;
  // route53 reads AWS credentials the boto way (AWS_SHARED_CREDENTIALS_FILE, set by the
  // container); every other plugin takes its credentials file as a flag.
  return plugin === "route53"
    ? ["--authenticator", "dns-route53"]
    : ["--authenticator", `dns-${plugin}`, `--dns-${plugin}-credentials`, dnsCredentialsPath(paths.runDir)];
}

/**
 * The renewer of one certificate. Each check runs one declarative `certbot certonly
 * --keep-until-expiring` with the configured names, server and challenge: it issues when
 * there is no certificate, issues anew when the names changed, and otherwise is exactly
 * `certbot renew` for this lineage (renews once `renew_before_expiry`, which is kept at
 * renewBeforeDays, is reached). A changed ACME server forces a new issuance. certbot's
 * deploy hook publishes the new bundle; the sync agents install it on every host.
 *
 *   sh renewer.sh loop              the container: a check now, then every 12 h (1 h after a failure)
 *   sh renewer.sh once [ARGS]       one check; ARGS go to certbot, e.g. `once --force-renewal`
 *   sh renewer.sh publish           certbot's deploy hook
 *   sh renewer.sh status [SECONDS]  the last result, waiting up to SECONDS for one; exit 1 unless ok
 *   sh renewer.sh health            the container's healthcheck
 */
export function renewerScript(cert: AcmeCertificatePlan, name: string, paths: RenewerPaths): string {
  const cfg = `${paths.certbotDir}/${cert.id}`;
  return [
    `# ${name}: ACME renewer of certificate "${cert.id}" (${cert.names.join(", ")}),`,
    "# generated by infra/acme.ts; do not edit. Modes: loop | once [certbot args] | publish | status [seconds] | health",
    "set -u",
    "umask 077",
    logFunction(name),
    WRITE_BUNDLE,
    VALUE,
    TIME,
    `id=${shellQuote(cert.id)}`,
    `cfg=${shellQuote(cfg)}`,
    `status=${shellQuote(`${paths.statusDir}/${cert.id}`)}`,
    `outbox=${shellQuote(`${paths.outboxDir}/${cert.id}.pem`)}`,
    `lineage="$cfg/config/live/$id"`,
    `run_log="$cfg/last-run.log"`,
    `server=${shellQuote(cert.server)}`,
    `renew_before=${shellQuote(`renew_before_expiry = ${cert.renewBeforeDays} days`)}`,
    'self="$0"',
    "",
    "certbot_() {",
    '  certbot --non-interactive --config-dir "$cfg/config" --work-dir "$cfg/work" --logs-dir "$cfg/logs" "$@"',
    "}",
    "",
    "# certbot reads renew_before_expiry from the top of the lineage's renewal file.",
    "keep_renew_before() {",
    '  conf="$cfg/config/renewal/$id.conf"',
    '  [ -f "$conf" ] || return 0',
    '  [ "$(head -n 1 "$conf")" = "$renew_before" ] && return 0',
    '  { printf \'%s\\n\' "$renew_before"; grep -v \'^renew_before_expiry\' "$conf"; } > "$conf.tmp" && mv -f "$conf.tmp" "$conf"',
    "}",
    "",
    'set_status() { printf \'%s\\n\' "$*" > "$status.tmp" && mv -f "$status.tmp" "$status"; }',
    "",
    "publish() {",
    '  lineage="${RENEWED_LINEAGE:-$lineage}"',
    '  write_bundle "$id" acme "$lineage/privkey.pem" "$lineage/fullchain.pem" "$outbox" || return 1',
    '  log "published $(value fingerprint "$outbox") (not after $(value not-after "$outbox")) for the sync agents"',
    "}",
    "",
    "once() {",
    '  mkdir -p "$cfg"',
    '  force=""',
    '  if [ -f "$cfg/server" ] && [ "$(cat "$cfg/server")" != "$server" ]; then',
    '    force="--force-renewal"; log "the ACME server changed to $server: issuing anew"',
    "  fi",
    "  keep_renew_before",
    `  log "certbot certonly: issue if missing or the names changed, renew within ${cert.renewBeforeDays} days of expiry"`,
    "  certbot_ certonly --agree-tos --keep-until-expiring \\",
    `    --email ${shellQuote(cert.email)} --server "$server" --cert-name "$id" \\`,
    `    ${shellJoin(challengeArgs(cert, paths))} \\`,
    `    ${shellJoin(cert.names.flatMap((n) => ["-d", n]))} \\`,
    '    --deploy-hook "sh \'$self\' publish" $force "$@" > "$run_log" 2>&1',
    "  rc=$?",
    '  cat "$run_log" >&2',
    '  if [ "$rc" -ne 0 ]; then',
    `    reason=$(grep -E '(Detail|Error|error|Problem)' "$run_log" | tail -n 3 | tr '\\n' ' ')`,
    '    set_status "failed $(now) certbot exited $rc: ${reason:-see $run_log}"',
    '    log "FAILED (certbot exit $rc); the masters keep serving their current certificate: ${reason:-see $run_log}"',
    "    return 1",
    "  fi",
    '  printf \'%s\\n\' "$server" > "$cfg/server"',
    "  keep_renew_before",
    "  # A deploy hook that failed earlier leaves the outbox behind the lineage: publish now.",
    '  want=$(openssl x509 -in "$lineage/fullchain.pem" -noout -fingerprint -sha256)',
    '  if [ "${want#*=}" != "$(value fingerprint "$outbox")" ] && ! publish; then',
    '    set_status "failed $(now) could not publish the issued certificate"; return 1',
    "  fi",
    '  set_status "ok $(now) fingerprint=$(value fingerprint "$outbox") not-after=$(value not-after "$outbox")"',
    '  log "ok: $(cat "$status")"',
    "}",
    "",
    "loop() {",
    LOOP_SIGNALS,
    '  rm -f "$status"',
    "  while :; do",
    `    if once; then pause ${RENEW_CHECK_SECONDS}; else pause ${RENEW_RETRY_SECONDS}; fi`,
    "  done",
    "}",
    "",
    "status_() {",
    '  deadline=$(( $(date +%s) + ${1:-0} ))',
    '  while [ ! -f "$status" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 2; done',
    '  if [ ! -f "$status" ]; then echo "no result yet for $id"; return 1; fi',
    '  cat "$status"',
    '  case "$(cat "$status")" in ok*) return 0 ;; *) return 1 ;; esac',
    "}",
    "",
    'case "${1:-}" in',
    "  loop) loop ;;",
    '  once) shift; once "$@" ;;',
    "  publish) publish ;;",
    '  status) status_ "${2:-0}" ;;',
    '  health) case "$(cat "$status" 2>/dev/null)" in ok*) exit 0 ;; *) exit 1 ;; esac ;;',
    '  *) echo "usage: $0 loop | once [certbot args] | publish | status [seconds] | health" >&2; exit 2 ;;',
    "esac",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------
// The sync agent (every host)

/** Files the sync agent of a follower reads for mutual TLS (written from secrets at start). */
export const syncClientFiles = (runDir: string) => ({ ca: `${runDir}/ca.pem`, cert: `${runDir}/client.pem`, key: `${runDir}/client.key` });

/**
 * Keeps the master's bundles current: fetch each (the issuer's own outbox, or the
 * issuer's publisher over mutual TLS), and when it differs from the installed one and
 * `nginx -t` loads it as certificate and key, it is not expired and not older than what
 * is installed, swap it in by rename; then one SIGHUP (`nginx -s reload`): nginx starts
 * new workers with the new certificate and lets the old ones finish their connections.
 * Anything wrong keeps the installed bundle and is logged.
 *
 *   sh tls-sync.sh loop | once | check
 */
export function syncScript(acme: HostAcmePlan, certificates: readonly Pick<AcmeCertificatePlan, "id" | "renewBeforeDays">[]): string {
  const { sync } = acme;
  const run = sync.runDir;
  const client = syncClientFiles(run);
  const renewBefore = new Map(certificates.map((c) => [c.id, c.renewBeforeDays]));
  // A minimal config that only loads the bundle; every path nginx would open is the agent's
  // own (an unprivileged nginx cannot open the compiled-in logs).
  const verifyConf = [
    `pid $run/verify/nginx.pid;`,
    "error_log stderr;",
    "events {}",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => `  ${k}_temp_path $run/verify/${k};`),
    // A unix socket: `nginx -t` binds its listeners, and needs no port or privilege for this.
    "  server { listen unix:$run/verify/nginx.sock ssl; ssl_certificate $2; ssl_certificate_key $2; }",
    "}",
  ];
  return [
    `# ${sync.name}: installs new certificate bundles for this host's master and reloads it`,
    "# gracefully (generated by infra/acme.ts; do not edit). Modes: loop | once | check",
    "set -u",
    "umask 077",
    logFunction(sync.name),
    VALUE,
    TIME,
    `live=${shellQuote(acme.liveDir)}`,
    `run=${shellQuote(run)}`,
    `master_pid_file=${shellQuote(sync.masterPidFile ?? "")}`,
    "",
    "fetch() { # SOURCE DEST",
    '  case "$1" in',
    `    https://*) curl --fail --silent --show-error --max-time 20 ${sync.sourceAddress ? `--interface ${shellQuote(sync.sourceAddress)} ` : ""}--cacert ${shellQuote(client.ca)} --cert ${shellQuote(client.cert)} --key ${shellQuote(client.key)} --output "$2" "$1" ;;`,
    '    *) cat "$1" > "$2" ;;',
    "  esac",
    "}",
    "",
    "# The same nginx that serves it must load it, as certificate and as key.",
    "verify() { # ID FILE",
    '  if ! grep -q \'^-----BEGIN CERTIFICATE-----\' "$2" || ! grep -q \'PRIVATE KEY-----$\' "$2"; then',
    '    log "$1: not a key and certificate bundle"; return 1',
    "  fi",
    '  mkdir -p "$run/verify"',
    `  printf '%s\\n' ${verifyConf.map((l) => `"${l.replace(/"/g, '\\"')}"`).join(" ")} > "$run/verify/nginx.conf"`,
    '  if ! nginx -t -q -e stderr -p "$run/verify/" -c "$run/verify/nginx.conf" > "$run/verify/out" 2>&1; then',
    '    log "$1: nginx refuses it: $(grep -m 1 -E \'\\[(emerg|alert|crit|error)\\]\' "$run/verify/out" || tail -n 1 "$run/verify/out")"; return 1',
    "  fi",
    '  end=$(value not-after "$2")',
    '  if [ -z "$end" ] || [ "$(later "$end" "$(now)")" != "$end" ]; then log "$1: expired or undated (not after \'$end\')"; return 1; fi',
    "}",
    "",
    "install() { # ID SOURCE",
    '  target="$live/$1.pem"; new="$run/$1.new"',
    '  if ! fetch "$2" "$new"; then log "$1: cannot fetch $2; keeping the installed certificate"; return 1; fi',
    '  if cmp -s "$new" "$target"; then return 0; fi',
    '  if ! verify "$1" "$new"; then log "$1: keeping the installed certificate"; return 1; fi',
    '  if [ "$(value source "$target")" = acme ] && [ "$(later "$(value not-after "$new")" "$(value not-after "$target")")" != "$(value not-after "$new")" ]; then',
    '    log "$1: refusing a certificate that expires before the installed one"; return 1',
    "  fi",
    '  cp "$new" "$live/.$1.pem.tmp" && chmod 0400 "$live/.$1.pem.tmp" && mv -f "$live/.$1.pem.tmp" "$target" || return 1',
    '  log "$1: installed $(value fingerprint "$target") (not after $(value not-after "$target"))"',
    "  changed=1",
    "}",
    "",
    "reload() {",
    '  if [ -n "$master_pid_file" ]; then pid=$(cat "$master_pid_file") || return 1; else pid=1; fi',
    '  kill -HUP "$pid" && log "reloaded nginx (pid $pid): new connections get the new certificate, open ones finish on the old workers"',
    "}",
    "",
    "once() {",
    '  mkdir -p "$run"',
    "  changed=0; result=0",
    ...sync.sources.map((s) => `  install ${shellJoin([s.id, s.from.kind === "file" ? s.from.path : s.from.url])} || result=1`),
    '  if [ "$changed" = 1 ]; then reload || result=1; fi',
    '  return "$result"',
    "}",
    "",
    "# Healthcheck: unhealthy while a certificate is still the bootstrap one, or when renewal",
    `# is more than ${SYNC_ALARM_SLACK_DAYS} days overdue (its renewal point passed and nothing newer arrived).`,
    "check() {",
    "  result=0",
    ...sync.sources.map((s) => {
      const days = Math.max(1, (renewBefore.get(s.id) ?? 30) - SYNC_ALARM_SLACK_DAYS);
      return `  check_one ${shellQuote(s.id)} ${days} || result=1`;
    }),
    '  return "$result"',
    "}",
    "check_one() { # ID DAYS",
    '  src=$(value source "$live/$1.pem"); end=$(value not-after "$live/$1.pem")',
    '  if [ "$src" != acme ]; then echo "$1: ${src:-no} certificate (not issued yet)"; return 1; fi',
    '  alarm=$(date -u -d "@$(( $(date +%s) + $2 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)',
    '  if [ "$(later "$end" "$alarm")" != "$end" ]; then echo "$1: expires $end and no renewal arrived"; return 1; fi',
    '  echo "$1: ok until $end"',
    "}",
    "",
    "loop() {",
    LOOP_SIGNALS,
    "  while :; do",
    "    once",
    `    pause ${sync.intervalSeconds}`,
    "  done",
    "}",
    "",
    'case "${1:-}" in',
    "  loop) loop ;;",
    "  once) once ;;",
    "  check) check ;;",
    '  *) echo "usage: $0 loop | once | check" >&2; exit 2 ;;',
    "esac",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------
// Containers: how a script and its secrets get into a read-only container

export interface SecretFile {
  /** Environment variable the secret arrives in (a Pulumi secret input). */
  env: string;
  /** Where the container writes it (its tmpfs), mode 0600. */
  path: string;
}

/**
 * `sh -c <this> <name> <payload>`: writes the secrets from their environment variables into
 * the container's tmpfs (mode 0600) and unsets them, writes the payload (`$1`: a script or
 * a config) to `payload`, then execs `exec`. Docker refuses `docker cp` into a read-only
 * root filesystem, so nothing is uploaded: everything arrives as arguments and secret
 * environment variables.
 */
export function containerBoot(options: { runDir: string; secrets: readonly SecretFile[]; payload: string; exec: readonly string[]; dirs?: readonly string[] }): string {
  return [
    "set -eu",
    "umask 077",
    `mkdir -p ${shellJoin([options.runDir, ...(options.dirs ?? [])])}`,
    ...options.secrets.flatMap((s) => [`printf '%s\\n' "$${s.env}" > ${shellQuote(s.path)}`, `unset ${s.env}`]),
    `printf '%s' "$1" > ${shellQuote(options.payload)}`,
    `exec ${shellJoin(options.exec)}`,
  ].join("\n");
}

/** `containerBoot` for a script (`$1`) run as `sh <script> <args>`. */
export function scriptBoot(runDir: string, scriptName: string, secrets: readonly SecretFile[], args: readonly string[]): string {
  const script = scriptPath(runDir, scriptName);
  return containerBoot({ runDir, secrets, payload: script, exec: ["sh", script, ...args] });
}

// ---------------------------------------------------------------------------------------
// The issuance gate (`pulumi up` reports a failed first issuance)

/**
 * Run on the operator's machine after the renewer starts: waits up to `timeoutSeconds`
 * for the renewer's first result and prints it (`ok <time> fingerprint=... not-after=...`).
 * A failure fails `pulumi up` with certbot's reason; masters keep serving what they have.
 */
export function issuanceGateCommand(host: Pick<HostPlan, "docker" | "sshOpts">, renewer: { name: string; runDir: string }, certificate: string, timeoutSeconds: number): string {
  const script = scriptPath(renewer.runDir, "renewer");
  // The container writes its script when it starts; the gate may come a moment sooner.
  const inContainer = `i=0; while [ ! -f ${script} ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done; exec sh ${script} status ${timeoutSeconds}`;
  return [
    "set -u",
    `if out=$(${dockerOnHost(host, ["exec", renewer.name, "sh", "-c", inContainer])} 2>&1); then`,
    '  printf \'%s\\n\' "$out"',
    "else",
    `  printf 'certificate "%s" was not issued: %s\\n' ${shellQuote(certificate)} "$out" >&2`,
    `  echo 'Masters keep serving their current certificate (a self-signed bootstrap until the first issuance); the renewer retries every hour. Details: docker logs ${renewer.name} on the issuer.' >&2`,
    "  exit 1",
    "fi",
  ].join("\n");
}

/** `ok <time> fingerprint=AB:.. not-after=2031-..Z` -> the two facts (undefined when absent). */
export function parseRenewerStatus(line: string): { fingerprint?: string; notAfter?: string } {
  const fingerprint = /fingerprint=(\S+)/.exec(line)?.[1];
  const notAfter = /not-after=(\S+)/.exec(line)?.[1];
  return { ...(fingerprint && { fingerprint }), ...(notAfter && { notAfter }) };
}
