// Every host of a stack on one machine, behind the software VIP: each host on a loopback
// address of its own (127.0.1.1, 127.0.1.2, ...) with its master, slaves, resizers and ops agent on the
// stack's real ports where they are free, and HAProxy in front on the VIP's, rendered from
// the same `vip` plan a hardware L4 is registered from (`npm start -- --all-hosts` and the
// VIP end-to-end tests). With network namespaces per L4 host (a test's), every L4 host runs
// with its keepalived and the VIP moves between them.
//
// Start order: host by host, the ops agent, slaves and resizers then the master (each healthy before the
// next), the VIP last; stop: the VIP first, then the masters, then the rest.
// Not pure: writes files, binds ports, spawns processes.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { hostPort } from "../address.js";
import { parseClusterSpec, type ClusterSpec } from "../config.js";
import { instanceFiles, vipFiles } from "../render.js";
import { hostImagesDir, planCluster, type ClusterPlan, type HostPlan, type LocalTarget, type VipHostPlan, type VipPlan } from "../topology.js";
import { MissingToolError } from "./certs.js";
import { LaunchError, type LocalProcess, type NginxProcess, type OpsProcess, type ResizerProcess } from "./instances.js";
import { killAtExit, layOutHost, readSpec, SETUP_HINT, type LocalCertificate } from "./launcher.js";
import { freePorts, portProblem } from "./ports.js";
import { groupMembers, type Exit } from "./process.js";
import { findNginx, findOnPath, nginxCandidates, raiseOpenFilesLimit, SETUP_COMMAND, unprivilegedPortStart, unprivilegedUser, type RunAs } from "./tools.js";
import { HaproxyProcess, KeepalivedProcess } from "./vip.js";
import { chownTree, hostPorts, makeStandInCertificates } from "./workdir.js";

/**
 * Addresses the launcher gives a stack that has no VIP of its own, or an L4 host it does not
 * name: documentation addresses (RFC 5737), never contacted, since the local target binds
 * every listener to a loopback address instead.
 */
const PLACEHOLDER = { vip: "192.0.2.10", l4: "192.0.2.11", l4Name: "vip" } as const;

export interface FleetOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is read (default `prod`). */
  stack?: string;
  /** A validated spec instead of the stack file (tests change settings this way). */
  spec?: ClusterSpec;
  configDir?: string;
  /** `stack`: the stack's ports where free on the host's address, else a free one (printed); `free`: all remapped. */
  ports?: "stack" | "free";
  imagesDir?: string;
  /** The loopback address of the `index`th host (default 127.0.1.<index+1>). */
  hostAddress?: (index: number) => string;
  /** Where the VIP listens (default 127.0.0.1); ignored with `namespaces` (the stack's VIP, inside them). */
  vipAddress?: string;
  /**
   * A failover rig: each L4 host of the stack (`vip.mode: haproxy`) by name -> the network
   * namespace (the caller's) its HAProxy frontends and keepalived live in. Every L4 host then
   * runs, HAProxy as root (binding inside a namespace needs it), each with its keepalived.
   */
  namespaces?: Record<string, string>;
  workParent?: string;
  log?: (line: string) => void;
  onUnexpectedExit?: (instance: LocalProcess, exit: Exit) => void;
}

export interface FleetHost {
  plan: HostPlan;
  master: NginxProcess;
  slaves: NginxProcess[];
  resizers: ResizerProcess[];
  ops: OpsProcess;
  /** Start order: the ops agent, slaves, resizers, master. */
  instances: LocalProcess[];
}

export interface FleetPort {
  host: string;
  instance: string;
  what: string;
  stackPort: number;
  port: number;
}

