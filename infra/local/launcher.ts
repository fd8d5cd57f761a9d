// The local cluster: one host of a stack, planned for the `local` target (every path
// under a fresh work directory, loopback addresses, the stack's ports or free ones),
// written with `instanceFiles` (the same files `pulumi up` uploads into containers) and
// run as real processes in the seeds' order: slaves and resizers first, each healthy
// before the next, the master last; stopped the other way round. `npm start` and the
// end-to-end tests both use it. Not pure: writes files, binds ports, spawns processes.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { hostPort } from "../address.js";
import { ConfigError, type ClusterSpec } from "../config.js";
import { instanceFiles } from "../render.js";
import { specFromStackYaml, stackFileName } from "../stack.js";
import { hostImagesDir, planCluster, type ClusterPlan, type HostPlan, type LocalTarget } from "../topology.js";
import { MissingToolError } from "./certs.js";
import { LocalProcess, LaunchError, NginxProcess, OpsProcess, ResizerProcess, type Probe } from "./instances.js";
import { freePortMap, portProblem } from "./ports.js";
import type { Exit } from "./process.js";
import { findJemalloc, findNginx, findOnPath, nginxCandidates, raiseOpenFilesLimit, SETUP_COMMAND, unprivilegedUser, type RunAs } from "./tools.js";
import { chownTree, hostPorts, makeStandInCertificates, makeWritableDirs, writeFiles, type StandIn } from "./workdir.js";

export { LaunchError } from "./instances.js";
export type { LocalProcess, NginxProcess, OpsProcess, ResizerProcess } from "./instances.js";

export const PROJECT_ROOT = resolve(__dirname, "../..");

export interface LaunchOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is read (default `local`). */
  stack?: string;
  /** A validated spec instead of the stack file (tests change settings this way). */
  spec?: ClusterSpec;
  /** Directory holding the stack files (default: the project root). */
  configDir?: string;
  /** Host of the stack to run (default: the first). */
  host?: string;
  /**
   * `stack`: the stack's own ports (a busy one is an error); `free`: every port of the host
   * remapped to a distinct free loopback port. Default: `stack` for `local`, else `free`.
   */
  ports?: "stack" | "free";
  /** The images tree to serve (default: the host's `imagesDir`). */
  imagesDir?: string;
  /** Loopback address everything binds to (default 127.0.0.1). */
  bindAddress?: string;
  /** Parent of the work directory (default: the OS temp directory). */
  workParent?: string;
  /** Progress lines ("started local-slave01 ..."). */
  log?: (line: string) => void;
  /** An instance exited while the cluster runs without being asked to. */
  onUnexpectedExit?: (instance: LocalProcess, exit: Exit) => void;
  /** HMAC keys of signed URLs for the resizers (the secret `resizerSigningKeys` of a stack). */
  resizerSigningKeys?: string[];
}

export interface PortMapping {
  instance: string;
  what: string;
  stackPort: number;
  port: number;
}

export interface LocalCertificate extends StandIn {
  /** PEM of the self-signed stand-in: the CA a client verifies the master against. */
  pem: string;
}

export interface LocalCluster {
  stack: string;
  /** The whole plan (local target) and the host that runs. */
  clusterPlan: ClusterPlan;
  host: HostPlan;
  /** The work directory: configs, pids, temp files, logs, cache, certificates. */
  root: string;
  imagesDir: string;
  ports: PortMapping[];
  certificates: LocalCertificate[];
  /** Base URLs of the master, e.g. `http://127.0.0.1:8080`. */
  urls: { http: string; https?: string };
  master: NginxProcess;
  slaves: NginxProcess[];
  resizers: ResizerProcess[];
  /** The host's ops agent: the metrics of all of them on one listener. */
  ops: OpsProcess;
  /** The plan as JSON (`npm run status -- --plan <this>` reads the running cluster from it). */
  planFile: string;
  /** Every instance in start order (ops agent, slaves, resizers, master). */
  instances: LocalProcess[];
  /** The user the processes run as (undefined: the current one). */
  user?: RunAs;
  /** Things worth telling the person who started it (stand-in certificates, ...). */
  notes: string[];
  /**
   * Re-plans with `spec` (same target: paths and ports stay), rewrites the nginx files
   * whose content changed in place and reloads those instances gracefully (`nginx -t`,
   * SIGHUP). Without a spec: reloads the master as `nginx -s reload` would. Returns the
   * instances reloaded.
   */
  reload(spec?: ClusterSpec): Promise<string[]>;
  /** Master first (SIGQUIT), then slaves and resizers; waits for every pid; removes the work dir. */
  stop(): Promise<void>;
}

