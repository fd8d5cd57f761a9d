// ClusterSpec + deployment target -> one plan per host: every container name, port,
// upstream member and path is derived here once; renderers and resources only read it.
// Pure: no Pulumi, no I/O.
import { KEEP_ALIVE_TIMEOUT_MS, serviceSchema, toEnv, type ServiceSettings } from "../resizer/src/settings.js";
import { intToIpv4, ipv4ToInt, urlHost } from "./address.js";
import { timeMs } from "./units.js";
import { TLS_SYNC_PORT, type Balance, type CacheConfig, type Certificate, type ClusterSpec, type Host, type NginxTuning, type Slave, type Vip } from "./config.js";

// ---------------------------------------------------------------------------------------
// Deployment targets

/**
 * Where the plan runs. `container`: one Docker network per host, peers reached by
 * container name, files at fixed paths inside the images. `local`: plain processes on a
 * loopback address, every path rebased under `root` (tests and `npm start`).
 */
export type Target = ContainerTarget | LocalTarget;

export interface ContainerTarget {
  kind: "container";
}

export interface LocalTarget {
  kind: "local";
  /** Work directory holding every config, pid, temp, log, cache and certificate file. */
  root: string;
  /** The images tree to serve (default: the host's configured `imagesDir`). */
  imagesDir?: string;
  /**
   * Loopback address everything binds to and connects to (default 127.0.0.1); per host
   * when a function, so several hosts can run side by side (127.0.0.1, 127.0.0.2, ...).
   */
  bindAddress?: string | ((host: string) => string);
  /** Remap a port of the stack to the port used locally (default: unchanged). */
  port?: (stackPort: number) => number;
  /** nginx's mime.types (default /etc/nginx/mime.types, as in Debian and the nginx image). */
  mimeTypes?: string;
}

/** Fixed facts of the container layout; the Pulumi program mounts and publishes by these. */
export const CONTAINER = {
  /** The master runs unprivileged: it listens on high ports, the host publishes 80/443. */
  masterHttpPort: 8080,
  masterHttpsPort: 8443,
  /**
   * Every rendered file of an nginx instance lives under this directory: a volume the
   * instance mounts read-only, filled by a one-shot container (a read-only root cannot
   * receive `uploads`, which the provider always copies to `/`).
   */
  configDir: "/etc/image-origin",
  /** Where the one-shot receives the files before installing them into `configDir`. */
  stagingDir: "/staging",
  /** Where the one-shot mounts the files volume (its own `configDir` is for the check). */
  installVolumeDir: "/volume",
  nginxConfig: "/etc/image-origin/nginx.conf",
  mimeTypes: "/etc/nginx/mime.types",
  /** Static pages the renderer writes (error pages) next to the config. */
  htmlDir: "/etc/image-origin/html",
  tlsDir: "/etc/image-origin/tls",
  imagesRoot: "/images",
  cacheDir: "/var/cache/nginx/resize",
  /**
   * Mount point of a host's ACME volume (acme certificates only): the http-01 webroot, the
   * certificate bundles the master reads, and on the issuer certbot's own state.
   */
  acmeDir: "/var/lib/image-origin/acme",
  acmeWebroot: "/var/lib/image-origin/acme/webroot",
  /** tmpfs of the ACME containers (scripts, credentials, scratch). */
  acmeRunDir: "/tmp/acme",
  /** The only writable path of a read-only container (a tmpfs). */
  runDir: "/tmp/nginx",
  /** Logs go to the container's stdout/stderr; the Docker log driver rotates them. */
  accessLog: "/dev/stdout",
  errorLog: "/dev/stderr",
  bindAll: "0.0.0.0",
} as const;

/**
 * What a host answers to the L4's health check: every master renders it, the rollout gate
 * and the VIP registration block ask it. 200 while the host can serve (see infra/nginx).
 */
export const HEALTH = { path: "/healthz", status: 200 } as const;

