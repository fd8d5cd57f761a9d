// One host's plan: its master, slaves and resizers with their names, listeners, paths and
// tuning, the upstreams between them, and the servers the master answers. Where anything
// lives or listens is asked of the host's `Placement`; the host's settings come resolved
// from hostConfig.ts. Pure.
import { memoryBudgetMb } from "../../resizer/src/memory.js";
import { KEEP_ALIVE_TIMEOUT_MS, serviceSchema, toEnv, type ServiceSettings } from "../../resizer/src/settings.js";
import { resizeLimitsEnabled, type Balance, type ClusterSpec, type Host, type Slave } from "../config.js";
import { timeMs } from "../units.js";
import { acmeFallback, planHostAcme } from "./acme.js";
import { hostImagesDir, hostResizer, hostTuning } from "./hostConfig.js";
import { NGINX_NAMES, RESIZE_KEY, instanceName, instanceRole } from "./names.js";
import { nginxOps, planOps, statusPort } from "./ops.js";
import { ADDRESS_OFFSET, networkAddress, type Placement } from "./placement.js";
import type { AcmePlan, CertificatePlan, HostPlan, MasterPlan, NginxPaths, ResizerPlan, ServerPlan, SlavePlan, TlsFiles, UpstreamMember, UpstreamPlan } from "./types.js";

/** Service settings of the resizer (the part of the config the process reads). */
function resizerService(spec: ClusterSpec): ServiceSettings {
  const keys = Object.keys(serviceSchema.shape) as (keyof ServiceSettings)[];
  return Object.fromEntries(keys.map((k) => [k, spec.resizer[k]])) as ServiceSettings;
}

/** What nginx assumes for a member that sets no `max_fails` / `fail_timeout`. */
const NGINX_MEMBER_DEFAULTS = { maxFails: 1, failTimeout: "10s" } as const;

/** How long the master leaves a member out after a failure (see `RetryPause`). */
function retryPauseMs(m: Pick<UpstreamMember, "maxFails" | "failTimeout">): number {
  return (m.maxFails ?? NGINX_MEMBER_DEFAULTS.maxFails) === 0 ? 0 : timeMs(m.failTimeout ?? NGINX_MEMBER_DEFAULTS.failTimeout);
}

function upstream(name: string, balance: Balance, keepalive: number, memberKeepAliveMs: number, members: UpstreamMember[]): UpstreamPlan {
  return { name, balance, keepalive, memberKeepAliveMs, memberRetryMs: Math.max(0, ...members.map(retryPauseMs)), members };
}

/**
 * `variant`: every request for one cached object goes to the same replica, where identical
 * requests in flight share one transform (resizer/src/flights.ts). Consistent, so a replica
 * added or removed moves only its share of the keys.
 */
function resizerBalance(balance: ClusterSpec["resizer"]["balance"]): Balance {
  return balance === "variant" ? { method: "hash", key: RESIZE_KEY.expression, consistent: true } : { method: "least_conn" };
}

function slaveMember(host: string, port: number, slave: Slave): UpstreamMember {
  return {
    host,
    port,
    ...(slave.weight !== undefined && { weight: slave.weight }),
    ...(slave.maxFails !== undefined && { maxFails: slave.maxFails }),
    ...(slave.failTimeout !== undefined && { failTimeout: slave.failTimeout }),
    ...(slave.maxConns !== undefined && { maxConns: slave.maxConns }),
    backup: slave.backup,
    down: slave.down,
  };
}

/** See `SlavePlan.writableDirs`: the temp parent, extra directories, and the log directories. */
function writableDirs(paths: NginxPaths, ...extra: string[]): string[] {
  const dirOf = (file: string) => file.slice(0, file.lastIndexOf("/")) || "/";
  const logs = [paths.accessLog, paths.errorLog].filter((f) => !f.startsWith("/dev/")).map(dirOf);
  return [...new Set([paths.tempDir, ...extra, ...logs])];
}

