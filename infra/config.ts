// The whole stack config (`image-origin:*` keys) as one zod schema. Every type in the
// program is inferred from it; nothing is restated by hand. Pure: no Pulumi, no I/O.
//
// Rules nginx would reject (or silently ignore) are errors here, with the reason, so a
// bad value fails `pulumi preview` and `npm run render` before anything is created.
import { z } from "zod";
import { serviceSchema as resizerServiceSchema, settingsProblems as resizerSettingsProblems } from "../resizer/src/settings.js";
import { ipv4ToInt, normaliseIp, prefixMask } from "./address.js";
import { hostResizer } from "./topology/hostConfig.js";
import { sizeBytes } from "./units.js";

export const PROJECT = "image-origin";

// ---------------------------------------------------------------------------------------
// Scalars. Everything that reaches an nginx config is constrained to characters that
// cannot break out of a directive (no spaces, quotes, ';', '{', '}', '$', newlines).

/** Host names become container, volume and network names: keep them DNS-label-like. */
const hostName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/, "2-24 characters: lowercase letters, digits, '-'; starts with a letter");

/** Certificate and domain ids: used in file names inside containers and in resource names. */
const ident = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, "2-40 characters: lowercase letters, digits, '-'; starts with a letter");

const ipv4 = z.ipv4({ message: "invalid IPv4 address" });
const ipv6 = z.ipv6({ message: "invalid IPv6 address" });
const ipAddress = z.union([ipv4, ipv6], { message: "invalid IP address (IPv4 or IPv6)" });

const port = z.number({ message: "a TCP port number" }).int().min(1, "a TCP port (1-65535)").max(65535, "a TCP port (1-65535)");

/**
 * nginx time, e.g. `500ms`, `10s`, `1h30m`: a plain number or units from the largest to the
 * smallest, each at most once (y M w d h m s ms), as nginx's parser demands (`1m1h` and
 * `5s5s` are rejected by nginx).
 */
const nginxTime = z
  .string()
  .regex(
    /^(?=\d)(?:\d+|(?:\d+y)?(?:\d+M)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?)$/,
    "an nginx time such as 500ms, 10s, 5m, 1h30m (units largest first, each once)",
  );
/**
 * An nginx time where nginx counts whole seconds (`expires`, `fail_timeout`, cache validity,
 * `inactive`, the keepalive header timeout): the same without `ms`, which nginx rejects there.
 */
const nginxSeconds = z
  .string()
  .regex(
    /^(?=\d)(?:\d+|(?:\d+y)?(?:\d+M)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?)$/,
    "an nginx time in seconds such as 10s, 5m, 1h30m (no ms; units largest first, each once)",
  );
/** nginx size for offsets (`client_max_body_size`, `max_size`): `100m`, `1k`, `1g`. */
const nginxSize = z.string().regex(/^\d+[kKmMgG]?$/, "an nginx size such as 8k, 100m, 1g");
/** nginx size for memory (`gzip_min_length`, zone sizes): nginx accepts k and m only, no g. */
const nginxMemSize = z.string().regex(/^\d+[kKmM]?$/, "an nginx size such as 1k, 100m (k or m; nginx takes no g here)");
/** A server name nginx matches exactly, or a leading wildcard (`*.example.com`). */
const serverName = z
  .string()
  .max(253)
  .regex(
    /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    "a DNS name (letters, digits, '-', '.'), optionally starting with '*.'",
  );

/** An absolute URL path served by nginx (no spaces, quotes, regex or variable syntax). */
const urlPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~/-]*$/, "an absolute URL path of letters, digits and . _ ~ / -")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'");

/** An absolute filesystem path on a Docker host. */
const hostPath = urlPath;

/** A MIME type for gzip_types. */
const mimeType = z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, "a MIME type such as text/css");

/** A Docker image reference pinned to an exact tag or digest (never `latest`). */
const imageRef = z
  .string()
  .regex(
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    "a Docker image reference (registry/name:tag or name@sha256:...)",
  )
  .refine((ref) => /@sha256:/.test(ref) || /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(ref.split("/").pop() ?? ""), {
    message: "must be pinned: give an exact tag or a digest",
  })
  .refine((ref) => !/:latest(?:@|$)/.test(ref), { message: "`latest` is not a pin: give an exact version tag or a digest" });

// ---------------------------------------------------------------------------------------
// Hosts

/**
 * How Pulumi's Docker provider reaches the host's engine. `ssh://` shells out to the
 * operator's `ssh` (agent, ~/.ssh/config, known_hosts); `unix://` is the local engine.
 */