/** Names nginx configs refer to; defined once so a reference cannot drift from its block. */
export const NGINX_NAMES = {
  slavesUpstream: "image_slaves",
  resizersUpstream: "image_resizers",
  cacheZone: "resize_cache",
  /** Shared TLS session cache of the master (shared-memory names must not collide). */
  tlsSessionCache: "tls_sessions",
  logFormat: "main",
} as const;

// ---------------------------------------------------------------------------------------
// The plan

export interface NginxPaths {
  /** Where the rendered config goes. */
  config: string;
  mimeTypes: string;
  pid: string;
  /** Parent of client_body/proxy/fastcgi/uwsgi/scgi temp directories. */
  tempDir: string;
  accessLog: string;
  errorLog: string;
  htmlDir: string;
  imagesRoot: string;
}

export interface Listen {
  address: string;
  port: number;
}

export interface UpstreamMember {
  host: string;
  port: number;
  weight?: number;
  maxFails?: number;
  failTimeout?: string;
  maxConns?: number;
  backup: boolean;
  down: boolean;
}

export interface UpstreamPlan {
  name: string;
  balance: Balance;
  keepalive: number;
  /** How long the members keep an idle connection open (the master must drop it sooner). */
  memberKeepAliveMs: number;
  /**
   * The longest the master leaves a failed member out before trying it again
   * (`fail_timeout`; 0 when no member counts failures). A rolling replacement waits this
   * long after a member is back before taking down the next one.
   */
  memberRetryMs: number;
  members: UpstreamMember[];
}

export interface TlsFiles {
  certificate: string;
  certPath: string;
  keyPath: string;
}

export interface ServerPlan {
  domain: string;
  serverNames: string[];
  notFoundStatus: number;
  default: boolean;
  tls?: TlsFiles;
}

export interface MasterPlan {
  role: "master";
  name: string;
  /** Fixed address on the host's container network (container target only). */
  ip?: string;
  /** Rendered file name in `npm run render` output and in plan.json. */
  file: string;
  http: Listen;
  https?: Listen;
  /** Host ports the container publishes (container target only). */
  publish?: { http: number; https?: number };
  paths: NginxPaths & {
    cacheDir: string;
    /** The host's ACME volume (see `HostPlan.acme`); the webroot lies inside it. */
    acmeDir: string;
    acmeWebroot: string;
    tlsDir: string;
    /** While this file exists /healthz answers 503 and the L4 drains the host. */
    drainFile: string;
  };
  tuning: NginxTuning;
  cache: CacheConfig & { zone: string };
  slaves: UpstreamPlan;
  resizers: UpstreamPlan;
  servers: ServerPlan[];
  /**
   * Where this master sends http-01 challenge requests it has no file for: the ACME
   * issuer's master (the L4 may send the validation request to any host). Unset on the
   * issuer itself and without http-01 certificates.
   */
  acmeFallback?: { address: string; port: number };
  /** See `writableDirs`. */
  writableDirs: string[];
}

export interface SlavePlan {
  role: "slave";
  name: string;
  ip?: string;
  index: number;
  file: string;
  listen: Listen;
  paths: NginxPaths;
  tuning: NginxTuning;
  /**
   * Directories that must exist, writable by nginx's (unprivileged) user, before it starts:
   * the parent of the temp directories and pid, the cache, the directories of file logs.
   * nginx creates only the leaves below them (temp subdirectories, cache levels). In a
   * container these are the tmpfs and volume mounts; locally, directories to create.
   */
  writableDirs: string[];
}

export interface ResizerPlan {
  role: "resizer";
  name: string;
  ip?: string;
  index: number;
  listen: Listen;
  memoryMb: number;
  cpus: number;
  /** The process's whole configuration (RESIZER_*, and the libuv pool sharp runs on). */
  env: Record<string, string>;
  /** Time a stop may take: the resizer drains in-flight transforms (up to its timeout). */
  stopGraceSeconds: number;
}

