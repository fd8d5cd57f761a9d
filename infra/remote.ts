// Shell commands the Pulumi program runs on the operator's machine: deliver images to a
// host's engine, reload an nginx container, and wait for a host's health check. Pure:
// plan in, command text out, so the exact text is unit-tested (it is what `pulumi
// preview` shows in the diff).
import type { HostPlan } from "./topology.js";

/** One shell word, single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  if (word !== "" && /^[A-Za-z0-9@%+=:,./_-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export const shellJoin = (words: readonly string[]): string => words.map(shellQuote).join(" ");

export type EngineKind = "ssh" | "tcp" | "unix";

export function engineKind(docker: string): EngineKind {
  if (docker.startsWith("ssh://")) return "ssh";
  if (docker.startsWith("tcp://")) return "tcp";
  return "unix";
}

/** `ssh://user@[::1]:2222` -> ssh arguments (port, options, destination). */
export function sshArgs(host: Pick<HostPlan, "docker" | "sshOpts">): string[] {
  const match = /^ssh:\/\/([^@]+)@(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.docker);
  if (!match) throw new Error(`not an ssh:// docker endpoint: ${host.docker}`);
  const [, user, address = "", port] = match;
  return [
    // Never stop at a password or host-key prompt in the middle of `pulumi up`.
    "-o", "BatchMode=yes",
    ...(port ? ["-p", port] : []),
    ...(host.sshOpts ?? []),
    `${user}@${address.replace(/^\[|\]$/g, "")}`,
  ];
}

/** A shell command that runs `docker <args>` against the host's engine. */
export function dockerOnHost(host: Pick<HostPlan, "docker" | "sshOpts">, args: readonly string[]): string {
  switch (engineKind(host.docker)) {
    case "ssh":
      // ssh hands the remote command to the remote shell: quote it for that shell too.
      return shellJoin(["ssh", ...sshArgs(host), shellJoin(["docker", ...args])]);
    case "tcp":
    case "unix":
      return shellJoin(["docker", "-H", host.docker, ...args]);
  }
}

/** Where the operator's engine gets an image it does not hold yet. */
export type ImageOrigin =
  /** A pinned tag from the operator's registry (nginx, certbot). */
  | { kind: "pull" }
  /**
   * Built from the checkout. Paths are relative to the directory commands run in: the
   * program's (`main` of Pulumi.yaml; pulumi/pulumi pkg/engine/project.go getPwdMain starts
   * every plugin there, and pulumi-command runs without `dir` in its provider's working
   * directory, commandOutputs.go), so the text is the same on every operator's machine.
   */
  | { kind: "build"; dockerfile: string; context: string };

/**
 * Deliver one image to a host's engine and print its id there. A host that already holds
 * the ref is left alone; otherwise the operator's engine gets the image first when it
 * lacks it (pulled, or built from the checkout: any machine with the repository can
 * deliver, not only the one that ran the first `up`), then streams it over (the hosts sit
 * in a closed network without registry access). The id is what containers name: the
 * provider stores the id it reads back, so a tag would differ from state on every `up`.
 * A `unix://` host is the operator's own engine: it pulls or builds directly.
 */
export function deliverImageCommand(host: Pick<HostPlan, "docker" | "sshOpts">, ref: string, origin: ImageOrigin): string {
  const onHost = (args: string[]) => dockerOnHost(host, args);
  const local = engineKind(host.docker) === "unix";
  const docker = (args: string[]) => (local ? onHost(args) : shellJoin(["docker", ...args]));
  const obtain = origin.kind === "pull" ? docker(["pull", "--quiet", ref]) : docker(["build", "--quiet", "-f", origin.dockerfile, "-t", ref, origin.context]);
  const has = (inspect: string) => `${inspect} >/dev/null 2>&1`;
  return [
    "set -eu",
    `if ! ${has(onHost(["image", "inspect", ref]))}; then`,
    ...(local
      ? [`  ${obtain} >&2`]
      : [
          `  if ! ${has(docker(["image", "inspect", ref]))}; then`,
          `    ${obtain} >&2`,
          "  fi",
          // `docker load` fails on an empty stream, so a failed save fails the command too.
          `  docker save ${shellQuote(ref)} | ${onHost(["load", "--quiet"])} >&2`,
        ]),
    "fi",
    onHost(["image", "inspect", "--format", "{{.Id}}", ref]),
  ].join("\n");
}

/** The id `deliverImageCommand` printed. */
export function deliveredId(stdout: string, ref: string): string {
  const id = stdout.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(id)) throw new Error(`expected the image id of ${ref} from its delivery, got: ${id.slice(0, 300)}`);
  return id;
}