const dockerEndpoint = z.string().refine(
  (v) =>
    /^ssh:\/\/[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(v) ||
    /^ssh:\/\/[a-z_][a-z0-9_.-]*@\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(v) ||
    /^unix:\/\/\/[A-Za-z0-9._/-]+$/.test(v) ||
    /^tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}$/.test(v),
  { message: "ssh://user@host[:port], unix:///path/to/docker.sock or tcp://host:port" },
);

/** Extra ssh options for the provider (`-o` pairs, `-i` identity); no shell metacharacters. */
const sshOpt = z.string().regex(/^[A-Za-z0-9@%+=:,./_~-]+$/, "one ssh argument without spaces or shell characters");

// ---------------------------------------------------------------------------------------
// nginx tuning (cluster-wide, overridable per host)

const workerProcesses = z.union([z.literal("auto"), z.number().int().min(1).max(256)]);

const instanceFields = {
  workerProcesses: workerProcesses,
  workerConnections: z.number().int().min(64).max(1_048_576),
  /** Open files per worker; a proxied connection holds two (client + upstream). */
  workerRlimitNofile: z.number().int().min(1024).max(1_048_576),
  /** Container memory limit. */
  memoryMb: z.number().int().min(32).max(65_536),
};

const instanceTuning = (defaults: { workerConnections: number; workerRlimitNofile: number; memoryMb: number }) =>
  z
    .strictObject({
      workerProcesses: instanceFields.workerProcesses.default("auto"),
      workerConnections: instanceFields.workerConnections.default(defaults.workerConnections),
      workerRlimitNofile: instanceFields.workerRlimitNofile.default(defaults.workerRlimitNofile),
      memoryMb: instanceFields.memoryMb.default(defaults.memoryMb),
    })
    .prefault({});

const tuningSchema = z.strictObject({
  // Seed: worker_processes 8 on every instance (three per host, 24 workers); `auto`
  // matches the cores the container actually gets.
  master: instanceTuning({ workerConnections: 5120, workerRlimitNofile: 40960, memoryMb: 512 }),
  slave: instanceTuning({ workerConnections: 2560, workerRlimitNofile: 20480, memoryMb: 256 }),
  /** keepalive_timeout <timeout> <header timeout> (seed: `5 5`). */
  keepaliveTimeout: nginxTime.default("5s"),
  keepaliveHeaderTimeout: nginxSeconds.default("5s"),
  // Seed: 5, which closes a client's connection every five thumbnails; nginx's own
  // default since 1.19.10 is 1000.
  keepaliveRequests: z.number().int().min(1).max(1_000_000).default(1000),
  clientMaxBodySize: nginxSize.default("100m"),
  gzip: z
    .strictObject({
      types: z
        .array(mimeType)
        .min(1)
        .default(["text/plain", "text/css", "application/javascript", "application/x-javascript", "application/json", "application/xml"]),
      minLength: nginxMemSize.default("1k"),
      compLevel: z.number().int().min(1).max(9).default(2),
    })
    .superRefine((gzip, ctx) => {
      gzip.types.forEach((type, i) => {
        if (type === "text/html") {
          ctx.addIssue({ code: "custom", path: ["types", i], message: "text/html is always compressed; listing it makes nginx warn (duplicate MIME type)" });
        }
        if (gzip.types.indexOf(type) !== i) {
          ctx.addIssue({ code: "custom", path: ["types", i], message: `${type} is listed twice (nginx warns: duplicate MIME type)` });
        }
        if (type.startsWith("image/") && type !== "image/svg+xml") {
          ctx.addIssue({
            code: "custom",
            path: ["types", i],
            message: `${type} is already compressed: gzip only costs CPU on images (the seeds kept them out too)`,
          });
        }
      });
    })
    .prefault({}),
  /** `expires` per kind of file (seed: thumbnails 5s, images 10s, js/css 5m). */
  expires: z
    .strictObject({ thumbnail: nginxSeconds.default("5s"), image: nginxSeconds.default("10s"), script: nginxSeconds.default("5m") })
    .prefault({}),
  /** Missing profile pictures get a default image (seed: /upload/fe/profile/). */
  profileFallback: z
    .strictObject({
      prefix: urlPath.refine((p) => p.endsWith("/"), "a URL prefix ending in '/'").default("/upload/fe/profile/"),
      image: urlPath.default("/theme/micro/common/img/player/profile_thmb_default.gif"),
    })
    .prefault({}),
  /** Timeouts of the master towards slaves and resizers. */
  proxy: z
    .strictObject({
      connectTimeout: nginxTime.default("1s"),
      slaveReadTimeout: nginxTime.default("5s"),
      resizerReadTimeout: nginxTime.default("15s"),
      /** Attempts per request across upstream members (1 = no retry). */
      nextUpstreamTries: z.number().int().min(1).max(10).default(2),
    })
    .prefault({}),
});