export interface NetworkPlan {
  name: string;
  subnet: string;
  gateway: string;
}

export interface HostPlan {
  name: string;
  address: string;
  docker: string;
  sshOpts?: string[];
  /** The images tree on the host (bind source for master, slaves, resizers). */
  imagesDir: string;
  network: NetworkPlan;
  volumes: { cache: string; acme?: string };
  master: MasterPlan;
  slaves: SlavePlan[];
  resizers: ResizerPlan[];
  /** The containers that keep this host's acme certificates current (acme certificates only). */
  acme?: HostAcmePlan;
}

/** Where a host's sync agent takes a certificate bundle from. */
export type BundleSource =
  /** The issuer: the bundle its own certbot published into the shared volume. */
  | { kind: "file"; path: string }
  /** The other hosts: the issuer's publisher, over mutual TLS. */
  | { kind: "url"; url: string };

export interface HostAcmePlan {
  role: "issuer" | "follower";
  /** Mount point of the host's acme volume in every container that uses it. */
  dir: string;
  webroot: string;
  /** Bundles (key + chain in one file, swapped atomically) the master reads: `<id>.pem`. */
  liveDir: string;
  /** The issuer's published bundles, `<id>.pem` (what the sync agents install). */
  outboxDir: string;
  /** certbot's config, work and logs directories, per certificate (issuer). */
  certbotDir: string;
  /** One status file per certificate: the renewer's last result (issuer). */
  statusDir: string;
  /** One-shot before the master: volume layout and a bootstrap certificate (certbot image, for openssl). */
  init: { name: string; runDir: string };
  /**
   * Installs new bundles into `liveDir` and reloads the master gracefully; shares the
   * master's PID namespace in containers (the nginx master is PID 1 there).
   */
  sync: {
    name: string;
    runDir: string;
    intervalSeconds: number;
    /** The master's pid file when the master is not PID 1 of the agent's namespace (local target). */
    masterPidFile?: string;
    /**
     * Source address for fetching from the issuer (local target: the host's own loopback
     * address; in containers the kernel's choice, the host's address after Docker's NAT).
     */
    sourceAddress?: string;
    sources: { id: string; from: BundleSource }[];
  };
  /** Issuer: one renewer per acme certificate. */
  renewers: { id: string; name: string; runDir: string }[];
  /** Issuer with followers: serves `outboxDir` to the other hosts over mutual TLS. */
  publisher?: {
    name: string;
    listen: Listen;
    /** Host port (container target). */
    publish?: { address: string; port: number };
    /** The other hosts' addresses: nginx refuses anyone else before TLS client auth. */
    allow: string[];
    runDir: string;
    /** Who fetched what (stdout in containers). */
    accessLog: string;
  };
}

export interface AcmeCertificatePlan {
  id: string;
  names: string[];
  email: string;
  /** ACME directory URL: Let's Encrypt (production or staging) or the configured server. */
  server: string;
  challenge: "http-01" | "dns-01";
  dnsPlugin?: string;
  renewBeforeDays: number;
  /** The renewer's image: certbot, or certbot's image with the DNS plugin. */
  image: string;
}

export interface AcmePlan {
  /** The one host that talks to the ACME server, for every acme certificate (the first host). */
  issuer: string;
  certificates: AcmeCertificatePlan[];
  /** certbot's image (the bootstrap one-shot uses its openssl). */
  image: string;
  /** Every image the acme containers of any host may run. */
  images: string[];
}

export interface CertificatePlan {
  id: string;
  mode: Certificate["mode"];
  /** Subject alternative names: every server name of the domains using it. */
  names: string[];
  /** Certificate and key file names inside the master's TLS directory. */
  certFile: string;
  keyFile: string;
}

export interface VipPlan {
  address: string;
  algorithm: Vip["algorithm"];
  healthCheck: Vip["healthCheck"] & { path: string; expectStatus: number; ports: number[] };
  members: { host: string; address: string; ports: number[] }[];
}

