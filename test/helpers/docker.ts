// Docker helpers for the container tier (DESIGN.md §4, tier 5). The engine and the
// stand-in base images come from `scripts/setup-docker.sh` (run by `npm test`); a
// missing engine fails the test with that instruction, never skips it.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";

const REPO = path.resolve(__dirname, "../..");
const SETUP_HINT = "run `npm test` (or, as root, `bash scripts/setup.sh`) to install and start Docker";

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker ...args`; never throws, the caller decides what a failure means. */
export function dockerRaw(args: string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile(
      "docker",
      args,
      { cwd: options.cwd ?? REPO, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 127;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
  });
}

/** Runs `docker ...args` and returns trimmed stdout; throws with the tail of stderr. */
export async function docker(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const result = await dockerRaw(args, options);
  if (result.code !== 0) {
    throw new Error(`docker ${args.slice(0, 3).join(" ")} ... failed (${result.code}):\n${(result.stderr || result.stdout).slice(-2000)}`);
  }
  return result.stdout.trim();
}

/** Fails (does not skip) when no engine answers, naming the set-up command. */
export async function requireDocker(): Promise<void> {
  const info = await dockerRaw(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 20_000 });
  if (info.code !== 0) throw new Error(`no Docker engine answers (${info.stderr.trim().split("\n").at(-1)}): ${SETUP_HINT}`);
}

/** Fails when an image the Dockerfiles build FROM is absent (no registry to pull from). */
export async function requireImage(tag: string): Promise<void> {
  const found = await dockerRaw(["image", "inspect", tag], { timeoutMs: 20_000 });
  if (found.code !== 0) throw new Error(`base image ${tag} is missing and cannot be pulled here: ${SETUP_HINT}`);
}

/** The first `FROM` of a Dockerfile (its pinned base image). */
export async function baseImageOf(dockerfile: string): Promise<string> {
  const match = /^FROM\s+(\S+)/m.exec(await readFile(path.resolve(REPO, dockerfile), "utf8"));
  if (match?.[1] === undefined) throw new Error(`${dockerfile} has no FROM line`);
  return match[1];
}

/** Builds `dockerfile` with the repository root as context (where the lockfile is). */
export async function buildImage(dockerfile: string, tag: string): Promise<string> {
  await docker(["build", "--quiet", "-f", dockerfile, "-t", tag, "."], { timeoutMs: 600_000 });
  return tag;
}

/** A unique, recognisable container name (so cleanup never touches anything else). */
export function containerName(prefix: string): string {
  return `${prefix}-test-${randomBytes(4).toString("hex")}`;
}

/** `docker run -d` with the given flags; returns the container id. */
export async function runDetached(name: string, flags: string[], image: string, command: string[] = []): Promise<string> {
  return docker(["run", "-d", "--name", name, ...flags, image, ...command]);
}

/** The 127.0.0.1 host port a container port was published on. */
export async function hostPort(container: string, containerPort: number): Promise<number> {
  const mapping = await docker(["port", container, `${containerPort}/tcp`]);
  const line = mapping.split("\n").find((l) => l.startsWith("127.0.0.1:"));
  if (line === undefined) throw new Error(`port ${containerPort} of ${container} is not published on 127.0.0.1: ${mapping}`);
  return Number(line.split(":")[1]);
}

export async function inspect<T = unknown>(container: string, format: string): Promise<T> {
  return JSON.parse(await docker(["inspect", "--format", `{{json ${format}}}`, container])) as T;
}

/** Polls the container's HEALTHCHECK status until `healthy` (throws on `unhealthy`/timeout). */
export async function waitHealthy(container: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await inspect<string>(container, ".State.Health.Status");
    if (status === "healthy") return;
    if (status === "unhealthy" || Date.now() > deadline) {
      throw new Error(`container health is ${status}; logs:\n${await logs(container)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * fetch with a per-attempt timeout on a REF'd timer: AbortSignal.timeout's timer is
 * unref'd, and a fetch stuck on a half-open docker-proxy connection keeps nothing alive,
 * so node's test runner would see an empty event loop and cancel the test.
 */
export async function fetchWithin(url: string, ms: number, init: RequestInit = {}): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`${url}: no answer within ${ms} ms`)), ms);
  try {
    return await fetch(url, { ...init, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers 200 (the process inside may still be starting). */
export async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetchWithin(url, 2_000).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `docker stop -t grace`, then the exit code (137 would mean SIGTERM was ignored and KILL sent). */
export async function stopContainer(container: string, graceSeconds = 10): Promise<number> {
  await docker(["stop", "-t", String(graceSeconds), container], { timeoutMs: (graceSeconds + 30) * 1000 });
  return inspect<number>(container, ".State.ExitCode");
}

export async function logs(container: string): Promise<string> {
  const result = await dockerRaw(["logs", container]);
  return result.stdout + result.stderr;
}

/** Removes containers this test created (by name); ignores ones already gone. */
export async function removeContainers(...names: string[]): Promise<void> {
  if (names.length > 0) await dockerRaw(["rm", "-f", ...names]);
}