/** Per-host nginx overrides: any subset of the cluster's tuning, merged key by key. */
const tuningOverride = z.strictObject({
  master: z.strictObject(instanceFields).partial().optional(),
  slave: z.strictObject(instanceFields).partial().optional(),
  keepaliveTimeout: nginxTime.optional(),
  keepaliveHeaderTimeout: nginxSeconds.optional(),
  keepaliveRequests: z.number().int().min(1).max(1_000_000).optional(),
});

// ---------------------------------------------------------------------------------------
// Slaves and the upstream between master and slaves

const slaveSchema = z.strictObject({
  port,
  weight: z.number().int().min(1).max(1000).optional(),
  maxFails: z.number().int().min(0).max(1000).optional(),
  failTimeout: nginxSeconds.optional(),
  maxConns: z.number().int().min(0).max(1_000_000).optional(),
  backup: z.boolean().default(false),
  down: z.boolean().default(false),
});

/** Load-balancing methods of open-source nginx (seed 004 lists them). */
const balanceSchema = z.discriminatedUnion(
  "method",
  [
    z.strictObject({ method: z.literal("round_robin") }),
    z.strictObject({ method: z.literal("least_conn") }),
    z.strictObject({ method: z.literal("ip_hash") }),
    z.strictObject({
      method: z.literal("hash"),
      // The key is an nginx expression such as `$request_uri`: variables and a few
      // separators only, never spaces, quotes or ';'. Every `$` starts a variable name
      // (nginx rejects `$`, `$-`); an unknown name is caught by `nginx -t` in the tests.
      key: z
        .string()
        .regex(
          /^(?:[A-Za-z0-9_:/.-]|\$(?:[A-Za-z_][A-Za-z0-9_]*|[1-9]))+$/,
          "an nginx variable expression such as $request_uri ($ followed by a variable name)",
        ),
      consistent: z.boolean().default(false),
    }),
    z.strictObject({ method: z.literal("random"), two: z.boolean().default(false) }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union" && (issue.input as { method?: unknown } | undefined)?.method === "least_time"
        ? "least_time is an NGINX Plus feature; open-source nginx rejects it (use least_conn)"
        : "method must be one of round_robin, least_conn, ip_hash, hash, random",
  },
);

const upstreamSchema = z.strictObject({
  balance: balanceSchema.prefault({ method: "round_robin" }),
  /** Idle keepalive connections per worker to the slaves (seed: 10). */
  keepalive: z.number().int().min(1).max(10_000).default(10),
});

// ---------------------------------------------------------------------------------------
// Resizer: the service's own settings (resizer/src/settings.ts) plus deployment.

const resizerDeployment = z.strictObject({
  /** Processes per host (the seeds' PM2 section ran several node processes). */
  replicas: z.number().int().min(1).max(32).default(2),
  /** Replica i listens on basePort + i (seed: php-fpm on 9000). */
  basePort: port.default(9000),
  memoryMb: z.number().int().min(64).max(65_536).default(512),
  cpus: z.number().min(0.1).max(64).default(1),
});
const resizerSchema = resizerServiceSchema.extend(resizerDeployment.shape);

const resizerOverride = resizerDeployment.partial();

// ---------------------------------------------------------------------------------------
// Proxy cache for resized images (seed: levels=1:2 keys_zone=one:100m inactive=60m
// max_size=300M; valid 200 302 1m).

const cacheValidity = z.strictObject({
  statuses: z.union([z.array(z.number().int().min(200).max(599)).min(1), z.literal("any")]),
  time: nginxSeconds,
});

const cacheSchema = z.strictObject({
  levels: z.string().regex(/^[12](?::[12]){0,2}$/, "1 to 3 levels of 1 or 2 characters, e.g. 1:2").default("1:2"),
  // nginx needs a few pages for the zone's own bookkeeping (8k fails on 4k pages); 1m holds
  // about 8000 keys and is safe on every page size.
  keysZoneSize: nginxMemSize.refine((v) => sizeBytes(v) >= 1024 ** 2, "at least 1m (about 8000 keys)").default("100m"),
  inactive: nginxSeconds.default("60m"),
  maxSize: nginxSize.default("300m"),
  valid: z
    .array(cacheValidity)
    .min(1)
    .default([{ statuses: [200, 302], time: "1m" }])
    .superRefine((valid, ctx) => {
      // nginx uses the first proxy_cache_valid that names a status: a later time for the
      // same status would be silently ignored.
      const seen = new Map<number | "any", number>();
      valid.forEach((v, i) => {
        for (const status of v.statuses === "any" ? ["any" as const] : v.statuses) {
          const first = seen.get(status);
          if (first !== undefined) {
            ctx.addIssue({ code: "custom", path: [i, "statuses"], message: `${status} already has a validity in valid[${first}]; nginx would ignore this one` });
          } else seen.set(status, i);
        }
      });
    }),
});

// ---------------------------------------------------------------------------------------
// Domains and certificates

const domainSchema = z.strictObject({
  id: ident,
  serverNames: z.array(serverName).min(1),
  /**
   * Status for a missing `/thumbnail/` file. The stillshot domain answers 400 (seed 001:
   * requested by its client team); everything else 404.
   */
  notFoundStatus: z.number().int().min(400).max(499).default(404),
  /** Certificate id serving this domain on HTTPS; none = HTTP only. */
  certificate: ident.optional(),
  /** The server that answers requests for unknown names and the L4's health checks. */
  default: z.boolean().default(false),
});

/** certbot's DNS plugins that have an official image (certbot/dns-<plugin>). */
export const CERTBOT_DNS_PLUGINS = [
  "cloudflare", "digitalocean", "dnsimple", "dnsmadeeasy", "gehirn", "google", "linode",
  "luadns", "nsone", "ovh", "rfc2136", "route53", "sakuracloud",
] as const;

/**
 * The port the ACME issuer host publishes its certificate bundles on (mutual TLS, for the
 * other hosts only; never registered on the L4). See infra/acme.ts.
 */
export const TLS_SYNC_PORT = 8444;

const certificateSchema = z.discriminatedUnion(
  "mode",
  [
    z.strictObject({
      mode: z.literal("supplied"),
      /**
       * PEM chain (leaf first). Public; the private key is a secret in
       * `image-origin:tlsPrivateKeys.<certificate id>`.
       */
      certificate: z
        .string()
        .refine((pem) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem), "a PEM certificate chain"),
    }),
    z.strictObject({
      mode: z.literal("selfSigned"),
      validityDays: z.number().int().min(1).max(3650).default(825),
    }),
    z.strictObject({
      mode: z.literal("acme"),
      email: z.email({ message: "an e-mail address for the ACME account" }),
      challenge: z.enum(["http-01", "dns-01"]).default("http-01"),
      /**
       * certbot DNS plugin for dns-01 (certbot-dns-<plugin>); its credentials file is the secret
       * `image-origin:acmeDnsCredentials.<certificate id>`. Plugins with an official image only:
       * the hosts cannot install anything.
       */
      dnsPlugin: z
        .enum(CERTBOT_DNS_PLUGINS, { message: `one of certbot's DNS plugins with an official image: ${CERTBOT_DNS_PLUGINS.join(", ")}` })
        .optional(),
      /** Let's Encrypt's staging directory (untrusted certificates, generous rate limits). */
      staging: z.boolean().default(false),
      /** ACME directory URL instead of Let's Encrypt (tests use a local pebble). */
      server: z.url({ protocol: /^https$/, message: "an https:// ACME directory URL" }).optional(),
      renewBeforeDays: z.number().int().min(1).max(60).default(30),
    }),
  ],
  { error: () => "mode must be one of supplied, selfSigned, acme" },
);