export const SETUP_HINT = `run \`${SETUP_COMMAND}\` as root to install it (npm start and npm test run it first)`;

/** The spec to run: the given one, or the stack file's (`Pulumi.<stack>.yaml` in `configDir`). */
export function readSpec(opts: Pick<LaunchOptions, "spec" | "configDir">, stack: string): ClusterSpec {
  if (opts.spec) return opts.spec;
  const file = stackFileName(stack);
  const dir = resolve(opts.configDir ?? PROJECT_ROOT);
  const path = join(dir, file);
  if (!existsSync(path)) throw new ConfigError([`${file}: no such stack file in ${dir}`]);
  return specFromStackYaml(readFileSync(path, "utf8"), file);
}

/** Is `path` (and every directory above it) readable by `user`, judging by owner and mode bits? */
function readableBy(path: string, user: RunAs): boolean {
  let p = resolve(path);
  for (;;) {
    const st = statSync(p);
    const bits = st.uid === user.uid ? (st.mode >> 6) & 7 : st.gid === user.gid ? (st.mode >> 3) & 7 : st.mode & 7;
    if ((bits & (st.isDirectory() ? 5 : 4)) !== (st.isDirectory() ? 5 : 4)) return false;
    if (p === "/") return true;
    p = dirname(p);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Text of `path` from byte `offset` on. */
function readFrom(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString("utf8");
  } catch {
    return "";
  }
}

/** Work directories left behind by a launcher that was killed; removed by the safety net below. */
const live = new Set<{ root: string; instances: LocalProcess[] }>();
let exitHookInstalled = false;

/**
 * Last resort when the process exits without `stop()` (an uncaught error, a test that
 * threw): kill every process of `entry`, by pid, and remove its work dir. Returns the
 * function that forgets it once it was stopped properly.
 */
export function killAtExit(entry: { root: string; instances: LocalProcess[] }): () => void {
  live.add(entry);
  installExitHook();
  return () => live.delete(entry);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) {
      for (const i of c.instances) i.process?.signalGroup("SIGKILL");
      rmSync(c.root, { recursive: true, force: true });
    }
  });
}

/** How a host's processes run (the launcher's choices, the same for every host). */
export interface HostRun {
  nginx: string;
  /** nginx's user (undefined: the current one). */
  user?: RunAs;
  /** The resizers' user (undefined: the current one). */
  resizerUser?: RunAs;
  /** HMAC keys of signed URLs for the resizers (the secret `resizerSigningKeys` of a stack). */
  resizerSigningKeys?: string[];
}

export interface HostProcesses {
  ops: OpsProcess;
  slaves: NginxProcess[];
  resizers: ResizerProcess[];
  master: NginxProcess;
  /** In start order: the ops agent, slaves, resizers, master. */
  instances: LocalProcess[];
}

/**
 * One host of a local plan laid out on disk (its rendered files, the directories nginx and
 * the resizers write, owned by the users they run as; its certificates must be in place)
 * and its processes made, not started. `startCluster` and `startAllHosts` share it.
 */