export function planHost(spec: ClusterSpec, host: Host, place: Placement, certs: Map<string, CertificatePlan>, acme: AcmePlan | undefined): HostPlan {
  const tuning = hostTuning(spec, host);
  // Each instance gets its own part: the master never sees the slaves' limits, nor they its.
  const { slave: _slaveInstances, ...masterOwn } = tuning;
  const masterTuning = { ...masterOwn, resizeLimits: { ...tuning.resizeLimits, enabled: resizeLimitsEnabled(spec) } };
  const { master: _masterInstance, proxy: _masterProxy, resizeLimits: _masterLimits, ...slaveTuning } = tuning;

  const slaves: SlavePlan[] = spec.slaves.map((slave, i) => {
    const index = i + 1;
    const ip = place.ip(ADDRESS_OFFSET.slave + index);
    const paths = place.nginxPaths(instanceRole.slave(index));
    return {
      role: "slave",
      name: instanceName.slave(host.name, index),
      ...(ip && { ip }),
      index,
      file: `${instanceRole.slave(index)}.conf`,
      listen: { address: place.bind, port: place.port(slave.port) },
      paths,
      tuning: slaveTuning,
      retryPauseMs: retryPauseMs(slave),
      writableDirs: writableDirs(paths),
      ops: nginxOps(spec, place, instanceRole.slave(index), statusPort.slave(spec, index)),
    };
  });

  const deployment = hostResizer(spec, host);
  const service = resizerService(spec);
  const resizers: ResizerPlan[] = Array.from({ length: deployment.replicas }, (_, i) => {
    const index = i + 1;
    const listen = { address: place.bind, port: place.port(deployment.basePort + i) };
    const ip = place.ip(ADDRESS_OFFSET.resizer + index);
    const workDir = place.workDir(instanceRole.resizer(index));
    return {
      role: "resizer",
      name: instanceName.resizer(host.name, index),
      ...(ip && { ip }),
      index,
      listen,
      memoryMb: deployment.memoryMb,
      cpus: deployment.cpus,
      env: {
        ...toEnv(
          {
            ...service,
            // libvips sizes its thread pool from the host's cores, not the container's CPU limit.
            vipsThreads: service.vipsThreads || Math.max(1, Math.ceil(deployment.cpus)),
            // What the transforms may need together, from the container's memory limit.
            memoryBudgetMb: service.memoryBudgetMb || memoryBudgetMb(deployment.memoryMb, service.concurrency),
          },
          { host: listen.address, port: listen.port, root: place.imagesRoot },
        ),
        // Every transform in flight holds a libuv thread; file I/O needs a couple more.
        UV_THREADPOOL_SIZE: String(Math.max(4, service.concurrency + 2)),
      },
      stopGraceSeconds: Math.max(30, Math.ceil(service.timeoutMs / 1000) + 5),
      // The master sets no max_fails / fail_timeout for resizers: nginx's defaults apply.
      retryPauseMs: retryPauseMs({}),
      ...(workDir !== undefined && { workDir }),
    };
  });

  const hasTls = spec.domains.some((d) => d.certificate !== undefined);
  const dirs = place.masterDirs;
  const basePaths = place.nginxPaths(instanceRole.master);
  // In the writable run directory (a tmpfs in containers): a restart always comes back undrained.
  const masterPaths = { ...basePaths, ...dirs, drainFile: `${basePaths.tempDir}/drain` };
  const masterIp = place.ip(ADDRESS_OFFSET.master);
  const master: MasterPlan = {
    role: "master",
    name: instanceName.master(host.name),
    ...(masterIp && { ip: masterIp }),
    file: `${instanceRole.master}.conf`,
    ...place.masterListeners(hasTls),
    paths: masterPaths,
    tuning: masterTuning,
    cache: { ...spec.cache, zone: NGINX_NAMES.cacheZone },
    slaves: upstream(
      NGINX_NAMES.slavesUpstream,
      spec.upstream.balance,
      spec.upstream.keepalive,
      timeMs(tuning.keepaliveTimeout),
      slaves.map((s, i) => slaveMember(place.peer(ADDRESS_OFFSET.slave + s.index), s.listen.port, spec.slaves[i]!)),
    ),
    resizers: upstream(
      NGINX_NAMES.resizersUpstream,
      resizerBalance(spec.resizer.balance),
      spec.upstream.keepalive,
      KEEP_ALIVE_TIMEOUT_MS,
      resizers.map((r) => ({ host: place.peer(ADDRESS_OFFSET.resizer + r.index), port: r.listen.port, backup: false, down: false })),
    ),
    legacyPaths: spec.resizer.legacyPaths,
    servers: serverPlans(spec, dirs, certs),
    ...(acme && acmeFallback(spec, host, place, acme)),
    writableDirs: writableDirs(masterPaths, masterPaths.cacheDir),
    ops: nginxOps(spec, place, instanceRole.master, statusPort.master(spec)),
  };
  const hostAcme = acme && planHostAcme(spec, host, master, acme, place);

  return {
    name: host.name,
    address: host.address,
    docker: host.docker,
    ...(host.sshOpts !== undefined && { sshOpts: host.sshOpts }),
    imagesDir: hostImagesDir(spec, host),
    network: {
      name: `${host.name}-net`,
      subnet: spec.network.subnet,
      gateway: networkAddress(spec.network.subnet, ADDRESS_OFFSET.gateway),
    },
    volumes: { cache: `${host.name}-master-cache`, ...(acme && { acme: `${host.name}-acme` }) },
    master,
    slaves,
    resizers,
    ops: planOps(spec, host, place, { master, slaves, resizers, ...(hostAcme && { acme: hostAcme }) }),
    ...(hostAcme && { acme: hostAcme }),
  };
}

function serverPlans(spec: ClusterSpec, dirs: { tlsDir: string; acmeDir: string }, certs: Map<string, CertificatePlan>): ServerPlan[] {
  // The first domain answers unknown names and the L4's health checks unless one is marked.
  const explicitDefault = spec.domains.some((d) => d.default);
  return spec.domains.map((d, i) => {
    const cert = d.certificate !== undefined ? certs.get(d.certificate) : undefined;
    return {
      domain: d.id,
      serverNames: d.serverNames,
      notFoundStatus: d.notFoundStatus,
      default: explicitDefault ? d.default : i === 0,
      ...(cert && { tls: tlsFiles(cert, dirs) }),
    };
  });
}

/**
 * Supplied and self-signed certificates are uploaded into the master's TLS directory, key and
 * chain apart. An acme certificate changes outside Pulumi: the master reads one bundle (key
 * then chain, which nginx accepts for both directives) from the host's acme volume, so a
 * renewal swaps both at once with a single rename.
 */
function tlsFiles(cert: CertificatePlan, dirs: { tlsDir: string; acmeDir: string }): TlsFiles {
  if (cert.mode === "acme") {
    const bundle = `${dirs.acmeDir}/live/${cert.id}.pem`;
    return { certificate: cert.id, certPath: bundle, keyPath: bundle };
  }
  return { certificate: cert.id, certPath: `${dirs.tlsDir}/${cert.certFile}`, keyPath: `${dirs.tlsDir}/${cert.keyFile}` };
}