export interface ClusterPlan {
  target: Target["kind"];
  rollout: ClusterSpec["rollout"];
  images: ClusterSpec["images"];
  hosts: HostPlan[];
  certificates: CertificatePlan[];
  /** ACME issuance and renewal (acme certificates only). */
  acme?: AcmePlan;
  vip?: VipPlan;
}

// ---------------------------------------------------------------------------------------
// Derivations

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * Fixed offsets in the host's container subnet, so adding a slave never moves a resizer
 * (an address change replaces the container). A /25 holds the largest layout
 * (16 slaves, 32 resizers); the schema requires at least that.
 */
const ADDRESS_OFFSET = { gateway: 1, master: 2, slave: 10, resizer: 40 } as const;

function networkAddress(subnet: string, offset: number): string {
  const [net = ""] = subnet.split("/");
  return intToIpv4(ipv4ToInt(net) + offset);
}

export const instanceName = {
  master: (host: string) => `${host}-master`,
  slave: (host: string, index: number) => `${host}-slave${pad2(index)}`,
  resizer: (host: string, index: number) => `${host}-resizer${pad2(index)}`,
  acmeInit: (host: string) => `${host}-acme-init`,
  tlsSync: (host: string) => `${host}-tls-sync`,
  tlsPublish: (host: string) => `${host}-tls-publish`,
  renewer: (host: string, certificate: string) => `${host}-certbot-${certificate}`,
} as const;