/** How nginx reads a config in a container (`-e stderr`: an unprivileged nginx cannot open the compiled-in log). */
export const nginxConfigArgs = (config: string): string[] => ["-e", "stderr", "-c", config];

/** nginx in the foreground, as a container's only process (SIGQUIT stops it gracefully). */
export const nginxServe = (config: string): string[] => ["nginx", ...nginxConfigArgs(config), "-g", "daemon off;"];

/** nginx's own check of a config. */
export const nginxCheck = (config: string): string[] => ["nginx", "-t", "-q", ...nginxConfigArgs(config)];

/** What `reloadCommand` reloads, and how (nginx's defaults: SIGHUP, `[emerg]` means refused). */
export interface ReloadTarget {
  container: string;
  /** The one-shot that installed the new files. */
  installer: string;
  /** The program's own check of its config, run in the serving container first. */
  check: string[];
  /** The graceful reload signal (default HUP). */
  signal?: "HUP" | "USR2";
  /** Commands run in the container after the check, before the signal. */
  before?: string[][];
  /** A log line holding this after the signal means the new config was refused (default `[emerg]`). */
  refused?: string;
}

/**
 * Apply newly installed files to a running nginx container. The provider does not look at
 * a one-shot's exit status, so this does: an installer that failed (nginx refused the new
 * files, which then never reached the volume) fails `pulumi up` with its output. Then the
 * check again in the serving container (its own mounts), SIGHUP (nginx's graceful reload:
 * new workers, old ones finish their requests), and a look at its log, since a reload can
 * still be refused after a passing check (e.g. a changed cache zone): nginx then keeps the
 * previous config, and `pulumi up` says so.
 */
export function reloadCommand(host: Pick<HostPlan, "docker" | "sshOpts">, target: ReloadTarget): string {
  const on = (args: string[]) => dockerOnHost(host, args);
  const { container, installer } = target;
  const signal = target.signal ?? "HUP";
  const refused = target.refused ?? "[emerg]";
  return [
    "set -eu",
    `status=$(${on(["inspect", "--format", "{{.State.ExitCode}}", installer])})`,
    `if [ "$status" != 0 ]; then`,
    `  printf '%s exited %s: the new files were not installed; %s keeps the previous ones\\n' ${shellQuote(installer)} "$status" ${shellQuote(container)} >&2`,
    `  ${on(["logs", "--tail", "30", installer])} >&2 || true`,
    "  exit 1",
    "fi",
    on(["exec", container, ...target.check]),
    ...(target.before ?? []).map((command) => on(["exec", container, ...command])),
    on(["kill", "--signal", signal, container]),
    "sleep 2",
    `if ${on(["logs", "--since", "10s", container])} 2>&1 | grep -F ${shellQuote(refused)} >&2; then`,
    `  echo ${shellQuote(`${container} refused the new config on reload and still serves the previous one`)} >&2`,
    "  exit 1",
    "fi",
  ].join("\n");
}

/** The L4's health check as the `vip` config describes it (config.ts `vip.healthCheck`). */
export interface L4Check {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Consecutive passed checks before the L4 sends a host traffic again. */
  rise: number;
  /** Consecutive failed checks before the L4 takes a host out. */
  fall: number;
}

/**
 * Seconds after which the L4 has taken out a host that started failing its check: the
 * first failing check comes within one interval, the fall-th one `fall - 1` intervals
 * later, and may take up to the timeout.
 */
export const secondsToTakeOut = (l4: L4Check): number => l4.fall * l4.intervalSeconds + l4.timeoutSeconds;

/** Seconds after which the L4 has taken back a host that answers again: rise checks, the same way. */
export const secondsToTakeBack = (l4: L4Check): number => l4.rise * l4.intervalSeconds + l4.timeoutSeconds;

/**
 * Wait until the host answers its health check the way the L4 asks it (every port, the
 * same path and expected status), giving up after `timeoutSeconds`. With an L4, the gate
 * then keeps checking at the L4's interval until `rise` rounds in a row passed (a failure
 * starts the count again) and one check's timeout more: by then the L4 has taken the host
 * back, so the next host may leave it (serial rollout: never two hosts out at once).
 */
