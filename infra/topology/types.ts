// The plan's shape: what `planCluster` returns, what renderers and components read, and
// what `npm run render` writes as plan.json. Types only.
import type { Balance, CacheConfig, CertificateSpec, ClusterSpec, NginxTuning, Vip } from "../config.js";
import type { OpsConfig } from "../../resizer/src/ops/config.js";
import type { Target } from "./placement.js";

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
   * The longest the master leaves a failed member out before trying it again: the largest
   * of the members' `retryPauseMs`. A rolling replacement in containers waits this long
   * after a member is back before taking down the next one.
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

/** What an nginx instance gives its host's ops agent (topology/ops.ts, infra/nginx/observability.ts). */
export interface NginxOps {
  /** The private stub_status listener (never published); only `agent` may ask it. */
  status: Listen;
  /** The ops agent's address as this instance sees it. */
  agent: string;
  /** Where the JSON access log also goes, as syslog over UDP. */
  syslog: Listen;
  /** The syslog tag: the instance's role (`master`, `slave01`). */
  tag: string;
}

/** A host's ops agent: metrics of master, slaves and resizers on one private listener. */
export interface OpsPlan {
  role: "ops";
  name: string;
  /** Fixed address on the host's container network (container target only). */
  ip?: string;
  /** Where the agent listens: HTTP for Prometheus, UDP for the access logs (same port). */
  listen: Listen;
  /** The host port the listener is published on, the host's own address (container target only). */
  publish?: { address: string; port: number };
  /** Monitoring networks the listener answers (plus loopback). */
  allow: string[];
  memoryMb: number;
  /** The agent's whole configuration (its container gets it as OPS_CONFIG, `toOpsEnv`). */
  config: OpsConfig;
  /** What the listener serves: the host's nginx metrics, and one path per resizer replica. */
  paths: { metrics: string; resizers: { role: string; name: string; path: string }[] };
  /** The host's acme volume, mounted read-only for the renewers' results (ACME issuer only). */
  acmeDir?: string;
  /** The process's own directory (local target only). */
  workDir?: string;
}

/** The master's nginx tuning: the host's, without the slaves' instance settings; resizeLimits decided. */
export type MasterTuning = Omit<NginxTuning, "slave" | "resizeLimits"> & { resizeLimits: ResizeLimits };

/** nginx.resizeLimits with `enabled` decided for the masters (config.ts `resizeLimitsEnabled`). */
export type ResizeLimits = Omit<NginxTuning["resizeLimits"], "enabled"> & { enabled: boolean };

/** A slave's nginx tuning: the host's, without the master's instance settings, proxy timeouts and client limits. */
export type SlaveTuning = Omit<NginxTuning, "master" | "proxy" | "resizeLimits">;

/**
 * How long the master leaves this instance out after a failed request before trying it
 * again (its `fail_timeout`, nginx's 10s when unset; 0 when it counts no failures): after
 * reloading or replacing it, wait this long before taking down its next peer.
 */
type RetryPause = { retryPauseMs: number };

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
  tuning: MasterTuning;
  cache: CacheConfig & { zone: string };
  slaves: UpstreamPlan;
  resizers: UpstreamPlan;
  /** The legacy TimThumb script paths (the resizer's `legacyPaths`): a location each. */
  legacyPaths: string[];
  servers: ServerPlan[];
  /**
   * Where this master sends http-01 challenge requests it has no file for: the ACME
   * issuer's master (the L4 may send the validation request to any host). Unset on the
   * issuer itself and without http-01 certificates.
   */
  acmeFallback?: { address: string; port: number };
  /** See `writableDirs`. */
  writableDirs: string[];
  ops: NginxOps;
}

export interface SlavePlan extends RetryPause {
  role: "slave";
  name: string;
  ip?: string;
  index: number;
  file: string;
  listen: Listen;
  paths: NginxPaths;
  tuning: SlaveTuning;
  /**
   * Directories that must exist, writable by nginx's (unprivileged) user, before it starts:
   * the parent of the temp directories and pid, the cache, the directories of file logs.
   * nginx creates only the leaves below them (temp subdirectories, cache levels). In a
   * container these are the tmpfs and volume mounts; locally, directories to create.
   */
  writableDirs: string[];
  ops: NginxOps;
}