export interface LocalFleet {
  stack: string;
  /** The spec that runs (the stack's, with its VIP as the local HAProxy serves it). */
  spec: ClusterSpec;
  clusterPlan: ClusterPlan;
  vipPlan: VipPlan;
  root: string;
  imagesDir: string;
  hosts: FleetHost[];
  vip: {
    /** The L4 hosts that run (one locally; every one in a failover rig). */
    l4: VipHostPlan[];
    haproxy: HaproxyProcess[];
    keepalived: KeepalivedProcess[];
    /** Where clients reach the VIP. */
    urls: { http: string; https?: string };
    /** Each running L4 host's stats page. */
    stats: string[];
  };
  ports: FleetPort[];
  /** The stand-in certificates (one per certificate id, the same on every host). */
  certificates: LocalCertificate[];
  /** Everything started, in start order. */
  instances: LocalProcess[];
  notes: string[];
  /** Processes running now (nginx workers and HAProxy's included) and their resident memory. */
  usage(): { processes: number; rssMiB: number };
  /** The drain flag: the host's /healthz answers 503 and the VIP takes it out; requests still served. */
  drain(host: string): void;
  undrain(host: string): void;
  /**
   * What `pulumi up` does to a master with drain-before-replace: drain, wait until the VIP
   * has taken the host out, stop the master gracefully, start it with `next`'s config,
   * wait until it is healthy and the VIP has taken it back. Returns the seconds each took.
   */
  replaceMaster(host: string, next: ClusterSpec, timeoutMs?: number): Promise<{ outSeconds: number; downSeconds: number; backSeconds: number }>;
  /** VIP first (keepalived, HAProxy), then masters, then slaves and resizers; removes the work dir. */
  stop(): Promise<void>;
}

/**
 * The stack's VIP as a local HAProxy serves it: `vip.mode: haproxy` on the stack's first L4
 * host (or, for a hardware or absent VIP, one stand-in L4 host); everything the plan says
 * about members, balancing and checks is the stack's own. A failover rig keeps them all.
 */
export function localVipSpec(spec: ClusterSpec, allL4Hosts: boolean): ClusterSpec {
  const vip = spec.vip ?? parseClusterSpec({ ...spec, vip: { address: PLACEHOLDER.vip } }).vip!;
  const own = vip.haproxy?.hosts ?? [];
  const hosts = allL4Hosts ? own : own.slice(0, 1);
  const l4 = hosts.length > 0 ? hosts : [{ name: PLACEHOLDER.l4Name, address: PLACEHOLDER.l4, docker: "unix:///var/run/docker.sock", interface: "lo" }];
  return parseClusterSpec({ ...spec, vip: { ...vip, mode: "haproxy", haproxy: { ...(vip.haproxy ?? {}), hosts: l4 } } });
}

/** A port map per host name: the stack's ports where bindable on the host's address, else free ones. */
async function portMaps(wanted: { host: string; address: string; ports: number[] }[], mode: "stack" | "free"): Promise<Map<string, Map<number, number>>> {
  const maps = new Map<string, Map<number, number>>();
  for (const { host, address, ports } of wanted) {
    const unique = [...new Set(ports)];
    const keep = mode === "free" ? [] : (await Promise.all(unique.map(async (p) => ((await portProblem(p, address)) === undefined ? p : undefined)))).filter((p) => p !== undefined);
    const remap = unique.filter((p) => !keep.includes(p));
    const free = await freePorts(remap.length, address);
    maps.set(host, new Map([...keep.map((p) => [p, p] as const), ...remap.map((p, i) => [p, free[i]!] as const)]));
  }
  return maps;
}