/** Let's Encrypt's ACME directories. */
export const LETS_ENCRYPT = {
  production: "https://acme-v02.api.letsencrypt.org/directory",
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** certbot's image for a DNS plugin: same registry and tag, repository dns-<plugin>. */
export function certbotPluginImage(certbot: string, plugin: string): string {
  const match = /^(.*\/)?[^/:@]+((?::[^/@]+)?(?:@sha256:[a-f0-9]+)?)$/.exec(certbot);
  if (!match) throw new Error(`not an image reference: ${certbot}`);
  return `${match[1] ?? ""}dns-${plugin}${match[2] ?? ""}`;
}

/** How often a host's sync agent looks for a new bundle. */
export const TLS_SYNC_INTERVAL_SECONDS = 60;

/** Per-host nginx tuning: the cluster's, with the host's overrides merged key by key. */
export function hostTuning(spec: ClusterSpec, host: Host): NginxTuning {
  const o = host.nginx;
  return {
    ...spec.nginx,
    ...(o?.keepaliveTimeout !== undefined && { keepaliveTimeout: o.keepaliveTimeout }),
    ...(o?.keepaliveHeaderTimeout !== undefined && { keepaliveHeaderTimeout: o.keepaliveHeaderTimeout }),
    ...(o?.keepaliveRequests !== undefined && { keepaliveRequests: o.keepaliveRequests }),
    master: { ...spec.nginx.master, ...o?.master },
    slave: { ...spec.nginx.slave, ...o?.slave },
  };
}

/** Service settings of the resizer (the part of the config the process reads). */
function resizerService(spec: ClusterSpec): ServiceSettings {
  const keys = Object.keys(serviceSchema.shape) as (keyof ServiceSettings)[];
  return Object.fromEntries(keys.map((k) => [k, spec.resizer[k]])) as ServiceSettings;
}

/** What nginx assumes for a member that sets no `max_fails` / `fail_timeout`. */
const NGINX_MEMBER_DEFAULTS = { maxFails: 1, failTimeout: "10s" } as const;

function memberRetryMs(members: UpstreamMember[]): number {
  const outFor = (m: UpstreamMember) => ((m.maxFails ?? NGINX_MEMBER_DEFAULTS.maxFails) === 0 ? 0 : timeMs(m.failTimeout ?? NGINX_MEMBER_DEFAULTS.failTimeout));
  return Math.max(0, ...members.map(outFor));
}

function upstream(name: string, balance: Balance, keepalive: number, memberKeepAliveMs: number, members: UpstreamMember[]): UpstreamPlan {
  return { name, balance, keepalive, memberKeepAliveMs, memberRetryMs: memberRetryMs(members), members };
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

/** Names -> the TLS files of the certificate that covers them. */
export function certificateFiles(id: string): { certFile: string; keyFile: string } {
  return { certFile: `${id}.crt`, keyFile: `${id}.key` };
}

/** Everything host-specific that differs between the container and the local target. */
interface Placement {
  bind: string;
  /** Fixed container address of an instance at an offset (container target only). */
  ip: (offset: number) => string | undefined;
  /** Address a peer on this host uses to reach an instance at an offset. */
  peer: (offset: number) => string;
  port: (stackPort: number) => number;
  /** Where master, slaves and resizers see the images tree. */
  imagesRoot: (host: Host, spec: ClusterSpec) => string;
  nginxPaths: (host: string, instance: string, imagesRoot: string) => NginxPaths;
  masterExtra: (host: string) => { cacheDir: string; acmeDir: string; acmeWebroot: string; tlsDir: string };
  /** Scratch directory of an ACME container (a tmpfs in containers). */
  acmeRunDir: (host: string, container: string) => string;
}

function placement(target: Target, subnet: string, host: string): Placement {
  if (target.kind === "container") {
    return {
      bind: CONTAINER.bindAll,
      ip: (offset) => networkAddress(subnet, offset),
      peer: (offset) => networkAddress(subnet, offset),
      port: (p) => p,
      imagesRoot: () => CONTAINER.imagesRoot,
      nginxPaths: (_host, _instance, imagesRoot) => ({
        config: CONTAINER.nginxConfig,
        mimeTypes: CONTAINER.mimeTypes,
        pid: `${CONTAINER.runDir}/nginx.pid`,
        tempDir: CONTAINER.runDir,
        accessLog: CONTAINER.accessLog,
        errorLog: CONTAINER.errorLog,
        htmlDir: CONTAINER.htmlDir,
        imagesRoot,
      }),
      masterExtra: () => ({ cacheDir: CONTAINER.cacheDir, acmeDir: CONTAINER.acmeDir, acmeWebroot: CONTAINER.acmeWebroot, tlsDir: CONTAINER.tlsDir }),
      acmeRunDir: () => CONTAINER.acmeRunDir,
    };
  }
  const bind = localBind(target, host);
  const base = (host: string) => `${target.root.replace(/\/+$/, "")}/${host}`;
  return {
    bind,
    ip: () => undefined,
    peer: () => bind,
    port: target.port ?? ((p) => p),
    imagesRoot: (host, spec) => target.imagesDir ?? host.imagesDir ?? spec.imagesDir,
    nginxPaths: (host, instance, imagesRoot) => {
      const dir = `${base(host)}/${instance}`;
      return {
        config: `${dir}/nginx.conf`,
        mimeTypes: target.mimeTypes ?? CONTAINER.mimeTypes,
        pid: `${dir}/run/nginx.pid`,
        tempDir: `${dir}/run`,
        accessLog: `${dir}/logs/access.log`,
        errorLog: `${dir}/logs/error.log`,
        htmlDir: `${dir}/html`,
        imagesRoot,
      };
    },
    masterExtra: (host) => ({
      cacheDir: `${base(host)}/master/cache`,
      acmeDir: `${base(host)}/acme`,
      acmeWebroot: `${base(host)}/acme/webroot`,
      tlsDir: `${base(host)}/tls`,
    }),
    acmeRunDir: (host, container) => `${base(host)}/run/${container}`,
  };
}

function localBind(target: LocalTarget, host: string): string {
  const bind = target.bindAddress;
  return typeof bind === "function" ? bind(host) : (bind ?? "127.0.0.1");
}

function planHost(spec: ClusterSpec, host: Host, target: Target, certs: Map<string, CertificatePlan>, acme: AcmePlan | undefined): HostPlan {
  const place = placement(target, spec.network.subnet, host.name);
  const tuning = hostTuning(spec, host);
  const imagesDir = host.imagesDir ?? spec.imagesDir;
  const imagesRoot = place.imagesRoot(host, spec);
  const pathsFor = (instance: string): NginxPaths => place.nginxPaths(host.name, instance, imagesRoot);

  const slaves: SlavePlan[] = spec.slaves.map((slave, i) => {
    const index = i + 1;
    const ip = place.ip(ADDRESS_OFFSET.slave + index);
    const paths = pathsFor(`slave${pad2(index)}`);
    return {
      role: "slave",
      name: instanceName.slave(host.name, index),
      ...(ip && { ip }),
      index,
      file: `slave${pad2(index)}.conf`,
      listen: { address: place.bind, port: place.port(slave.port) },
      paths,
      tuning,
      writableDirs: writableDirs(paths),
    };
  });

  const replicas = host.resizer?.replicas ?? spec.resizer.replicas;
  const basePort = host.resizer?.basePort ?? spec.resizer.basePort;
  const service = resizerService(spec);
  const resizers: ResizerPlan[] = Array.from({ length: replicas }, (_, i) => {
    const index = i + 1;
    const listen = { address: place.bind, port: place.port(basePort + i) };
    const ip = place.ip(ADDRESS_OFFSET.resizer + index);
    const cpus = host.resizer?.cpus ?? spec.resizer.cpus;
    return {
      role: "resizer",
      name: instanceName.resizer(host.name, index),
      ...(ip && { ip }),
      index,
      listen,
      memoryMb: host.resizer?.memoryMb ?? spec.resizer.memoryMb,
      cpus,
      env: {
        ...toEnv(
          // libvips sizes its thread pool from the host's cores, not the container's CPU limit.
          { ...service, vipsThreads: service.vipsThreads || Math.max(1, Math.ceil(cpus)) },
          { host: listen.address, port: listen.port, root: imagesRoot },
        ),
        // Every transform in flight holds a libuv thread; file I/O needs a couple more.
        UV_THREADPOOL_SIZE: String(Math.max(4, service.concurrency + 2)),
      },
      stopGraceSeconds: Math.max(30, Math.ceil(service.timeoutMs / 1000) + 5),
    };
  });

  const hasTls = spec.domains.some((d) => d.certificate !== undefined);
  const masterName = instanceName.master(host.name);
  const extra = place.masterExtra(host.name);
  const basePaths = pathsFor("master");
  // In the writable run directory (a tmpfs in containers): a restart always comes back undrained.
  const masterPaths = { ...basePaths, ...extra, drainFile: `${basePaths.tempDir}/drain` };
  const container = target.kind === "container";
  const masterIp = place.ip(ADDRESS_OFFSET.master);
  const master: MasterPlan = {
    role: "master",
    name: masterName,
    ...(masterIp && { ip: masterIp }),
    file: "master.conf",
    http: { address: place.bind, port: container ? CONTAINER.masterHttpPort : place.port(spec.master.httpPort) },
    ...(hasTls && {
      https: { address: place.bind, port: container ? CONTAINER.masterHttpsPort : place.port(spec.master.httpsPort) },
    }),
    ...(container && { publish: { http: spec.master.httpPort, ...(hasTls && { https: spec.master.httpsPort }) } }),
    paths: masterPaths,
    tuning,
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
      // Resizes vary in cost; send each to the least busy replica.
      { method: "least_conn" },
      spec.upstream.keepalive,
      KEEP_ALIVE_TIMEOUT_MS,
      resizers.map((r) => ({ host: place.peer(ADDRESS_OFFSET.resizer + r.index), port: r.listen.port, backup: false, down: false })),
    ),
    servers: serverPlans(spec, extra, certs),
    ...(acme && { ...acmeFallback(spec, target, host, acme) }),
    writableDirs: writableDirs(masterPaths, masterPaths.cacheDir),
  };

  const hasAcme = acme !== undefined;
  return {
    name: host.name,
    address: host.address,
    docker: host.docker,
    ...(host.sshOpts !== undefined && { sshOpts: host.sshOpts }),
    imagesDir,
    network: {
      name: `${host.name}-net`,
      subnet: spec.network.subnet,
      gateway: networkAddress(spec.network.subnet, ADDRESS_OFFSET.gateway),
    },
    volumes: { cache: `${host.name}-master-cache`, ...(hasAcme && { acme: `${host.name}-acme` }) },
    master,
    slaves,
    resizers,
    ...(acme && { acme: planHostAcme(spec, target, host, master, acme, place) }),
  };
}

/** A host's place in the cluster from the ACME point of view. */
function issuerOf(spec: ClusterSpec, acme: AcmePlan): Host {
  return spec.hosts.find((h) => h.name === acme.issuer)!;
}

/** Followers send http-01 requests they cannot answer to the issuer's master. */
function acmeFallback(spec: ClusterSpec, target: Target, host: Host, acme: AcmePlan): Pick<MasterPlan, "acmeFallback"> {
  if (host.name === acme.issuer || !acme.certificates.some((c) => c.challenge === "http-01")) return {};
  const issuer = issuerOf(spec, acme);
  if (target.kind === "container") return { acmeFallback: { address: issuer.address, port: spec.master.httpPort } };
  const port = target.port ?? ((p: number) => p);
  return { acmeFallback: { address: localBind(target, issuer.name), port: port(spec.master.httpPort) } };
}

function planHostAcme(spec: ClusterSpec, target: Target, host: Host, master: MasterPlan, acme: AcmePlan, place: Placement): HostAcmePlan {
  const dir = master.paths.acmeDir;
  const outboxDir = `${dir}/outbox`;
  const role = host.name === acme.issuer ? "issuer" : "follower";
  const issuer = issuerOf(spec, acme);
  const followers = spec.hosts.filter((h) => h.name !== acme.issuer);
  const port = target.kind === "local" ? (target.port ?? ((p: number) => p)) : (p: number) => p;
  // Where followers fetch bundles: the issuer's publisher (published on its host address).
  const publishedAt = () =>
    target.kind === "container"
      ? { address: issuer.address, port: TLS_SYNC_PORT }
      : { address: localBind(target, issuer.name), port: port(TLS_SYNC_PORT) };
  const url = (id: string) => {
    const at = publishedAt();
    return `https://${urlHost(at.address)}:${at.port}/${id}.pem`;
  };
  const sources = acme.certificates.map(({ id }) => ({
    id,
    from: role === "issuer" ? ({ kind: "file", path: `${outboxDir}/${id}.pem` } as const) : ({ kind: "url", url: url(id) } as const),
  }));
  const syncName = instanceName.tlsSync(host.name);
  const publishName = instanceName.tlsPublish(host.name);
  return {
    role,
    dir,
    webroot: master.paths.acmeWebroot,
    liveDir: `${dir}/live`,
    outboxDir,
    certbotDir: `${dir}/certbot`,
    statusDir: `${dir}/status`,
    init: { name: instanceName.acmeInit(host.name), runDir: place.acmeRunDir(host.name, instanceName.acmeInit(host.name)) },
    sync: {
      name: syncName,
      runDir: place.acmeRunDir(host.name, syncName),
      intervalSeconds: TLS_SYNC_INTERVAL_SECONDS,
      ...(target.kind === "local" && { masterPidFile: master.paths.pid, ...(role === "follower" && { sourceAddress: place.bind }) }),
      sources,
    },
    renewers:
      role === "issuer"
        ? acme.certificates.map(({ id }) => {
            const name = instanceName.renewer(host.name, id);
            return { id, name, runDir: place.acmeRunDir(host.name, name) };
          })
        : [],
    ...(role === "issuer" &&
      followers.length > 0 && {
        publisher: {
          name: publishName,
          listen: { address: place.bind, port: target.kind === "container" ? TLS_SYNC_PORT : port(TLS_SYNC_PORT) },
          ...(target.kind === "container" && { publish: { address: issuer.address, port: TLS_SYNC_PORT } }),
          allow: followers.map((f) => (target.kind === "container" ? f.address : localBind(target, f.name))),
          runDir: place.acmeRunDir(host.name, publishName),
          accessLog: target.kind === "container" ? CONTAINER.accessLog : `${place.acmeRunDir(host.name, publishName)}/access.log`,
        },
      }),
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

function planAcme(spec: ClusterSpec, certs: Map<string, CertificatePlan>): AcmePlan | undefined {
  const certificates: AcmeCertificatePlan[] = [];
  for (const [id, cert] of Object.entries(spec.certificates)) {
    if (cert.mode !== "acme") continue;
    certificates.push({
      id,
      names: certs.get(id)?.names ?? [],
      email: cert.email,
      server: cert.server ?? (cert.staging ? LETS_ENCRYPT.staging : LETS_ENCRYPT.production),
      challenge: cert.challenge,
      ...(cert.dnsPlugin !== undefined && { dnsPlugin: cert.dnsPlugin }),
      renewBeforeDays: cert.renewBeforeDays,
      image: cert.challenge === "dns-01" && cert.dnsPlugin !== undefined ? certbotPluginImage(spec.images.certbot, cert.dnsPlugin) : spec.images.certbot,
    });
  }
  if (certificates.length === 0) return undefined;
  const images = [...new Set([spec.images.certbot, ...certificates.map((c) => c.image)])];
  return { issuer: spec.hosts[0]!.name, certificates, image: spec.images.certbot, images };
}

function planCertificates(spec: ClusterSpec): Map<string, CertificatePlan> {
  const plans = new Map<string, CertificatePlan>();
  for (const [id, cert] of Object.entries(spec.certificates)) {
    const names = spec.domains.filter((d) => d.certificate === id).flatMap((d) => d.serverNames);
    plans.set(id, { id, mode: cert.mode, names, ...certificateFiles(id) });
  }
  return plans;
}

function planVip(spec: ClusterSpec, hosts: HostPlan[]): VipPlan | undefined {
  if (spec.vip === undefined) return undefined;
  const ports = (h: HostPlan) => [spec.master.httpPort, ...(h.master.https ? [spec.master.httpsPort] : [])];
  return {
    address: spec.vip.address,
    algorithm: spec.vip.algorithm,
    healthCheck: { path: HEALTH.path, expectStatus: HEALTH.status, ...spec.vip.healthCheck, ports: hosts[0] ? ports(hosts[0]) : [] },
    members: hosts.map((h) => ({ host: h.name, address: h.address, ports: ports(h) })),
  };
}

/**
 * Where masters read certificate `id`: the paths every server using it names. The same on
 * every host of a container plan (hosts differ in paths only under the local target).
 */
export function certificatePaths(plan: ClusterPlan, id: string): { certificate: string; key: string } {
  for (const host of plan.hosts) {
    const tls = host.master.servers.find((s) => s.tls?.certificate === id)?.tls;
    if (tls) return { certificate: tls.certPath, key: tls.keyPath };
  }
  throw new Error(`no server uses certificate "${id}"`);
}

/** The whole plan for a validated spec. */
export function planCluster(spec: ClusterSpec, target: Target = { kind: "container" }): ClusterPlan {
  const certificates = planCertificates(spec);
  const acme = planAcme(spec, certificates);
  const hosts = spec.hosts.map((h) => planHost(spec, h, target, certificates, acme));
  const vip = planVip(spec, hosts);
  return {
    target: target.kind,
    rollout: spec.rollout,
    images: spec.images,
    hosts,
    certificates: [...certificates.values()],
    ...(acme && { acme }),
    ...(vip && { vip }),
  };
}