export function layOutHost(host: HostPlan, certificates: readonly StandIn[], run: HostRun): HostProcesses {
  writeFiles(Object.values(instanceFiles(host)).flat());
  const writable = makeWritableDirs(host);
  const tlsDir = host.master.paths.tlsDir;
  const resizerDirs = host.resizers.map((r) => {
    if (r.workDir === undefined) throw new Error(`${r.name}: a local plan gives every resizer its work directory`);
    return r.workDir;
  });
  for (const dir of resizerDirs) mkdirSync(join(dir, "tmp"), { recursive: true });
  const opsDir = host.ops.workDir;
  if (opsDir === undefined) throw new Error(`${host.ops.name}: a local plan gives the ops agent its work directory`);
  mkdirSync(join(opsDir, "tmp"), { recursive: true });

  // Unprivileged, as in production: nginx and the resizers own only what they write.
  if (run.user !== undefined) {
    for (const dir of writable) chownTree(dir, run.user);
    if (existsSync(tlsDir)) chownTree(tlsDir, run.user);
  }
  if (run.resizerUser !== undefined) for (const dir of [...resizerDirs, opsDir]) chownTree(join(dir, "tmp"), run.resizerUser);
  for (const c of certificates) chmodSync(c.keyPath, 0o600);

  const nginxRun = { nginx: run.nginx, ...(run.user && { user: run.user }) };
  const slaves = host.slaves.map((s) => new NginxProcess(s, nginxRun, [{ listen: s.listen }], join(dirname(s.paths.config), "logs", "nginx.out")));
  const jemalloc = findJemalloc();
  const resizers = host.resizers.map(
    (r, i) =>
      new ResizerProcess(
        r,
        {
          projectRoot: PROJECT_ROOT,
          tmpDir: join(resizerDirs[i]!, "tmp"),
          ...(run.resizerUser && { user: run.resizerUser }),
          ...(jemalloc && { jemalloc }),
          ...(run.resizerSigningKeys && { signingKeys: run.resizerSigningKeys }),
        },
        join(resizerDirs[i]!, "resizer.log"),
      ),
  );
  const m = host.master;
  const defaultServer = m.servers.find((s) => s.default) ?? m.servers[0]!;
  const masterProbes: Probe[] = [{ listen: m.http, host: defaultServer.serverNames[0]! }];
  const tlsServer = m.servers.find((s) => s.tls !== undefined);
  if (m.https && tlsServer) {
    const cert = certificates.find((c) => c.plan.id === tlsServer.tls!.certificate);
    if (cert === undefined) throw new Error(`${host.name}: no stand-in certificate for "${tlsServer.tls!.certificate}"`);
    masterProbes.push({ listen: m.https, tls: { servername: tlsServer.serverNames[0]!, ca: readFileSync(cert.certPath, "utf8") } });
  }
  const master = new NginxProcess(m, nginxRun, masterProbes, join(dirname(m.paths.config), "logs", "nginx.out"));
  // First, as its container is: nginx sends it access logs from its first request on.
  const ops = new OpsProcess(host.ops, { projectRoot: PROJECT_ROOT, tmpDir: join(opsDir, "tmp"), ...(run.resizerUser && { user: run.resizerUser }) }, join(opsDir, "ops.log"));
  return { ops, slaves, resizers, master, instances: [ops, ...slaves, ...resizers, master] };
}

