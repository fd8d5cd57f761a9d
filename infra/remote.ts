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

/**
 * Stream images from the operator's engine into the host's engine (hosts sit in a closed
 * network without registry access), then print the image id of every ref, one per line in
 * the refs' order: containers must name images by id, since the provider stores the id it
 * reads back and would otherwise see a change (a replacement) on every `up`. `docker load`
 * keeps ids, so they are the same on every host. A `unix://` host is the operator's own
 * engine, which already has the images.
 */
export function deliverImagesCommand(host: Pick<HostPlan, "docker" | "sshOpts">, refs: readonly string[]): string {
  if (refs.length === 0) throw new Error("no image to deliver");
  return [
    "set -eu",
    ...(engineKind(host.docker) === "unix" ? [] : [`docker save ${shellJoin(refs)} | ${dockerOnHost(host, ["load", "--quiet"])} >&2`]),
    dockerOnHost(host, ["image", "inspect", "--format", "{{.Id}}", ...refs]),
  ].join("\n");
}

/** The ids `deliverImagesCommand` printed, by ref. */
export function deliveredIds(stdout: string, refs: readonly string[]): Record<string, string> {
  const ids = stdout.trim().split("\n").map((l) => l.trim());
  if (ids.length !== refs.length || !ids.every((id) => /^sha256:[0-9a-f]{64}$/.test(id))) {
    throw new Error(`expected ${refs.length} image ids from the delivery, got: ${stdout.trim().slice(0, 300)}`);
  }
  return Object.fromEntries(refs.map((ref, i) => [ref, ids[i]!]));
}

/** How nginx reads a config in a container (`-e stderr`: an unprivileged nginx cannot open the compiled-in log). */
export const nginxConfigArgs = (config: string): string[] => ["-e", "stderr", "-c", config];

/** nginx in the foreground, as a container's only process (SIGQUIT stops it gracefully). */
export const nginxServe = (config: string): string[] => ["nginx", ...nginxConfigArgs(config), "-g", "daemon off;"];

/** nginx's own check of a config. */
export const nginxCheck = (config: string): string[] => ["nginx", "-t", "-q", ...nginxConfigArgs(config)];

/**
 * Apply newly installed files to a running nginx container. The provider does not look at
 * a one-shot's exit status, so this does: an installer that failed (nginx refused the new
 * files, which then never reached the volume) fails `pulumi up` with its output. Then the
 * check again in the serving container (its own mounts), SIGHUP (nginx's graceful reload:
 * new workers, old ones finish their requests), and a look at its log, since a reload can
 * still be refused after a passing check (e.g. a changed cache zone): nginx then keeps the
 * previous config, and `pulumi up` says so.
 */
export function reloadCommand(host: Pick<HostPlan, "docker" | "sshOpts">, target: { container: string; installer: string; check: string[] }): string {
  const on = (args: string[]) => dockerOnHost(host, args);
  const { container, installer } = target;
  return [
    "set -eu",
    `status=$(${on(["inspect", "--format", "{{.State.ExitCode}}", installer])})`,
    `if [ "$status" != 0 ]; then`,
    `  printf '%s exited %s: the new files were not installed; %s keeps the previous ones\\n' ${shellQuote(installer)} "$status" ${shellQuote(container)} >&2`,
    `  ${on(["logs", "--tail", "30", installer])} >&2 || true`,
    "  exit 1",
    "fi",
    on(["exec", container, ...target.check]),
    on(["kill", "--signal", "HUP", container]),
    "sleep 2",
    `if ${on(["logs", "--since", "10s", container])} 2>&1 | grep -F '[emerg]' >&2; then`,
    `  echo ${shellQuote(`${container} refused the new config on reload and still serves the previous one`)} >&2`,
    "  exit 1",
    "fi",
  ].join("\n");
}

/**
 * Wait until the host answers its health check the way the L4 asks it (every port, the
 * same path and expected status), giving up after `timeoutSeconds`.
 */
export function healthGateCommand(urls: readonly string[], expectStatus: number, timeoutSeconds: number): string {
  return [
    "set -u",
    `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
    `for url in ${shellJoin(urls)}; do`,
    `  until [ "$(curl --silent --insecure --output /dev/null --write-out '%{http_code}' --max-time 5 "$url" || true)" = ${expectStatus} ]; do`,
    `    if [ "$(date +%s)" -ge "$deadline" ]; then echo "$url did not answer ${expectStatus} within ${timeoutSeconds}s" >&2; exit 1; fi`,
    "    sleep 2",
    "  done",
    `  echo "$url answers ${expectStatus}"`,
    "done",
  ].join("\n");
}
