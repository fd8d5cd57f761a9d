// Run containers exactly as the Pulumi program declares them: the inputs a mocked run
// registered for docker.Container / Network / Volume, turned into the Docker CLI calls
// the provider would make, including what the provider does around them (uploads before
// start, waiting for health, attaching to one-shot containers).
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { shellJoin } from "../../infra/remote.js";
import { buildImage, docker, requireImage, waitHealthy } from "./docker.js";
import { mockImageId, named, ofType, type ProgramRun } from "./pulumi.js";

type Inputs = Record<string, any>;

/** `docker create` arguments for a docker.Container's inputs (the subset the program uses). */
export function createArgs(c: Inputs): string[] {
  const args = ["create", "--name", c.name];
  if (c.user) args.push("--user", c.user);
  if (c.readOnly) args.push("--read-only");
  for (const [path, opts] of Object.entries<string>(c.tmpfs ?? {})) args.push("--tmpfs", `${path}:${opts}`);
  for (const cap of c.capabilities?.drops ?? []) args.push("--cap-drop", cap);
  for (const cap of c.capabilities?.adds ?? []) args.push("--cap-add", cap);
  for (const opt of c.securityOpts ?? []) args.push("--security-opt", opt);
  if (c.memory) args.push("--memory", `${c.memory}m`);
  if (c.memorySwap) args.push("--memory-swap", c.memorySwap > 0 ? `${c.memorySwap}m` : String(c.memorySwap));
  if (c.cpus) args.push("--cpus", c.cpus);
  for (const u of c.ulimits ?? []) args.push("--ulimit", `${u.name}=${u.soft}:${u.hard}`);
  if (c.restart) args.push("--restart", c.restart);
  if (c.logDriver) args.push("--log-driver", c.logDriver);
  for (const [k, v] of Object.entries<string>(c.logOpts ?? {})) args.push("--log-opt", `${k}=${v}`);
  if (c.networkMode) args.push("--network", c.networkMode);
  for (const n of c.networksAdvanced ?? []) {
    if (n.ipv4Address) args.push("--ip", n.ipv4Address);
    for (const alias of n.aliases ?? []) args.push("--network-alias", alias);
  }
  for (const p of c.ports ?? []) args.push("--publish", `${p.ip}:${p.external}:${p.internal}`);
  for (const m of c.mounts ?? []) {
    args.push("--mount", [`type=${m.type}`, `source=${m.source}`, `target=${m.target}`, ...(m.readOnly ? ["readonly"] : [])].join(","));
  }
  for (const e of c.envs ?? []) args.push("--env", e);
  const hc = c.healthcheck;
  if (hc) {
    // The CLI only takes the shell form; the exec form's words, quoted, are equivalent.
    const [kind, ...words] = hc.tests as string[];
    args.push("--health-cmd", kind === "CMD" ? shellJoin(words) : words.join(" "));
    if (hc.interval) args.push("--health-interval", hc.interval);
    if (hc.timeout) args.push("--health-timeout", hc.timeout);
    if (hc.retries !== undefined) args.push("--health-retries", String(hc.retries));
    if (hc.startPeriod) args.push("--health-start-period", hc.startPeriod);
  }
  if (c.stopSignal) args.push("--stop-signal", c.stopSignal);
  if (c.stopTimeout !== undefined) args.push("--stop-timeout", String(c.stopTimeout));
  const [entrypoint, ...entryRest] = c.entrypoints ?? [];
  if (entrypoint) args.push("--entrypoint", entrypoint);
  args.push(c.image, ...entryRest, ...(c.command ?? []));
  return args;
}

/**
 * Copy `uploads` into a created container as the provider does: a tar of each file copied
 * to `/`, mode 0644 (0744 when `executable`), owned by root. Its `permissions` and `owner`
 * fields are not applied by the provider version read, so they are not applied here.
 */
export async function upload(c: Inputs): Promise<void> {
  const uploads: Inputs[] = c.uploads ?? [];
  if (uploads.length === 0) return;
  const stage = mkdtempSync(join(tmpdir(), "uploads-"));
  try {
    for (const u of uploads) {
      const path = join(stage, u.file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, u.content);
      chmodSync(path, u.executable ? 0o744 : 0o644);
      chownSync(path, 0, 0);
    }
    // A tar stream keeps modes and numeric owners (docker cp of a directory would not).
    const archive = `${stage}.tar`;
    execFileSync("tar", ["--numeric-owner", "-C", stage, "-cf", archive, "."]);
    try {
      execFileSync("docker", ["cp", "-", `${c.name}:/`], { input: readFileSync(archive), stdio: ["pipe", "ignore", "pipe"] });
    } finally {
      rmSync(archive, { force: true });
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Create, upload, start, and wait as the inputs say (`attach` runs a one-shot to its end). */
export async function runDeclared(c: Inputs): Promise<void> {
  await docker(createArgs(c));
  await upload(c);
  if (c.attach) {
    await docker(["start", "--attach", c.name]);
    const code = await docker(["inspect", "--format", "{{.State.ExitCode}}", c.name]);
    if (code !== "0") throw new Error(`${c.name} exited ${code}`);
    return;
  }
  await docker(["start", c.name]);
  if (c.wait) await waitHealthy(c.name, (c.waitTimeout ?? 60) * 1000);
}

/** Run a command the program declared for the operator's machine (a `command.local.Command`). */
export async function execShell(script: string): Promise<void> {
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn("sh", ["-c", script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim()}`);
}

/**
 * Makes the images `host`'s containers declare real on this engine: the resizer built from
 * resizer/Dockerfile, the pinned nginx tag (a local stand-in, scripts/setup-docker.sh)
 * required. The program names images by the id the host's engine reports (its
 * `<host>-images-<image>` delivery's output); the mock reports a stand-in id per ref, replaced
 * in every container's inputs by this engine's real one. Returns that mapping, for later
 * runs of the program.
 */
export async function useEngineImages(run: ProgramRun, host: string): Promise<Map<string, string>> {
  const [resizerRef, nginxRef] = ["resizer", "nginx"].map((image) => (named(run, `${host}-images-${image}`).inputs.triggers as string[])[0]!);
  await requireImage(nginxRef!);
  await buildImage("resizer/Dockerfile", resizerRef!);
  const realId = new Map<string, string>();
  for (const ref of [resizerRef!, nginxRef!]) realId.set(mockImageId(ref), await docker(["image", "inspect", "--format", "{{.Id}}", ref]));
  for (const c of ofType(run, "Container")) c.inputs.image = realId.get(c.inputs.image) ?? c.inputs.image;
  return realId;
}

/** The order `pulumi up` creates a host's containers in, as their dependencies impose it. */
export const DECLARED_ORDER = ["cache-owner", "ops", "slave01-files", "slave01", "slave02-files", "slave02", "resizer01", "resizer02", "master-files", "master"] as const;