export interface ResizerPlan extends RetryPause {
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
  /** The replica's own directory: temp files and its output (local target only). */
  workDir?: string;
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
  /** The host's ops agent (metrics). */
  ops: OpsPlan;
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
  mode: CertificateSpec["mode"];
  /** Subject alternative names: every server name of the domains using it. */
  names: string[];
  /** Certificate and key file names inside the master's TLS directory. */
  certFile: string;
  keyFile: string;
}

export interface VipPlan {
  mode: Vip["mode"];
  address: string;
  algorithm: Vip["algorithm"];
  healthCheck: Vip["healthCheck"] & { path: string; expectStatus: number; ports: number[] };
  members: { host: string; address: string; ports: number[] }[];
  /** `mode: haproxy`: the software L4 that serves this plan. */
  haproxy?: HaproxyPlan;
}

/** One port of the VIP: a HAProxy frontend and its backend of the hosts' masters. */
export interface VipServicePlan {
  /** Names the frontend and backend (`http`, `https`). */
  name: "http" | "https";
  /** The VIP's port: the stack's, as clients use it. */
  port: number;
  /**
   * `http` for plain HTTP: HAProxy sees each request, balances and retries per request;
   * `tcp` for HTTPS: TLS ends at the masters (as behind the hardware L4), connections are
   * balanced and retried only while connecting.
   */
  mode: "http" | "tcp";
  /** The health check speaks TLS (GET /healthz over HTTPS, as the L4 asks on 443). */
  checkTls: boolean;
  /** Where HAProxy reaches each host's master for this port. */
  members: { host: string; address: string; port: number }[];
}

/** HAProxy's timeouts in ms (see topology/vip.ts for where each comes from). */
export interface HaproxyTimeouts {
  connectMs: number;
  clientMs: number;
  serverMs: number;
  httpRequestMs: number;
  httpKeepAliveMs: number;
  checkMs: number;
  /** How long old processes may finish their connections after a reload or a stop. */
  hardStopMs: number;
}

export interface HaproxyPlan {
  services: VipServicePlan[];
  timeouts: HaproxyTimeouts;
  /** Further attempts after a failed one, each on another member (`option redispatch`). */
  retries: number;
  /** Networks allowed on the stats port besides each L4 host itself. */
  statsAllow: string[];
  vrrp: NonNullable<Vip["haproxy"]>["vrrp"];
  /** The L4 hosts in priority order: the first holds the VIP while it is healthy. */
  hosts: VipHostPlan[];
}

/** One L4 host: its HAProxy and the keepalived that holds the VIP while that HAProxy serves. */
export interface VipHostPlan {
  name: string;
  address: string;
  docker: string;
  sshOpts?: string[];
  /** Where keepalived adds the VIP and sends VRRP. */
  interface: string;
  /** VRRP priority: higher wins the election. */
  priority: number;
  /** Unicast VRRP peers (the other L4 hosts); empty: multicast. */
  peers: string[];
  /** The HAProxy container's network (container target only). */
  network?: NetworkPlan;
  haproxy: {
    name: string;
    file: string;
    /** Each service's listener (the VIP ports inside the container, or locally). */
    listen: { service: VipServicePlan["name"]; listen: Listen }[];
    /** Stats, metrics and liveness: the private ops side. */
    stats: Listen;
    /** Host ports (container target): the VIP ports on every address, stats on the host's own. */
    publish?: { service: VipServicePlan["name"] | "stats"; address: string; port: number; internal: number }[];
    /** Network namespace the frontends bind in (local target: a failover test's). */
    namespace?: string;
    memoryMb: number;
    /** Open files (the container's `nofile`): as many as a master may hold, two per proxied connection. */
    nofile: number;
    paths: {
      config: string;
      /** Writable: the admin socket, the server-state file kept across reloads. */
      runDir: string;
      socket: string;
      stateFile: string;
    };
  };
  keepalived: {
    name: string;
    file: string;
    /** Network namespace keepalived runs in (local target: a failover test's). */
    namespace?: string;
    paths: { config: string; runDir: string; pidFile: string; vrrpPidFile: string };
    /** keepalived gives up the VIP while this answers anything but 200: its HAProxy's liveness. */
    check: Listen & { path: string };
  };
}

export interface ClusterPlan {
  target: Target["kind"];
  rollout: ClusterSpec["rollout"];
  /** How Prometheus watches the cluster (infra/monitoring). */
  monitoring: ClusterSpec["monitoring"];
  images: ClusterSpec["images"];
  hosts: HostPlan[];
  certificates: CertificatePlan[];
  /** ACME issuance and renewal (acme certificates only). */
  acme?: AcmePlan;
  vip?: VipPlan;
}