export function healthGateCommand(urls: readonly string[], expectStatus: number, timeoutSeconds: number, l4?: L4Check): string {
  const maxTime = l4?.timeoutSeconds ?? 5;
  const answers = `[ "$(curl --silent --insecure --output /dev/null --write-out '%{http_code}' --max-time ${maxTime} "$url" || true)" = ${expectStatus} ]`;
  const late = (what: string) => `if [ "$(date +%s)" -ge "$deadline" ]; then echo "${what}" >&2; exit 1; fi`;
  return [
    "set -u",
    `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
    `for url in ${shellJoin(urls)}; do`,
    `  until ${answers}; do`,
    `    ${late(`$url did not answer ${expectStatus} within ${timeoutSeconds}s`)}`,
    "    sleep 2",
    "  done",
    `  echo "$url answers ${expectStatus}"`,
    "done",
    ...(l4 === undefined
      ? []
      : [
          `# The L4 takes the host back after ${l4.rise} passed checks ${l4.intervalSeconds}s apart.`,
          "passed=0",
          `while [ "$passed" -lt ${l4.rise} ]; do`,
          `  sleep ${l4.intervalSeconds}`,
          "  failed=''",
          `  for url in ${shellJoin(urls)}; do ${answers} || failed="$url"; done`,
          `  if [ -n "$failed" ]; then passed=0; echo "$failed failed again: counting the L4's ${l4.rise} checks anew" >&2; else passed=$((passed + 1)); fi`,
          `  ${late(`the host did not pass ${l4.rise} checks in a row within ${timeoutSeconds}s`)}`,
          "done",
          `sleep ${l4.timeoutSeconds}`,
          `echo "passed ${l4.rise} checks ${l4.intervalSeconds}s apart: the L4 has taken the host back"`,
        ]),
  ].join("\n");
}

/**
 * Take a host out of the L4 before its master goes (the `delete` of `<host>-master-drain`,
 * which the engine runs before it deletes the master: a replacement, a network change, a
 * removed host). The drain flag makes /healthz answer 503; the L4 takes the host out after
 * its failed checks while requests in flight complete, and only then may the master stop.
 * A master that is not running has nothing to drain.
 */
export function drainCommand(host: Pick<HostPlan, "docker" | "sshOpts">, master: { container: string; drainFile: string }, l4: L4Check): string {
  const wait = secondsToTakeOut(l4);
  return [
    "set -u",
    `if ${dockerOnHost(host, ["exec", master.container, "touch", master.drainFile])}; then`,
    `  echo ${shellQuote(`${master.container} drained: waiting ${wait}s for the L4 to take its host out`)} >&2`,
    `  sleep ${wait}`,
    "else",
    `  echo ${shellQuote(`${master.container} is not running: nothing to drain`)} >&2`,
    "fi",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------
// The L4 hosts' HAProxy and keepalived (`vip.mode: haproxy`)

/**
 * HAProxy in master-worker mode in the foreground, as its container's PID 1 (SIGUSR2
 * reloads, SIGUSR1 stops softly). The server-state file starts as an empty state (its
 * format version, `1`), so the first start loads nothing without a warning.
 */
export function haproxyServe(paths: { config: string; stateFile: string }): string[] {
  const program = haproxyForeground("").slice(0, -1).join(" ");
  return ["/bin/sh", "-c", `printf "1\\n" > "$0" && exec ${program} "$1"`, paths.stateFile, paths.config];
}

/** HAProxy's master-worker mode in the foreground (the container's and the local launcher's). */
export const haproxyForeground = (config: string): string[] => ["haproxy", "-W", "-db", "-f", config];

/** HAProxy's own check of a config (`-q` would hide the reason it fails). */
export const haproxyCheck = (config: string): string[] => ["haproxy", "-c", "-f", config];

/**
 * Before a reload: every host's state as this HAProxy sees it, saved where the new
 * processes load it (`load-server-state-from-file`), so a host that was down or drained
 * stays out instead of starting over as up.
 */
export function haproxySaveState(paths: { socket: string; stateFile: string }): string[] {
  return ["/bin/sh", "-c", 'echo "show servers state" | socat stdio "UNIX-CONNECT:$0" > "$1"', paths.socket, paths.stateFile];
}

/** keepalived's VRRP part only, in the foreground, logging to stdout (no syslog in a container). */
export function keepalivedServe(paths: { config: string; pidFile: string; vrrpPidFile: string }): string[] {
  return ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp", "--use-file", paths.config, "--pid", paths.pidFile, "--vrrp_pid", paths.vrrpPidFile];
}

/** keepalived's own check of a config (and of its check script's presence and safety). */
export const keepalivedCheck = (config: string): string[] => ["keepalived", "--config-test", "--use-file", config];

/**
 * The same check where the host's interfaces are absent (the installer has no network):
 * every complaint counts except that an interface does not exist. The serving container,
 * on the host's network, runs the full check before each reload.
 */
export function keepalivedCheckWithoutInterfaces(config: string): string[] {
  return [
    "/bin/sh",
    "-c",
    [
      'out=$(keepalived --config-test --use-file "$0" 2>&1) && exit 0',
      'printf "%s\\n" "$out" >&2',
      "! printf \"%s\\n\" \"$out\" | grep -v -e \"interface .* doesn't exist\" -e 'Non-existent interface specified' | grep -q .",
    ].join("; "),
    config,
  ];
}
