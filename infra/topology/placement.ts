// Where a plan runs, and every decision that differs between running in containers and
// running as local processes: addresses, ports, paths, what is published on the host, how
// other hosts are reached. The planners (host.ts, acme.ts) ask a `Placement` and never
// look at the target themselves. Pure.
import { intToIpv4, ipv4ToInt } from "../address.js";
import type { ClusterSpec, Host, Vip } from "../config.js";
import { hostImagesDir } from "./hostConfig.js";
import type { Listen, MasterPlan, NginxPaths, VipHostPlan, VipServicePlan } from "./types.js";

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
  /**
   * Remap a port of the stack to the port used locally on `host` (an image or L4 host's
   * name; default: unchanged).
   */
  port?: (stackPort: number, host: string) => number;
  /** Where the VIP is reached locally (default: the stack's `vip.address`). */
  vipAddress?: string;
  /**
   * The network namespace an L4 host's HAProxy frontends and keepalived live in (a failover
   * test's own; default: none, the launcher's). The VIP moves between them.
   */
  vipNamespace?: (l4Host: string) => string | undefined;
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
  /** An L4 host's HAProxy: unprivileged, so high ports inside; the host publishes the VIP's. */
  haproxy: {
    ports: { http: 8080, https: 8443, stats: 8404 },
    config: "/etc/image-origin/haproxy.cfg",
    /** A tmpfs: the admin socket and the server state kept across reloads. */
    runDir: "/tmp/haproxy",
  },
  keepalived: {
    config: "/etc/image-origin/keepalived.conf",
    /** A tmpfs: keepalived's pid files. */
    runDir: "/run/keepalived",
    /**
     * keepalived's exception to the cluster's hardening (the policy pack names it): the VIP
     * is an address on the L4 host's own interface, and VRRP a raw IP protocol. Adding and
     * removing an address needs CAP_NET_ADMIN in the host's network namespace; VRRP and
     * gratuitous ARP need CAP_NET_RAW. Docker gives a non-root process no capabilities, so it
     * runs as root with these two and nothing else, on a read-only root.
     */
    privileges: { networkMode: "host", user: "0:0", capAdd: ["NET_ADMIN", "NET_RAW"] },
  },
  /** Logs go to the container's stdout/stderr; the Docker log driver rotates them. */
  accessLog: "/dev/stdout",
  errorLog: "/dev/stderr",
  bindAll: "0.0.0.0",
} as const;

/**
 * What a host answers to the L4's health check: every master renders it, the rollout gate
 * and the VIP registration block ask it. 200 while the host can serve (see infra/nginx).

/**
 * Fixed offsets in the host's container subnet, so adding a slave never moves a resizer
 * (an address change replaces the container). A /25 holds the largest layout
 * (16 slaves, 32 resizers); the schema requires at least that.
 */
export const ADDRESS_OFFSET = { gateway: 1, master: 2, ops: 3, slave: 10, resizer: 40 } as const;

/** The address at `offset` in a subnet (`10.213.0.0/24`, 2 -> `10.213.0.2`). */
export function networkAddress(subnet: string, offset: number): string {
  const [net = ""] = subnet.split("/");
  return intToIpv4(ipv4ToInt(net) + offset);
}