// ---------------------------------------------------------------------------------------
// VIP (the hardware L4 in front of the hosts; seed: 180.182.43.12, round robin, 80/443)

const vipSchema = z.strictObject({
  address: ipAddress,
  algorithm: z.enum(["round_robin", "least_connections", "source_hash"]).default("round_robin"),
  healthCheck: z
    .strictObject({
      // The path and expected status are the cluster's (topology.ts HEALTH), not options.
      intervalSeconds: z.number().int().min(1).max(300).default(5),
      timeoutSeconds: z.number().int().min(1).max(60).default(3),
    })
    .prefault({}),
});

// ---------------------------------------------------------------------------------------
// The whole stack

const hostSchema = z.strictObject({
  name: hostName,
  address: ipAddress,
  docker: dockerEndpoint,
  sshOpts: z.array(sshOpt).optional(),
  /** The `/images` tree on this host (bind-mounted read-only into slaves and resizers). */
  imagesDir: hostPath.optional(),
  nginx: tuningOverride.optional(),
  resizer: resizerOverride.optional(),
});

/** IPv4 CIDR with the prefix length the fixed address layout needs (see topology.ts). */
const subnet4 = z
  .string()
  .regex(/^(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, "an IPv4 CIDR such as 10.213.0.0/24")
  .refine((cidr) => {
    const [ip = "", len = ""] = cidr.split("/");
    return ipv4.safeParse(ip).success && Number(len) >= 16 && Number(len) <= 25;
  }, "an IPv4 CIDR with a prefix length between /16 and /25")
  .refine((cidr) => {
    const [ip = "", len = "0"] = cidr.split("/");
    return (ipv4ToInt(ip) & ~prefixMask(Number(len))) === 0;
  }, "the address must be the network address of the prefix (host bits zero)");

const masterSchema = z.strictObject({
  /** Ports the master publishes on each host (and the L4 health-checks). */
  httpPort: port.default(80),
  httpsPort: port.default(443),
});

export const clusterSpecSchema = z
  .strictObject({
    hosts: z.array(hostSchema).min(1, "at least one host"),
    /** Default `/images` directory on every host (per-host `imagesDir` overrides). */
    imagesDir: hostPath.default("/images"),
    domains: z.array(domainSchema).min(1, "at least one domain"),
    certificates: z.record(ident, certificateSchema).default({}),
    master: masterSchema.prefault({}),
    slaves: z.array(slaveSchema).min(1, "at least one slave").max(16).prefault([{ port: 8001 }, { port: 8002 }]),
    upstream: upstreamSchema.prefault({}),
    resizer: resizerSchema.prefault({}),
    cache: cacheSchema.prefault({}),
    nginx: tuningSchema.prefault({}),
    vip: vipSchema.optional(),
    images: z
      .strictObject({
        nginx: imageRef.default("nginx:1.28.0-bookworm"),
        /** Registry image for the resizer; unset = built from resizer/Dockerfile and loaded on each host. */
        resizer: imageRef.optional(),
        /**
         * certbot, for acme certificates (renewer, bootstrap). A dns-01 certificate runs the
         * plugin's image of the same registry and tag (certbot/dns-<plugin>:<tag>).
         */
        certbot: imageRef.default("certbot/certbot:v4.0.0"),
      })
      .prefault({}),
    /**
     * The private network of each host's containers. Fixed, so container addresses are
     * fixed (nginx resolves upstream names only at start) and Docker never picks a pool
     * that overlaps the LAN (its first default pool, 172.18.0.0/16, overlaps seed 001's).
     */
    network: z.strictObject({ subnet: subnet4.default("10.213.0.0/24") }).prefault({}),
    /** serial: host N+1 changes only after host N is healthy again (the L4 loses one host at a time). */
    rollout: z.enum(["serial", "parallel"]).default("serial"),
    /** How long a host may take to answer its health check after a change before `up` fails. */
    rolloutTimeoutSeconds: z.number().int().min(10).max(3600).default(180),
  })
  .superRefine(...relationChecks());

export type ClusterSpecInput = z.input<typeof clusterSpecSchema>;
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
export type Host = ClusterSpec["hosts"][number];
export type Domain = ClusterSpec["domains"][number];
export type CertificateSpec = ClusterSpec["certificates"][string];
export type Slave = ClusterSpec["slaves"][number];
export type Balance = ClusterSpec["upstream"]["balance"];
export type CacheConfig = ClusterSpec["cache"];
export type NginxTuning = ClusterSpec["nginx"];
export type Vip = NonNullable<ClusterSpec["vip"]>;

/**
 * Relations between fields run even when some fields are invalid, so an operator sees
 * every problem in one run. On malformed input a relation check may meet a value of the
 * wrong type; that is only tolerated when field errors were already reported.
 */
function relationChecks() {
  let fieldErrors = false;
  return [
    (cfg: ClusterSpec, ctx: z.RefinementCtx) => {
      try {
        crossChecks(cfg, ctx);
      } catch (err) {
        if (!fieldErrors) throw err;
      }
    },
    {
      when: (payload: { value: unknown; issues: readonly unknown[] }) => {
        fieldErrors = payload.issues.length > 0;
        return typeof payload.value === "object" && payload.value !== null;
      },
    },
  ] as const;
}

/** Reports one problem at a path of the config. */
type Issue = (path: (string | number)[], message: string) => void;

/**
 * Relations between fields that a field schema alone cannot see, one named check each, run
 * in this order (problems are listed in it).
 */
export const RELATION_CHECKS = [
  uniqueHosts,
  resizerSettings,
  noPlainTcpDocker,
  sshOptsNeedSsh,
  fileDescriptors,
  upstreamMethod,
  distinctPorts,
  domains,
  certificates,
  tlsSyncPort,
  subnetShadowsNothing,
  vipIsNoHost,
] as const;

function crossChecks(cfg: ClusterSpec, ctx: z.RefinementCtx): void {
  const issue: Issue = (path, message) => ctx.addIssue({ code: "custom", path, message });
  for (const check of RELATION_CHECKS) check(cfg, issue);
}

/** Hosts: unique names and addresses. */
function uniqueHosts(cfg: ClusterSpec, issue: Issue): void {
  const firstHostByName = new Map<string, number>();
  const firstHostByAddress = new Map<string, number>();
  cfg.hosts.forEach((host, i) => {
    const byName = firstHostByName.get(host.name);
    if (byName !== undefined) issue(["hosts", i, "name"], `duplicate host name "${host.name}" (also hosts[${byName}])`);
    else firstHostByName.set(host.name, i);
    const addr = normaliseIp(host.address);
    const byAddr = firstHostByAddress.get(addr);
    if (byAddr !== undefined) issue(["hosts", i, "address"], `duplicate address ${host.address} (also hosts[${byAddr}])`);
    else firstHostByAddress.set(addr, i);
  });
}

/**
 * The resizer's own relations (e.g. a preset larger than maxOutputDimension): checked here
 * too, or the process would refuse to start after a successful `pulumi up`.
 */
function resizerSettings(cfg: ClusterSpec, issue: Issue): void {
  for (const problem of resizerSettingsProblems(cfg.resizer)) {
    const at = problem.indexOf(": ");
    issue(["resizer", ...problem.slice(0, at).split(".")], problem.slice(at + 2));
  }
}

/**
 * Docker endpoints: tcp:// is the Docker API without TLS, root on the host for anyone who
 * can reach the port; only a loopback one (an ssh tunnel, a local proxy) is allowed.
 */
function noPlainTcpDocker(cfg: ClusterSpec, issue: Issue): void {
  cfg.hosts.forEach((host, i) => {
    const tcp = /^tcp:\/\/([^:]+):/.exec(host.docker);
    if (tcp && !/^(127\.\d+\.\d+\.\d+|localhost)$/.test(tcp[1]!)) {
      issue(["hosts", i, "docker"], "tcp:// is the Docker API without TLS (root on the host for anyone who reaches it): use ssh://, or tcp:// on a loopback address");
    }
  });
}

/** Docker endpoints: ssh options only mean something for ssh://. */
function sshOptsNeedSsh(cfg: ClusterSpec, issue: Issue): void {
  cfg.hosts.forEach((host, i) => {
    if (host.sshOpts !== undefined && !host.docker.startsWith("ssh://")) {
      issue(["hosts", i, "sshOpts"], `sshOpts only apply to ssh:// endpoints, not ${host.docker.split(":")[0]}://`);
    }
  });
}

/** nginx needs a file descriptor per connection, two for a proxied one (the master's). */
function fileDescriptors(cfg: ClusterSpec, issue: Issue): void {
  const fdCheck = (t: { workerConnections?: number; workerRlimitNofile?: number }, base: { workerConnections: number; workerRlimitNofile: number }, path: (string | number)[], factor: number) => {
    const conns = t.workerConnections ?? base.workerConnections;
    const files = t.workerRlimitNofile ?? base.workerRlimitNofile;
    if (files < conns * factor) {
      issue([...path, "workerRlimitNofile"], `${files} open files cannot carry ${conns} connections${factor > 1 ? " (a proxied connection needs two)" : ""}: raise it to at least ${conns * factor}`);
    }
  };
  fdCheck(cfg.nginx.master, cfg.nginx.master, ["nginx", "master"], 2);
  fdCheck(cfg.nginx.slave, cfg.nginx.slave, ["nginx", "slave"], 1);
  cfg.hosts.forEach((host, i) => {
    if (host.nginx?.master) fdCheck(host.nginx.master, cfg.nginx.master, ["hosts", i, "nginx", "master"], 2);
    if (host.nginx?.slave) fdCheck(host.nginx.slave, cfg.nginx.slave, ["hosts", i, "nginx", "slave"], 1);
  });
}

/** Upstream: what nginx rejects or ignores for the chosen method, and a member to send to. */
function upstreamMethod(cfg: ClusterSpec, issue: Issue): void {
  const method = cfg.upstream.balance.method;
  cfg.slaves.forEach((slave, i) => {
    if (slave.backup && (method === "hash" || method === "ip_hash" || method === "random")) {
      issue(["slaves", i, "backup"], `backup cannot be used with ${method}: nginx rejects it (the method picks a server by key, not by order)`);
    }
    if (slave.backup && slave.down) issue(["slaves", i, "down"], "a backup server marked down is never used: drop one of the two");
    if (slave.maxFails === 0 && slave.failTimeout !== undefined) {
      issue(["slaves", i, "failTimeout"], "failTimeout has no effect when maxFails is 0 (failure accounting is off)");
    }
  });
  if (!cfg.slaves.some((s) => !s.backup && !s.down)) {
    issue(["slaves"], "at least one slave must be neither backup nor down, or the master has nothing to send requests to");
  }
}

/**
 * Ports: everything that listens on a host must be distinct (in the local deployment all
 * of them share one loopback address, and the master's are published on the host). Hosts
 * differ only by their resizer override, so the cluster values are checked once.
 */
function distinctPorts(cfg: ClusterSpec, issue: Issue): void {
  cfg.hosts.forEach((host, h) => {
    const overridden = host.resizer?.basePort !== undefined || host.resizer?.replicas !== undefined;
    if (h > 0 && !overridden) return;
    const used = new Map<number, string>();
    const claim = (p: number, what: string, path: (string | number)[]) => {
      const holder = used.get(p);
      if (holder !== undefined) issue(path, `port ${p} of ${what} collides with ${holder}${h > 0 ? ` on host "${host.name}"` : ""}`);
      else used.set(p, what);
    };
    if (h === 0) {
      claim(cfg.master.httpPort, "master.httpPort", ["master", "httpPort"]);
      claim(cfg.master.httpsPort, "master.httpsPort", ["master", "httpsPort"]);
      cfg.slaves.forEach((s, i) => claim(s.port, `slaves[${i}]`, ["slaves", i, "port"]));
    } else {
      used.set(cfg.master.httpPort, "master.httpPort");
      used.set(cfg.master.httpsPort, "master.httpsPort");
      cfg.slaves.forEach((s, i) => used.set(s.port, `slaves[${i}]`));
    }
    const { replicas, basePort: base } = hostResizer(cfg, host);
    const path = overridden ? ["hosts", h, "resizer", host.resizer?.basePort !== undefined ? "basePort" : "replicas"] : ["resizer", "basePort"];
    for (let r = 0; r < replicas; r++) {
      if (base + r > 65535) {
        issue(path, `resizer replica ${r + 1} would listen on ${base + r}, beyond 65535`);
        break;
      }
      claim(base + r, `resizer replica ${r + 1}`, path);
    }
  });
}

/** Domains: unique ids and names, exactly one default, certificates that exist. */
function domains(cfg: ClusterSpec, issue: Issue): void {
  const ids = new Map<string, number>();
  const names = new Map<string, number>();
  cfg.domains.forEach((d, i) => {
    const prev = ids.get(d.id);
    if (prev !== undefined) issue(["domains", i, "id"], `duplicate domain id "${d.id}" (also domains[${prev}])`);
    else ids.set(d.id, i);
    d.serverNames.forEach((n, j) => {
      const key = n.toLowerCase();
      const other = names.get(key);
      if (other !== undefined) issue(["domains", i, "serverNames", j], `server name ${n} is already used by domains[${other}]`);
      else names.set(key, i);
    });
    if (d.certificate !== undefined) {
      const cert = cfg.certificates[d.certificate];
      if (cert === undefined) {
        const known = Object.keys(cfg.certificates);
        issue(["domains", i, "certificate"], `unknown certificate "${d.certificate}" (defined: ${known.length ? known.join(", ") : "none"})`);
      } else if (cert.mode === "acme" && cert.challenge === "http-01") {
        d.serverNames.forEach((n, j) => {
          if (n.startsWith("*.")) {
            issue(["domains", i, "serverNames", j], `${n}: wildcard names can only be validated with dns-01, but certificate "${d.certificate}" uses http-01`);
          }
        });
      }
    }
  });
  const defaults = cfg.domains.flatMap((d, i) => (d.default ? [i] : []));
  if (defaults.length > 1) {
    defaults.slice(1).forEach((i) => issue(["domains", i, "default"], `only one domain can be the default (domains[${defaults[0]}] already is)`));
  }
}

/** Certificates: every one is used, and dns-01 names its plugin. */
function certificates(cfg: ClusterSpec, issue: Issue): void {
  for (const [id, cert] of Object.entries(cfg.certificates)) {
    if (!cfg.domains.some((d) => d.certificate === id)) {
      issue(["certificates", id], `certificate "${id}" is not used by any domain`);
    }
    if (cert.mode === "acme" && cert.challenge === "dns-01" && cert.dnsPlugin === undefined) {
      issue(["certificates", id, "dnsPlugin"], "dns-01 needs a certbot DNS plugin name (e.g. cloudflare, route53)");
    }
    if (cert.mode === "acme" && cert.challenge === "http-01" && cert.dnsPlugin !== undefined) {
      issue(["certificates", id, "dnsPlugin"], "dnsPlugin is only used with challenge dns-01");
    }
    if (cert.mode === "acme" && cert.staging && cert.server !== undefined) {
      issue(["certificates", id, "staging"], "staging picks Let's Encrypt's staging directory and server names another one: set only one");
    }
  }
}

/** The ACME issuer publishes certificate bundles to the other hosts on a fixed port. */
function tlsSyncPort(cfg: ClusterSpec, issue: Issue): void {
  if (cfg.hosts.length > 1 && Object.values(cfg.certificates).some((c) => c.mode === "acme")) {
    for (const key of ["httpPort", "httpsPort"] as const) {
      if (cfg.master[key] === TLS_SYNC_PORT) {
        issue(["master", key], `port ${TLS_SYNC_PORT} is where the ACME issuer host publishes certificates to the other hosts`);
      }
    }
  }
}

/** The container network must not shadow a host, the VIP or anything else on the LAN we know of. */
function subnetShadowsNothing(cfg: ClusterSpec, issue: Issue): void {
  const [net = "", len = "0"] = cfg.network.subnet.split("/");
  const inSubnet = (address: string) =>
    !address.includes(":") && (ipv4ToInt(address) & prefixMask(Number(len))) === (ipv4ToInt(net) & prefixMask(Number(len)));
  cfg.hosts.forEach((host, i) => {
    if (inSubnet(host.address)) issue(["network", "subnet"], `${cfg.network.subnet} contains hosts[${i}].address ${host.address}: containers would shadow it`);
  });
  if (cfg.vip !== undefined && inSubnet(cfg.vip.address)) {
    issue(["network", "subnet"], `${cfg.network.subnet} contains the VIP ${cfg.vip.address}`);
  }
}

/** A VIP must not be one of the hosts. */
function vipIsNoHost(cfg: ClusterSpec, issue: Issue): void {
  if (cfg.vip !== undefined) {
    const vip = normaliseIp(cfg.vip.address);
    const clash = cfg.hosts.findIndex((h) => normaliseIp(h.address) === vip);
    if (clash >= 0) issue(["vip", "address"], `the VIP ${cfg.vip.address} is also the address of hosts[${clash}]`);
  }
}

// ---------------------------------------------------------------------------------------
// Parsing with errors an operator can act on

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid image-origin config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** `hosts[2].address` from zod's path segments. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out || "(root)";
}

/** Validate raw config (already stripped of the `image-origin:` prefix); every problem is listed. */
export function parseClusterSpec(raw: unknown): ClusterSpec {
  const result = clusterSpecSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
}

/** Keys of the stack config that are secrets and never part of the validated model. */
export const SECRET_KEYS = {
  /** `image-origin:tlsPrivateKeys.<certificate id>`: PEM private keys of supplied certificates. */
  tlsPrivateKeys: "tlsPrivateKeys",
  /** `image-origin:acmeDnsCredentials.<certificate id>`: the certbot DNS plugin's credentials file (dns-01). */
  acmeDnsCredentials: "acmeDnsCredentials",
} as const;

/**
 * Pulumi stack config (`{"image-origin:hosts": [...], ...}`) -> raw object for the schema.
 * Keys of other namespaces are ignored; secret keys are left out (the Pulumi program
 * reads them as secrets, the render command never needs them).
 */
export function fromStackConfig(config: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${PROJECT}:`;
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (Object.values(SECRET_KEYS).includes(name as never)) continue;
    raw[name] = value;
  }
  return raw;
}