export async function startCluster(opts: LaunchOptions = {}): Promise<LocalCluster> {
  const stack = opts.stack ?? "local";
  const log = opts.log ?? (() => {});
  const spec = readSpec(opts, stack);
  const hostSpec = opts.host === undefined ? spec.hosts[0] : spec.hosts.find((h) => h.name === opts.host);
  if (hostSpec === undefined) {
    throw new LaunchError(`stack ${stack} has no host "${opts.host}" (hosts: ${spec.hosts.map((h) => h.name).join(", ")})`);
  }
  const bindAddress = opts.bindAddress ?? "127.0.0.1";
  const portMode = opts.ports ?? (stack === "local" && !opts.spec ? "stack" : "free");
  const notes: string[] = [];

  // --- Checks before anything is started or written -------------------------------
  const nginx = findNginx();
  if (nginx === undefined) throw new LaunchError(`nginx not found (looked for ${nginxCandidates().join(", ")}): ${SETUP_HINT}`);
  if (findOnPath("openssl") === undefined) throw new LaunchError(`openssl not found on PATH: ${SETUP_HINT}`);

  // The stack's own ports, in the shape of the plan (paths do not matter for this).
  const stackHost = planCluster({ ...spec, hosts: [hostSpec] }, { kind: "local", root: "/" }).hosts[0]!;
  const stackPorts = hostPorts(stackHost);
  let port: (p: number) => number;
  if (portMode === "stack") {
    for (const p of stackPorts) {
      const problem = await portProblem(p.listen.port, bindAddress);
      if (problem !== undefined) {
        const why = problem === "EADDRINUSE" ? "is already in use" : problem === "EACCES" ? "needs privileges to bind" : `cannot be bound (${problem})`;
        throw new LaunchError(`port ${p.listen.port} (${p.instance} ${p.what}) ${why} on ${bindAddress}: stop what holds it, or run with --free-ports`);
      }
    }
    port = (p) => p;
  } else {
    port = await freePortMap(stackPorts.map((p) => p.listen.port), bindAddress);
  }

  const imagesDir = resolve(opts.imagesDir ?? hostImagesDir(spec, hostSpec));
  if (!existsSync(imagesDir) || !statSync(imagesDir).isDirectory()) {
    throw new LaunchError(`images directory ${imagesDir} does not exist: run \`${SETUP_COMMAND} start\` (npm start runs it) or pass --images <dir>`);
  }

  const user = unprivilegedUser();
  let resizerUser = user;
  if (user !== undefined && !readableBy(join(PROJECT_ROOT, "resizer/src/main.ts"), user)) {
    resizerUser = undefined;
    notes.push(`${PROJECT_ROOT} is not readable by ${user.name}: the resizers run as root (nginx still runs as ${user.name})`);
  }
  if (user !== undefined && !readableBy(imagesDir, user)) {
    throw new LaunchError(`images directory ${imagesDir} is not readable by ${user.name}, the user nginx and the resizers run as: make it world-readable`);
  }

  const nofile = Math.max(stackHost.master.tuning.master.workerRlimitNofile, ...stackHost.slaves.map((s) => s.tuning.slave.workerRlimitNofile));
  const hardLimit = raiseOpenFilesLimit(nofile);
  if (hardLimit < nofile) {
    notes.push(`open files are limited to ${hardLimit} here (worker_rlimit_nofile ${nofile} needs CAP_SYS_RESOURCE): nginx logs a setrlimit alert and keeps ${hardLimit}`);
  }

  // --- The work directory ------------------------------------------------------------
  const root = mkdtempSync(join(opts.workParent ?? tmpdir(), `image-origin-${stack}-`));
  chmodSync(root, 0o755);
  const target: LocalTarget = { kind: "local", root, imagesDir, bindAddress, port };
  const started: LocalProcess[] = [];
  const entry = { root, instances: started };
  const untrack = killAtExit(entry);

  const stopAll = async () => {
    // Seeds: the master first, then the slaves (and the resizers).
    const master = started.filter((i) => i.role === "master");
    await Promise.all(master.map((i) => i.stop()));
    await Promise.all(started.filter((i) => i.role !== "master").map((i) => i.stop()));
    rmSync(root, { recursive: true, force: true });
    untrack();
  };

  try {
    let clusterPlan = planCluster({ ...spec, hosts: [hostSpec] }, target);
    let host = clusterPlan.hosts[0]!;

    // TLS: a self-signed stand-in for every certificate a server uses, whatever its mode.
    const certificates: LocalCertificate[] = makeStandInCertificates(clusterPlan, host, { days: 30, setupHint: SETUP_HINT }).map((c) => ({
      ...c,
      pem: readFileSync(c.certPath, "utf8"),
    }));
    for (const { plan: cert } of certificates) {
      if (cert.mode !== "selfSigned") {
        notes.push(`certificate "${cert.id}" is ${cert.mode} in stack ${stack}: a local self-signed stand-in is used for ${cert.names.join(", ")}`);
      }
    }

    const { ops, slaves, resizers, master, instances } = layOutHost(host, certificates, {
      nginx,
      ...(user && { user }),
      ...(resizerUser && { resizerUser }),
      ...(opts.resizerSigningKeys && { resizerSigningKeys: opts.resizerSigningKeys }),
    });
    const m = host.master;
    const planFile = join(root, "plan.json");
    writeFiles([{ path: planFile, content: `${JSON.stringify(clusterPlan, null, 2)}\n` }]);
    for (const i of instances) if (opts.onUnexpectedExit) i.onUnexpectedExit = opts.onUnexpectedExit;

    // --- Start in the seeds' order: what the master proxies to first ------------------
    for (const inst of instances) {
      started.push(inst);
      await inst.start();
      log(`started ${inst.name} (pid ${inst.pid}) on ${inst.listens.map((l) => `${l.address}:${l.port}`).join(", ")}`);
    }

    const ports: PortMapping[] = stackPorts.map((p) => ({ instance: p.instance, what: p.what, stackPort: p.listen.port, port: port(p.listen.port) }));

    const cluster: LocalCluster = {
      stack,
      clusterPlan,
      host,
      root,
      imagesDir,
      ports,
      certificates,
      urls: { http: `http://${hostPort(m.http.address, m.http.port)}`, ...(m.https && { https: `https://${hostPort(m.https.address, m.https.port)}` }) },
      master,
      slaves,
      resizers,
      ops,
      planFile,
      instances,
      ...(user && { user }),
      notes,
      async reload(newSpec?: ClusterSpec) {
        if (newSpec === undefined) {
          await master.reload();
          return [master.name];
        }
        const next = planCluster({ ...newSpec, hosts: [newSpec.hosts.find((h) => h.name === host.name) ?? hostSpec] }, target);
        const nextHost = next.hosts[0]!;
        const same = (a: HostPlan, b: HostPlan) => JSON.stringify(hostPorts(a)) === JSON.stringify(hostPorts(b));
        if (!same(host, nextHost)) throw new LaunchError("the new config changes instances or ports: stop and start the cluster instead of reloading");
        if (JSON.stringify(host.resizers.map((r) => r.env)) !== JSON.stringify(nextHost.resizers.map((r) => r.env))) {
          throw new LaunchError("the new config changes the resizers' settings: they read them at start; restart them");
        }
        const files = instanceFiles(nextHost);
        const changed = [...slaves, master].filter((inst) =>
          (files[inst.name] ?? []).some((f) => !existsSync(f.path) || readFileSync(f.path, "utf8") !== f.content),
        );
        // Slaves one at a time, then the master, as at start. A slave's old workers close
        // the master's idle kept-alive connections to it; the master may hit one as it
        // closes, retry elsewhere and count the slave as failed (max_fails) for
        // fail_timeout. Reloading the next slave meanwhile would leave the master none.
        for (const inst of changed) {
          const logFrom = fileSize(master.errorLog);
          writeFiles(files[inst.name] ?? []);
          await inst.reload();
          const more = changed.indexOf(inst) < changed.length - 1 && changed[changed.indexOf(inst) + 1]!.role === "slave";
          if (inst.plan.role === "slave" && more) {
            const { listen, retryPauseMs } = inst.plan;
            const failed = readFrom(master.errorLog, logFrom).includes(`upstream: "http://${hostPort(listen.address, listen.port)}/`);
            if (retryPauseMs > 0 && failed) {
              log(`${inst.name}: the master counted a failure during its reload; waiting fail_timeout (${retryPauseMs / 1000}s) before the next slave`);
              await new Promise((r) => setTimeout(r, retryPauseMs + 500));
            }
          }
        }
        clusterPlan = next;
        host = nextHost;
        cluster.clusterPlan = next;
        cluster.host = nextHost;
        return changed.map((i) => i.name);
      },
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    await stopAll();
    if (err instanceof MissingToolError) throw new LaunchError(err.message);
    throw err;
  }
}