/** One host's view of the target: everything host-specific that differs between container and local. */
export interface Placement {
  /** Address every instance of the host binds. */
  bind: string;
  /** Fixed container address of an instance at an offset (container target only). */
  ip: (offset: number) => string | undefined;
  /** Address a peer on this host uses to reach an instance at an offset. */
  peer: (offset: number) => string;
  /** The port an instance listens on for a port of the stack. */
  port: (stackPort: number) => number;
  /** The address another host knows `host` by (and sees its connections come from). */
  addressOf: (host: Host) => string;
  /** Where another host reaches `host`'s port `stackPort` (a published port in containers). */
  reach: (host: Host, stackPort: number) => { address: string; port: number };
  /** The host port an instance's `stackPort` is published on (container target only). */
  publish: (stackPort: number) => { address: string; port: number } | undefined;
  /** The master's listeners, and in containers the host ports they are published on. */
  masterListeners: (https: boolean) => Pick<MasterPlan, "http" | "https" | "publish">;
  /** Where master, slaves and resizers see the images tree. */
  imagesRoot: string;
  /** An nginx instance's files; `instance` is its role (`master`, `slave01`). */
  nginxPaths: (instance: string) => NginxPaths;
  /** The master's cache, ACME volume and TLS directories. */
  masterDirs: { cacheDir: string; acmeDir: string; acmeWebroot: string; tlsDir: string };
  /** A process's own directory (local target only; containers have their tmpfs). */
  workDir: (instance: string) => string | undefined;
  /** Scratch directory of an ACME container (a tmpfs in containers). */
  acmeRunDir: (container: string) => string;
  /** Where a helper nginx (the ACME publisher) writes its access log. */
  accessLog: (runDir: string) => string;
  /**
   * How the sync agent reaches the master and the issuer: in containers it shares the
   * master's PID namespace (nginx is PID 1) and connects from the host's address after
   * Docker's NAT; locally it reads the master's pid file and binds the host's own address.
   */
  syncAgent: (masterPidFile: string, follower: boolean) => { masterPidFile?: string; sourceAddress?: string };
}

function localBind(target: LocalTarget, host: string): string {
  const bind = target.bindAddress;
  return typeof bind === "function" ? bind(host) : (bind ?? "127.0.0.1");
}