/** Every port an image host's plan listens on, labelled (workdir.ts hostPorts). */
function stackPortsOf(host: HostPlan): { instance: string; what: string; port: number }[] {
  return hostPorts(host).map((p) => ({ instance: p.instance, what: p.what, port: p.listen.port }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return (performance.now() - start) / 1000;
    if (performance.now() - start > timeoutMs) throw new LaunchError(`${what} within ${timeoutMs / 1000}s`);
    await sleep(50);
  }
}

function rssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export async function startAllHosts(opts: FleetOptions = {}): Promise<LocalFleet> {
  const stack = opts.stack ?? "prod";
  const log = opts.log ?? (() => {});
  const rig = opts.namespaces !== undefined;
  const spec = localVipSpec(readSpec(opts, stack), rig);
  const hostAddress = opts.hostAddress ?? ((i: number) => `127.0.1.${i + 1}`);
  const vipAddress = opts.vipAddress ?? "127.0.0.1";
  const notes: string[] = [];

  // --- Checks before anything is started or written -------------------------------
  const nginx = findNginx();
  if (nginx === undefined) throw new LaunchError(`nginx not found (looked for ${nginxCandidates().join(", ")}): ${SETUP_HINT}`);
  for (const tool of ["openssl", "haproxy", ...(rig ? ["keepalived"] : [])]) {
    if (findOnPath(tool, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` }) === undefined) throw new LaunchError(`${tool} not found on PATH: ${SETUP_HINT}`);
  }
  const l4Spec = spec.vip!.haproxy!.hosts;
  if (rig) {
    const missing = l4Spec.filter((h) => opts.namespaces![h.name] === undefined).map((h) => h.name);
    if (missing.length > 0) throw new LaunchError(`no network namespace given for L4 host ${missing.join(", ")}`);
  }
  const addressOf = new Map<string, string>([
    ...spec.hosts.map((h, i) => [h.name, hostAddress(i)] as const),
    ...l4Spec.map((h) => [h.name, rig ? h.address : vipAddress] as const),
  ]);

  // The stack's own ports, in the shape of the plan (paths do not matter for this).
  const stackPlan = planCluster(spec, { kind: "local", root: "/" });
  const vipPorts = [...stackPlan.vip!.haproxy!.services.map((s) => s.port), spec.vip!.haproxy!.statsPort];
  const maps = await portMaps(
    [
      ...stackPlan.hosts.map((h) => ({ host: h.name, address: addressOf.get(h.name)!, ports: stackPortsOf(h).map((p) => p.port) })),
      // Inside a test's fresh namespaces every port is free; there the VIP keeps its own.
      ...l4Spec.map((h) => ({ host: h.name, address: addressOf.get(h.name)!, ports: rig ? [] : vipPorts })),
    ],
    opts.ports ?? "stack",
  );
  const port = (p: number, host: string) => maps.get(host)?.get(p) ?? p;

  const imagesDir = resolve(opts.imagesDir ?? hostImagesDir(spec, spec.hosts[0]!));
  if (!existsSync(imagesDir) || !statSync(imagesDir).isDirectory()) {
    throw new LaunchError(`images directory ${imagesDir} does not exist: run \`${SETUP_COMMAND} start\` (npm start runs it) or pass --images <dir>`);
  }
  const nobody = unprivilegedUser();
  const lowStart = unprivilegedPortStart();
  const needsLow = (ports: number[]) => nobody !== undefined && ports.some((p) => p < lowStart);
  const localPorts = (host: HostPlan) => stackPortsOf(host).map((p) => port(p.port, host.name));
  const nginxUser: RunAs | undefined = nobody && { ...nobody, ...(stackPlan.hosts.some((h) => needsLow(localPorts(h))) && { lowPorts: true }) };
  // HAProxy enters a test's namespaces as root (setns); otherwise unprivileged, as in its container.
  const haproxyUser: RunAs | undefined = rig ? undefined : nobody && { ...nobody, ...(needsLow(vipPorts.map((p) => port(p, l4Spec[0]!.name))) && { lowPorts: true }) };

  const nofile = Math.max(spec.nginx.master.workerRlimitNofile, spec.nginx.slave.workerRlimitNofile);
  const hardLimit = raiseOpenFilesLimit(nofile);
  if (hardLimit < nofile) notes.push(`open files are limited to ${hardLimit} here (worker_rlimit_nofile ${nofile} needs CAP_SYS_RESOURCE)`);

  // --- The work directory and the plan ---------------------------------------------------
  const root = mkdtempSync(join(opts.workParent ?? tmpdir(), `image-origin-${stack}-all-`));
  chmodSync(root, 0o755);
  const target: LocalTarget = {
    kind: "local",
    root,
    imagesDir,
    bindAddress: (name) => addressOf.get(name) ?? vipAddress,
    port,
    ...(!rig && { vipAddress }),
    ...(rig && { vipNamespace: (name: string) => opts.namespaces![name] }),
  };
  const started: LocalProcess[] = [];
  const untrack = killAtExit({ root, instances: started });
  const stopAll = async () => {
    const stop = (role: string) => Promise.all(started.filter((i) => i.role === role).map((i) => i.stop()));
    await stop("keepalived");
    await stop("haproxy");
    await stop("master");
    await Promise.all(started.filter((i) => !["keepalived", "haproxy", "master"].includes(i.role)).map((i) => i.stop()));
    rmSync(root, { recursive: true, force: true });
    untrack();
  };

  try {
    let clusterPlan = planCluster(spec, target);
    const vipPlan = clusterPlan.vip!;

    // One stand-in certificate per id, the same on every host: a client through the VIP
    // verifies whichever master answers against one CA.
    const first = clusterPlan.hosts[0]!;
    const certificates: LocalCertificate[] = makeStandInCertificates(clusterPlan, first, { days: 30, setupHint: SETUP_HINT }).map((c) => ({
      ...c,
      pem: readFileSync(c.certPath, "utf8"),
    }));
    for (const { plan: cert } of certificates) {
      if (cert.mode !== "selfSigned") notes.push(`certificate "${cert.id}" is ${cert.mode} in stack ${stack}: a local self-signed stand-in is used for ${cert.names.join(", ")}`);
    }
    const standInsOf = (host: HostPlan) =>
      certificates.map((c) => {
        const tls = host.master.servers.find((s) => s.tls?.certificate === c.plan.id)!.tls!;
        if (tls.certPath !== c.certPath) {
          mkdirSync(dirname(tls.certPath), { recursive: true });
          copyFileSync(c.certPath, tls.certPath);
          copyFileSync(c.keyPath, tls.keyPath);
        }
        return { plan: c.plan, certPath: tls.certPath, keyPath: tls.keyPath };
      });

    const run = { nginx, ...(nginxUser && { user: nginxUser }), ...(nobody && { resizerUser: nobody }) };
    const hosts: FleetHost[] = clusterPlan.hosts.map((plan) => ({ plan, ...layOutHost(plan, standInsOf(plan), run) }));

    // The software VIP: HAProxy (and in a rig keepalived) per running L4 host.
    const l4 = vipPlan.haproxy!.hosts;
    const haproxy: HaproxyProcess[] = [];
    const keepalived: KeepalivedProcess[] = [];
    for (const host of l4) {
      const files = vipFiles(vipPlan, host);
      for (const f of Object.values(files).flat()) {
        mkdirSync(dirname(f.path), { recursive: true });
        writeFileSync(f.path, f.content, { mode: f.mode !== undefined ? parseInt(f.mode, 8) : 0o644 });
      }
      mkdirSync(host.haproxy.paths.runDir, { recursive: true });
      mkdirSync(host.keepalived.paths.runDir, { recursive: true });
      if (haproxyUser !== undefined) chownTree(host.haproxy.paths.runDir, haproxyUser);
      haproxy.push(new HaproxyProcess(host, { ...(haproxyUser && { user: haproxyUser }) }, join(dirname(host.haproxy.paths.config), "haproxy.log")));
      if (rig) keepalived.push(new KeepalivedProcess(host, join(dirname(host.keepalived.paths.config), "keepalived.log")));
    }

    const instances: LocalProcess[] = [...hosts.flatMap((h) => h.instances), ...haproxy, ...keepalived];
    for (const i of instances) if (opts.onUnexpectedExit) i.onUnexpectedExit = opts.onUnexpectedExit;
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    const perHost = `${count(hosts.length, "host")} x (1 master, ${count(spec.slaves.length, "slave")}, ${count(hosts[0]!.resizers.length, "resizer")}, 1 ops agent)`;
    log(`starting ${perHost} + ${haproxy.length} HAProxy${keepalived.length ? ` + ${keepalived.length} keepalived` : ""} = ${instances.length} instances; machine memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);

    // --- Start: host by host (what the master proxies to first), the VIP last ------------
    for (const inst of instances) {
      started.push(inst);
      await inst.start();
      log(`started ${inst.name} (pid ${inst.pid})${inst.listens.length ? ` on ${inst.listens.map((l) => hostPort(l.address, l.port)).join(", ")}` : ""}`);
    }

    const ports: FleetPort[] = [
      ...stackPlan.hosts.flatMap((h) => stackPortsOf(h).map((p) => ({ host: h.name, ...p, stackPort: p.port, port: port(p.port, h.name) }))),
      ...l4.flatMap((h) => [
        ...vipPlan.haproxy!.services.map((s) => ({ host: h.name, instance: h.haproxy.name, what: s.name, stackPort: s.port, port: h.haproxy.listen.find((l) => l.service === s.name)!.listen.port })),
        { host: h.name, instance: h.haproxy.name, what: "stats", stackPort: spec.vip!.haproxy!.statsPort, port: h.haproxy.stats.port },
      ]),
    ];
    const front = l4[0]!.haproxy.listen;
    const url = (scheme: "http" | "https") => {
      const l = front.find((f) => f.service === scheme)?.listen;
      // In a rig HAProxy listens on every address of its namespace; clients use the VIP.
      return l && `${scheme}://${hostPort(rig ? vipPlan.address : l.address, l.port)}`;
    };
    const hostOf = (name: string) => {
      const h = hosts.find((x) => x.plan.name === name);
      if (h === undefined) throw new LaunchError(`no host ${name} (hosts: ${hosts.map((x) => x.plan.name).join(", ")})`);
      return h;
    };
    const hc = vipPlan.healthCheck;
    // The most a check cycle can take to notice: fall (or rise) intervals plus a timeout, and a margin.
    const vipTimeoutMs = (checks: number) => (checks + 1) * hc.intervalSeconds * 1000 + hc.timeoutSeconds * 1000 + 5_000;

    const fleet: LocalFleet = {
      stack,
      spec,
      clusterPlan,
      vipPlan,
      root,
      imagesDir,
      hosts,
      vip: {
        l4,
        haproxy,
        keepalived,
        urls: { http: url("http")!, ...(url("https") && { https: url("https") }) },
        stats: l4.map((h) => `http://${hostPort(h.haproxy.stats.address, h.haproxy.stats.port)}/stats`),
      },
      ports,
      certificates,
      instances,
      notes,
      usage() {
        const pids = new Set(started.flatMap((i) => (i.pid === undefined ? [] : groupMembers(i.pid))));
        return { processes: pids.size, rssMiB: [...pids].reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024 };
      },
      drain(host) {
        const file = hostOf(host).plan.master.paths.drainFile;
        writeFileSync(file, "");
        if (nginxUser !== undefined) chownTree(file, nginxUser);
      },
      undrain(host) {
        const file = hostOf(host).plan.master.paths.drainFile;
        if (existsSync(file)) unlinkSync(file);
      },
      async replaceMaster(host, next, timeoutMs) {
        const h = hostOf(host);
        const gate = haproxy[0]!;
        fleet.drain(host);
        const outSeconds = await until(`the VIP did not take ${host} out`, () => gate.excludes(host), timeoutMs ?? vipTimeoutMs(hc.fall));
        const down = performance.now();
        await h.master.stop();
        // The new config (same target: paths and ports stay), written where the master reads it.
        const nextPlan = planCluster(localVipSpec(next, rig), target);
        const nextHost = nextPlan.hosts.find((x) => x.name === host)!;
        for (const f of instanceFiles(nextHost)[h.master.name] ?? []) writeFileSync(f.path, f.content);
        // A new master is not drained (in a container its flag lives on a tmpfs).
        fleet.undrain(host);
        await h.master.start();
        const downSeconds = (performance.now() - down) / 1000;
        const backSeconds = await until(`the VIP did not take ${host} back`, () => gate.admits(host), timeoutMs ?? vipTimeoutMs(hc.rise));
        clusterPlan = { ...clusterPlan, hosts: clusterPlan.hosts.map((x) => (x.name === host ? nextHost : x)) };
        fleet.clusterPlan = clusterPlan;
        return { outSeconds, downSeconds, backSeconds };
      },
      stop: stopAll,
    };
    return fleet;
  } catch (err) {
    await stopAll();
    if (err instanceof MissingToolError) throw new LaunchError(err.message);
    throw err;
  }
}
