// A stack rendered for the `local` target under a temp root, ready for nginx: the same
// planner and renderers as production (only the target differs), every rendered file at
// the path the plan gives it, the directories the plan says nginx writes, self-signed
// certificates where the plan expects supplied or self-signed ones, and for acme
// certificates the bootstrap bundle the project's own init script makes (as each host gets
// before its first issuance). Nothing rendered is edited.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { ClusterSpec } from "../../infra/config.js";
import { instanceFiles, type InstanceFile } from "../../infra/render.js";
import { specFromStackYaml } from "../../infra/stack.js";
import { planCluster, type ClusterPlan, type HostPlan, type Listen, type LocalTarget } from "../../infra/topology.js";
import { initScript } from "../../infra/acme.js";
import { freePortMap as portMap } from "../../infra/local/ports.js";
import { chownTree, hostPorts, makeStandInCertificates, makeWritableDirs, writeFiles } from "../../infra/local/workdir.js";
import { SETUP_HINT, startNginx, unprivilegedUser, type RunningNginx } from "./nginx.js";

export const PROJECT_ROOT = resolve(__dirname, "../..");

/** Every stack file of the repository (`Pulumi.<stack>.yaml`), discovered, sorted. */
export function stackFiles(): string[] {
  return readdirSync(PROJECT_ROOT)
    .filter((f) => /^Pulumi\.[A-Za-z0-9_.-]+\.yaml$/.test(f))
    .sort();
}

export function stackSpec(file: string): ClusterSpec {
  return specFromStackYaml(readFileSync(join(PROJECT_ROOT, file), "utf8"), file);
}

export interface StagedInstance {
  host: string;
  name: string;
  role: "master" | "slave";
  /** The rendered config, at the plan's `paths.config`. */
  conf: string;
  /** The instance's own directory (nginx -p). */
  prefix: string;
}

export interface StagedCluster {
  root: string;
  plan: ClusterPlan;
  /** Every file written, at the path its instance reads it from. */
  files: InstanceFile[];
  instances: StagedInstance[];
}

/** A fresh temp directory for a staged cluster. */
export function tempRoot(label: string): string {
  return mkdtempSync(join(tmpdir(), `image-origin-${label.replace(/[^A-Za-z0-9_.-]/g, "_")}-`));
}

/** Gives the tree at `root` to the user nginx runs as in tests (no-op unless running as root). */
export function handOver(root: string): void {
  const user = unprivilegedUser();
  if (user !== undefined) chownTree(root, user);
}

export { freePorts } from "../../infra/local/ports.js";

/** Every port the stack listens on (master, slaves, resizers, ACME publisher of every host). */
export function stackPorts(spec: ClusterSpec): number[] {
  const plan = planCluster(spec, { kind: "local", root: "/nonexistent" });
  const ports = plan.hosts.flatMap((h) => hostPorts(h).map((p) => p.listen.port));
  return [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * A port remap for the local target: every stack port to a distinct port free on this
 * machine now. nginx binds its listen sockets even for `nginx -t`, so the stack's own
 * ports (80 and 443 need root; 8080 may be taken by another test) cannot be used as they are.
 */
export function freePortMap(spec: ClusterSpec, host = "127.0.0.1"): Promise<(stackPort: number) => number> {
  return portMap(stackPorts(spec), host);
}

/**
 * Plans `spec` for the local target under `root` (stack ports remapped to free ones),
 * writes every rendered file where the plan puts it, creates the plan's writable
 * directories, certificates and web roots, and hands the tree to the unprivileged test
 * user when running as root. Instances of different hosts share ports: run them (and
 * `nginx -t` them) one host at a time.
 */
export async function stageCluster(spec: ClusterSpec, root: string, target: Partial<Omit<LocalTarget, "kind" | "root">> = {}): Promise<StagedCluster> {
  const probe = typeof target.bindAddress === "string" ? target.bindAddress : undefined;
  const port = target.port ?? (await freePortMap(spec, probe));
  const plan = planCluster(spec, { kind: "local", root, imagesDir: join(root, "images"), ...target, port });
  const files = plan.hosts.flatMap((h) => Object.values(instanceFiles(h)).flat());
  writeFiles(files);

  const instances: StagedInstance[] = [];
  for (const host of plan.hosts) {
    const m = host.master;
    makeWritableDirs(host);
    for (const inst of [m, ...host.slaves]) {
      instances.push({ host: host.name, name: inst.name, role: inst.role, conf: inst.paths.config, prefix: dirname(inst.paths.config) });
    }
    mkdirSync(m.paths.imagesRoot, { recursive: true });
    // acme certificates get what a host gets before its first issuance: the bootstrap
    // bundle made by the project's own init script, below.
    makeStandInCertificates(plan, host, { wanted: (cert) => cert.mode !== "acme", setupHint: SETUP_HINT });
    if (host.acme !== undefined && plan.acme !== undefined) {
      const r = spawnSync("sh", ["-c", initScript(host.acme, plan.acme.certificates)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${host.acme.init.name} failed (exit ${r.status}):\n${r.stderr}`);
    }
  }

  handOver(root);
  return { root, plan, files, instances };
}

/**
 * Runs a staged host's nginx instances: its slaves first, then its master (the seeds' start
 * order), each once it accepts connections; the master is waited for on `masterListen`
 * (its HTTP port unless given). If one fails to start, those already running are stopped.
 */
export async function startStagedHost(staged: StagedCluster, host: HostPlan, masterListen: Listen = host.master.http): Promise<{ slaves: RunningNginx[]; master: RunningNginx }> {
  const instance = (name: string) => {
    const found = staged.instances.find((i) => i.name === name);
    if (found === undefined) throw new Error(`${name} was not staged`);
    return found;
  };
  const slaves: RunningNginx[] = [];
  try {
    for (const s of host.slaves) {
      const inst = instance(s.name);
      slaves.push(await startNginx(inst.conf, inst.prefix, { host: s.listen.address, port: s.listen.port }));
    }
    const m = instance(host.master.name);
    return { slaves, master: await startNginx(m.conf, m.prefix, { host: masterListen.address, port: masterListen.port }) };
  } catch (error) {
    for (const s of slaves) await s.stop();
    throw error;
  }
}