/** `host`'s placement under `target`. */
export function placement(target: Target, spec: ClusterSpec, host: Host): Placement {
  const subnet = spec.network.subnet;
  if (target.kind === "container") {
    return {
      bind: CONTAINER.bindAll,
      ip: (offset) => networkAddress(subnet, offset),
      peer: (offset) => networkAddress(subnet, offset),
      port: (p) => p,
      addressOf: (h) => h.address,
      reach: (h, p) => ({ address: h.address, port: p }),
      publish: (p) => ({ address: host.address, port: p }),
      // Unprivileged inside, so high ports there; the host publishes the stack's ports.
      masterListeners: (https) => ({
        http: { address: CONTAINER.bindAll, port: CONTAINER.masterHttpPort },
        ...(https && { https: { address: CONTAINER.bindAll, port: CONTAINER.masterHttpsPort } }),
        publish: { http: spec.master.httpPort, ...(https && { https: spec.master.httpsPort }) },
      }),
      imagesRoot: CONTAINER.imagesRoot,
      nginxPaths: () => ({
        config: CONTAINER.nginxConfig,
        mimeTypes: CONTAINER.mimeTypes,
        pid: `${CONTAINER.runDir}/nginx.pid`,
        tempDir: CONTAINER.runDir,
        accessLog: CONTAINER.accessLog,
        errorLog: CONTAINER.errorLog,
        htmlDir: CONTAINER.htmlDir,
        imagesRoot: CONTAINER.imagesRoot,
      }),
      masterDirs: { cacheDir: CONTAINER.cacheDir, acmeDir: CONTAINER.acmeDir, acmeWebroot: CONTAINER.acmeWebroot, tlsDir: CONTAINER.tlsDir },
      workDir: () => undefined,
      acmeRunDir: () => CONTAINER.acmeRunDir,
      accessLog: () => CONTAINER.accessLog,
      syncAgent: () => ({}),
    };
  }
  const bind = localBind(target, host.name);
  const localPort = target.port ?? ((p: number) => p);
  const port = (p: number) => localPort(p, host.name);
  const base = `${target.root.replace(/\/+$/, "")}/${host.name}`;
  const imagesRoot = target.imagesDir ?? hostImagesDir(spec, host);
  const addressOf = (h: Host) => localBind(target, h.name);
  return {
    bind,
    ip: () => undefined,
    peer: () => bind,
    port,
    addressOf,
    reach: (h, p) => ({ address: addressOf(h), port: localPort(p, h.name) }),
    publish: () => undefined,
    masterListeners: (https) => ({
      http: { address: bind, port: port(spec.master.httpPort) },
      ...(https && { https: { address: bind, port: port(spec.master.httpsPort) } }),
    }),
    imagesRoot,
    nginxPaths: (instance) => {
      const dir = `${base}/${instance}`;
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
    masterDirs: { cacheDir: `${base}/master/cache`, acmeDir: `${base}/acme`, acmeWebroot: `${base}/acme/webroot`, tlsDir: `${base}/tls` },
    workDir: (instance) => `${base}/${instance}`,
    acmeRunDir: (container) => `${base}/run/${container}`,
    accessLog: (runDir) => `${runDir}/access.log`,
    syncAgent: (masterPidFile, follower) => ({ masterPidFile, ...(follower && { sourceAddress: bind }) }),
  };
}


// ---------------------------------------------------------------------------------------
// L4 hosts (`vip.mode: haproxy`)

type L4Host = NonNullable<Vip["haproxy"]>["hosts"][number];

/** One L4 host's view of the target: where its HAProxy listens and its files live. */
export interface VipPlacement {
  /** Where the frontend of a VIP port listens. */
  frontend: (service: VipServicePlan) => Listen;
  stats: Listen;
  /** Host ports the HAProxy container publishes (container target only). */
  publish: (services: VipServicePlan[], statsPort: number) => NonNullable<VipHostPlan["haproxy"]["publish"]> | undefined;
  namespace?: string;
  /** The HAProxy container's own network (container target only). */
  containerNetwork: boolean;
  haproxyPaths: VipHostPlan["haproxy"]["paths"];
  keepalivedPaths: VipHostPlan["keepalived"]["paths"];
  /** How keepalived reaches its HAProxy's liveness (the host's own stats address). */
  check: Listen;
}

export function vipPlacement(target: Target, spec: ClusterSpec, host: L4Host, statsPort: number): VipPlacement {
  if (target.kind === "container") {
    const ports = CONTAINER.haproxy.ports;
    const run = CONTAINER.haproxy.runDir;
    const kaRun = CONTAINER.keepalived.runDir;
    return {
      frontend: (service) => ({ address: CONTAINER.bindAll, port: ports[service.name] }),
      stats: { address: CONTAINER.bindAll, port: ports.stats },
      // The VIP moves between the L4 hosts, and Docker cannot publish on an address its host
      // does not hold (yet): the VIP ports on every address; stats on the host's own only.
      publish: (services, stats) => [
        ...services.map((s) => ({ service: s.name, address: CONTAINER.bindAll, port: s.port, internal: ports[s.name] })),
        { service: "stats" as const, address: host.address, port: stats, internal: ports.stats },
      ],
      containerNetwork: true,
      haproxyPaths: { config: CONTAINER.haproxy.config, runDir: run, socket: `${run}/admin.sock`, stateFile: `${run}/server-state` },
      keepalivedPaths: { config: CONTAINER.keepalived.config, runDir: kaRun, pidFile: `${kaRun}/keepalived.pid`, vrrpPidFile: `${kaRun}/vrrp.pid` },
      check: { address: host.address, port: statsPort },
    };
  }
  const bind = localBind(target, host.name);
  const port = (p: number) => (target.port ?? ((q: number) => q))(p, host.name);
  const vip = target.vipAddress ?? spec.vip?.address ?? bind;
  const base = `${target.root.replace(/\/+$/, "")}/${host.name}`;
  const stats = { address: bind, port: port(statsPort) };
  const namespace = target.vipNamespace?.(host.name);
  return {
    // In a namespace of its own (a failover rig) HAProxy listens on every address there, as
    // in its container: the VIP comes and goes with keepalived.
    frontend: (service) => ({ address: namespace !== undefined ? CONTAINER.bindAll : vip, port: port(service.port) }),
    stats,
    publish: () => undefined,
    ...(namespace !== undefined && { namespace }),
    containerNetwork: false,
    haproxyPaths: { config: `${base}/haproxy/haproxy.cfg`, runDir: `${base}/haproxy/run`, socket: `${base}/haproxy/run/admin.sock`, stateFile: `${base}/haproxy/run/server-state` },
    keepalivedPaths: {
      config: `${base}/keepalived/keepalived.conf`,
      runDir: `${base}/keepalived/run`,
      pidFile: `${base}/keepalived/run/keepalived.pid`,
      vrrpPidFile: `${base}/keepalived/run/vrrp.pid`,
    },
    check: stats,
  };
}
