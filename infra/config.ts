// The whole stack config (`image-origin:*` keys) as one zod schema. Every type in the
// program is inferred from it; nothing is restated by hand. Pure: no Pulumi, no I/O.
//
// Rules nginx would reject (or silently ignore) are errors here, with the reason, so a
// bad value fails `pulumi preview` and `npm run render` before anything is created.
import { z } from "zod";
import { cidr as opsAllowEntry } from "../resizer/src/ops/config.js";
import { estimateTransformBytes, memoryBudgetMb } from "../resizer/src/memory.js";
import { serviceSchema as resizerServiceSchema, settingsProblems as resizerSettingsProblems } from "../resizer/src/settings.js";
import { largestSheetBytes, PROCESS_BASELINE_BYTES } from "../resizer/src/storyboard/memory.js";
import { ipv4ToInt, normaliseIp, prefixMask } from "./address.js";
import { cpusKeptByProvider, providerCpus } from "./providerForm.js";
import { hostResizer } from "./topology/hostConfig.js";
import { opsPorts } from "./topology/ops.js";
import { sizeBytes } from "./units.js";

export const PROJECT = "image-origin";

// ---------------------------------------------------------------------------------------
// Scalars. Everything that reaches an nginx config is constrained to characters that
// cannot break out of a directive (no spaces, quotes, ';', '{', '}', '$', newlines).

/** Host names become container, volume and network names: keep them DNS-label-like. */
const hostName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/, "2-24 characters: lowercase letters, digits, '-'; starts with a letter")
  .meta({ title: "name: 2–24 of a-z 0-9 -" });

/** Certificate and domain ids: used in file names inside containers and in resource names. */
const ident = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, "2-40 characters: lowercase letters, digits, '-'; starts with a letter")
  .meta({ title: "id: 2–40 of a-z 0-9 -" });

const ipv4 = z.ipv4({ message: "invalid IPv4 address" });
const ipv6 = z.ipv6({ message: "invalid IPv6 address" });
const ipAddress = z.union([ipv4, ipv6], { message: "invalid IP address (IPv4 or IPv6)" }).meta({ title: "IPv4 or IPv6 address" });

const port = z
  .number({ message: "a TCP port number" })
  .int()
  .min(1, "a TCP port (1-65535)")
  .max(65535, "a TCP port (1-65535)")
  .meta({ title: "TCP port" });

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
  )
  .meta({ title: "nginx time" });
/**
 * An nginx time where nginx counts whole seconds (`expires`, `fail_timeout`, cache validity,
 * `inactive`, the keepalive header timeout): the same without `ms`, which nginx rejects there.
 */
const nginxSeconds = z
  .string()
  .regex(
    /^(?=\d)(?:\d+|(?:\d+y)?(?:\d+M)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?)$/,
    "an nginx time in seconds such as 10s, 5m, 1h30m (no ms; units largest first, each once)",
  )
  .meta({ title: "nginx time, whole seconds" });
/** nginx size for offsets (`client_max_body_size`, `max_size`): `100m`, `1k`, `1g`. */
const nginxSize = z.string().regex(/^\d+[kKmMgG]?$/, "an nginx size such as 8k, 100m, 1g").meta({ title: "nginx size" });
/** nginx size for memory (`gzip_min_length`, zone sizes): nginx accepts k and m only, no g. */
const nginxMemSize = z.string().regex(/^\d+[kKmM]?$/, "an nginx size such as 1k, 100m (k or m; nginx takes no g here)").meta({ title: "nginx size, k or m" });
/** A server name nginx matches exactly, or a leading wildcard (`*.example.com`). */
const serverName = z
  .string()
  .max(253)
  .regex(
    /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    "a DNS name (letters, digits, '-', '.'), optionally starting with '*.'",
  )
  .meta({ title: "DNS name, `*.` allowed" });

/** An absolute URL path served by nginx (no spaces, quotes, regex or variable syntax). */
const urlPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~/-]*$/, "an absolute URL path of letters, digits and . _ ~ / -")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'")
  .meta({ title: "URL path" });

/** An absolute filesystem path on a Docker host. */
const hostPath = urlPath.meta({ title: "absolute path" });

/** A MIME type for gzip_types. */
const mimeType = z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, "a MIME type such as text/css").meta({ title: "MIME type" });

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
  .refine((ref) => !/:latest(?:@|$)/.test(ref), { message: "`latest` is not a pin: give an exact version tag or a digest" })
  .meta({ title: "image reference with a tag or digest" });

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
).meta({ title: "Docker endpoint URL" });

/** Extra ssh options for the provider (`-o` pairs, `-i` identity); no shell metacharacters. */
const sshOpt = z.string().regex(/^[A-Za-z0-9@%+=:,./_~-]+$/, "one ssh argument without spaces or shell characters").meta({ title: "ssh argument" });

// ---------------------------------------------------------------------------------------
// nginx tuning (cluster-wide, overridable per host)

const instanceFields = {
  workerProcesses: z
    .union([z.literal("auto"), z.number().int().min(1).max(256)])
    .describe("nginx `worker_processes`; `auto` matches the cores the container gets (the seeds had 8 on every instance, 24 per host)"),
  workerConnections: z.number().int().min(64).max(1_048_576).describe("nginx `worker_connections`"),
  workerRlimitNofile: z
    .number()
    .int()
    .min(1024)
    .max(1_048_576)
    .describe("open files per worker, and the container's `nofile` ulimit; a proxied connection holds two (client and upstream), so the master needs at least 2 x connections"),
  memoryMb: z.number().int().min(32).max(65_536).describe("container memory limit (MB)"),
  accessLogBuffer: z
    .union([z.literal("off"), nginxMemSize])
    .describe("`access_log ... buffer=` of the instance's own log (file or container stdout): lines are written in blocks of this size, or after 1 s, instead of one write per request (bench/results: the master's cache HITs); `off`: each line at once. The copy to the ops agent always goes at once"),
};

/** Keys a host may override as well. */
const keepaliveTimeout = nginxTime.describe("nginx `keepalive_timeout` (seed: `keepalive_timeout 5 5`)");
const keepaliveHeaderTimeout = nginxSeconds.describe("the header timeout of `keepalive_timeout` (seed: 5)");
const keepaliveRequests = z
  .number()
  .int()
  .min(1)
  .max(1_000_000)
  .describe("requests per client connection; the seeds' 5 reconnected a client every five thumbnails (nginx's own default is 1000)");

const instanceTuning = (defaults: { workerConnections: number; workerRlimitNofile: number; memoryMb: number; accessLogBuffer: "off" | `${number}k` }) =>
  z
    .strictObject({
      workerProcesses: instanceFields.workerProcesses.default("auto"),
      workerConnections: instanceFields.workerConnections.default(defaults.workerConnections),
      workerRlimitNofile: instanceFields.workerRlimitNofile.default(defaults.workerRlimitNofile),
      memoryMb: instanceFields.memoryMb.default(defaults.memoryMb),
      accessLogBuffer: instanceFields.accessLogBuffer.default(defaults.accessLogBuffer),
    })
    .prefault({});

const tuningSchema = z.strictObject({
  // Seed: worker_processes 8 on every instance (three per host, 24 workers); `auto`
  // matches the cores the container actually gets.
  // Buffered on the master, whose cache HITs are the hot path; the slaves' lines (which
  // slave served a file) reach their log at once by default.
  master: instanceTuning({ workerConnections: 5120, workerRlimitNofile: 40960, memoryMb: 512, accessLogBuffer: "64k" }),
  slave: instanceTuning({ workerConnections: 2560, workerRlimitNofile: 20480, memoryMb: 256, accessLogBuffer: "off" }),
  keepaliveTimeout: keepaliveTimeout.default("5s"),
  keepaliveHeaderTimeout: keepaliveHeaderTimeout.default("5s"),
  keepaliveRequests: keepaliveRequests.default(1000),
  resizeLimits: z
    .strictObject({
      enabled: z
        .boolean()
        .optional()
        .describe("per-client limits on the resize routes; they key on the address nginx sees, so turn them off if the L4 hides client addresses (source NAT, a CDN). Default: on, except with `vip.mode: haproxy` (its HTTPS passthrough shows the masters HAProxy's address for every client), where they are off and `true` is refused"),
      connections: z
        .number()
        .int()
        .min(1)
        .max(65_535) // nginx: "connection limit must be less 65536"
        .default(128)
        .describe("resize requests one client address may have in flight (`limit_conn`; each HTTP/2 stream counts): a browser opens at most 128 streams per connection (nginx's http2_max_concurrent_streams)"),
      rate: z.number().int().min(1).max(100_000).default(100).describe("resize requests per second one client address may send, sustained (`limit_req` rate)"),
      burst: z
        .number()
        .int()
        .min(0)
        .max(100_000)
        .default(1000)
        .describe("requests above the rate a client address may send at once (`limit_req` burst, nodelay): a page of thumbnails and fast scrolling stay under it"),
    })
    .prefault({})
    .describe("per-client limits on `/resize` and the legacy routes; beyond them 429 + `Retry-After: 1` (README, Abuse limits)"),
  gzip: z
    .strictObject({
      types: z
        .array(mimeType)
        .min(1)
        .default(["text/plain", "text/css", "application/javascript", "application/x-javascript", "application/json", "application/xml"])
        .describe("types gzip compresses besides text/html (the seeds' list plus JS and JSON); image types other than SVG are refused"),
      minLength: nginxMemSize.default("1k").describe("`gzip_min_length` (seed)"),
      compLevel: z.number().int().min(1).max(9).default(2).describe("`gzip_comp_level` (seed)"),
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
  expires: z
    .strictObject({
      thumbnail: nginxSeconds.default("5s").describe("`expires` of `/thumbnail/` files, served by the master (seed)"),
      image: nginxSeconds.default("10s").describe("`expires` of images served by the slaves (seed)"),
      script: nginxSeconds.default("5m").describe("`expires` of js, css and swf files (seed)"),
    })
    .prefault({}),
  profileFallback: z
    .strictObject({
      prefix: urlPath
        .refine((p) => p.endsWith("/"), "a URL prefix ending in '/'")
        .default("/upload/fe/profile/")
        .describe("a missing image under this prefix answers the fallback image (seed slave)"),
      image: urlPath.default("/theme/micro/common/img/player/profile_thmb_default.gif").describe("the fallback image (seed slave)"),
    })
    .prefault({}),
  proxy: z
    .strictObject({
      connectTimeout: nginxTime.default("1s").describe("connect timeout of the master towards slaves and resizers"),
      slaveReadTimeout: nginxTime.default("5s").describe("read timeout of the master towards the slaves"),
      resizerReadTimeout: nginxTime.default("15s").describe("read timeout of the master towards the resizers, and the age of a cache lock; with `resizer.balance: least_conn`, concurrent misses of one variant wait this long for one resize"),
      nextUpstreamTries: z.number().int().min(1).max(10).default(2).describe("attempts per request across upstream members (1: no retry)"),
    })
    .prefault({}),
});

/** Per-host nginx overrides: any subset of the cluster's tuning, merged key by key. */
const tuningOverride = z.strictObject({
  master: z.strictObject(instanceFields).partial().optional(),
  slave: z.strictObject(instanceFields).partial().optional(),
  keepaliveTimeout: keepaliveTimeout.optional(),
  keepaliveHeaderTimeout: keepaliveHeaderTimeout.optional(),
  keepaliveRequests: keepaliveRequests.optional(),
});

// ---------------------------------------------------------------------------------------
// Slaves and the upstream between master and slaves

const slaveSchema = z.strictObject({
  port: port.describe("the slave's port (seed table: 8001/8002; the seed upstream's 8081/8082 was a bug)"),
  weight: z.number().int().min(1).max(1000).optional().describe("upstream `weight` (seed 002/004); nginx's default 1"),
  maxFails: z.number().int().min(0).max(1000).optional().describe("upstream `max_fails`; nginx's default 1, 0 turns failure accounting off"),
  failTimeout: nginxSeconds.optional().describe("upstream `fail_timeout`, nginx's default 10s: how long a failed slave stays out, and how long a rollout waits between slaves"),
  maxConns: z.number().int().min(0).max(1_000_000).optional().describe("upstream `max_conns`; nginx's default 0, no limit"),
  backup: z.boolean().default(false).describe("upstream `backup`; refused with `ip_hash`, `hash` and `random` (nginx rejects it)"),
  down: z.boolean().default(false).describe("upstream `down`"),
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
        )
        .meta({ title: "nginx variable expression", description: "what `hash` hashes, e.g. `$request_uri`" }),
      consistent: z.boolean().default(false).describe("ketama consistent hashing: adding a slave moves few keys"),
    }),
    z.strictObject({ method: z.literal("random"), two: z.boolean().default(false).describe("`random two`: the less loaded of two random slaves") }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union" && (issue.input as { method?: unknown } | undefined)?.method === "least_time"
        ? "least_time is an NGINX Plus feature; open-source nginx rejects it (use least_conn)"
        : "method must be one of round_robin, least_conn, ip_hash, hash, random",
  },
);

const upstreamSchema = z.strictObject({
  balance: balanceSchema
    .prefault({ method: "round_robin" })
    .describe("how the master balances over its slaves (seed 004's list); `least_time` is NGINX Plus only and refused"),
  keepalive: z.number().int().min(1).max(10_000).default(10).describe("idle connections per worker to the slaves (seed: `keepalive 10`)"),
});

// ---------------------------------------------------------------------------------------
// Resizer: the service's own settings (resizer/src/settings.ts) plus deployment.

// Without defaults here: a host's override must leave unset fields to the cluster's values
// (zod applies a field's default even inside an optional, partial object).
const resizerDeploymentFields = {
  replicas: z.number().int().min(1).max(32),
  basePort: port,
  memoryMb: z.number().int().min(64).max(65_536),
  // The provider stores cpus in its own spelling (providerForm.ts); a value it would spell
  // as another one would change the limit and replace the resizers on every `up`.
  cpus: z
    .number()
    .min(0.1)
    .max(64)
    .refine(cpusKeptByProvider, {
      error: (issue) => {
        const v = issue.input as number;
        return `${v} CPUs is stored by the Docker provider as "${providerCpus(v)}", another limit, and would replace the resizers on every \`up\`: use a value it keeps, such as ${Math.round(v * 10) / 10}`;
      },
    }),
};

const resizerDeployment = z.strictObject({
  replicas: resizerDeploymentFields.replicas.default(2).describe("resizer processes per host (seed 004: several node processes under PM2)"),
  basePort: resizerDeploymentFields.basePort.default(9000).describe("replica *i* listens on `basePort + i` (seed: php-fpm on 9000)"),
  memoryMb: resizerDeploymentFields.memoryMb.default(512).describe("container memory limit per replica (MB)"),
  cpus: resizerDeploymentFields.cpus
    .default(1)
    .describe("container CPU limit per replica: a cap, not a share of the host. With `balance: variant` each variant has one home replica, so a replica's part of the load varies; a cap above the host's resizer CPUs / replicas lets a busy replica use what an idle one leaves (README, Resizer sizing)"),
  balance: z
    .enum(["variant", "least_conn"])
    .default("variant")
    .describe(
      "how the master picks a replica: `variant` hashes the resize cache key (consistent), so concurrent requests for one new variant meet at one replica and are resized once, without waiting on nginx's cache lock; `least_conn` picks the least busy replica, and concurrent requests for one new variant wait on the cache lock (nginx re-checks it every 500 ms)",
    ),
});
const resizerSchema = resizerServiceSchema.extend(resizerDeployment.shape);

const resizerOverride = z.strictObject({
  replicas: resizerDeploymentFields.replicas.optional().describe("this host's replicas; none: `resizer.replicas`"),
  basePort: resizerDeploymentFields.basePort.optional().describe("this host's first resizer port; none: `resizer.basePort`"),
  memoryMb: resizerDeploymentFields.memoryMb.optional().describe("this host's memory limit per replica (MB); none: `resizer.memoryMb`"),
  cpus: resizerDeploymentFields.cpus.optional().describe("this host's CPU limit per replica; none: `resizer.cpus`"),
});

// ---------------------------------------------------------------------------------------
// Proxy cache for resized images (seed: levels=1:2 keys_zone=one:100m inactive=60m
// max_size=300M; valid 200 302 1m).

const cacheValidity = z.strictObject({
  statuses: z.union([z.array(z.number().int().min(200).max(599)).min(1), z.literal("any")]).describe("response statuses, or `any`"),
  time: nginxSeconds.describe("how long such a response stays valid in the cache"),
});

const cacheSchema = z.strictObject({
  levels: z
    .string()
    .regex(/^[12](?::[12]){0,2}$/, "1 to 3 levels of 1 or 2 characters, e.g. 1:2")
    .default("1:2")
    .meta({ title: "1 to 3 of 1 or 2, `:`-separated", description: "directory levels of the resize cache (seed: `fastcgi_cache_path ... levels=1:2`)" }),
  // nginx needs a few pages for the zone's own bookkeeping (8k fails on 4k pages); 1m holds
  // about 8000 keys and is safe on every page size.
  keysZoneSize: nginxMemSize
    .refine((v) => sizeBytes(v) >= 1024 ** 2, "at least 1m (about 8000 keys)")
    .default("100m")
    .describe("shared memory for the cache keys, at least 1m, about 8000 keys per 1m (seed: `keys_zone=one:100m`)"),
  inactive: nginxSeconds.default("60m").describe("entries unused this long are removed (seed)"),
  maxSize: nginxSize.default("300m").describe("the cache's size limit on disk (seed: `max_size=300M`)"),
  valid: z
    .array(cacheValidity)
    .min(1)
    .default([{ statuses: [200, 302], time: "1m" }])
    .describe("`proxy_cache_valid` per status, whatever the resizer's Cache-Control says (seed: `fastcgi_cache_valid 200 302 1m`)")
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
  id: ident.describe("names the domain's server block"),
  serverNames: z.array(serverName).min(1).describe("the names the domain answers; unique across domains"),
  notFoundStatus: z
    .number()
    .int()
    .min(400)
    .max(499)
    .default(404)
    .describe("status for a missing `/thumbnail/` file; seed 001: `400` on stillshot-origin, asked for by its client team"),
  certificate: ident.optional().describe("id in `certificates` serving the domain on HTTPS; none: HTTP only"),
  default: z.boolean().default(false).describe("answers unknown names and the L4's health check; at most one domain (none marked: the first)"),
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
      certificate: z
        .string()
        .refine((pem) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem), "a PEM certificate chain")
        .meta({
          title: "PEM chain",
          description:
            "leaf first; public. The key is the secret `tlsPrivateKeys.<id>` (seed 001: `star.tving.com.pem/.key`); `preview` checks the pair and the server names",
        }),
    }),
    z.strictObject({
      mode: z.literal("selfSigned"),
      validityDays: z.number().int().min(1).max(3650).default(825).describe("validity of the certificate Pulumi generates and keeps in state"),
    }),
    z.strictObject({
      mode: z.literal("acme"),
      email: z.email({ message: "an e-mail address for the ACME account" }).describe("the ACME account (seed 004: certbot)"),
      challenge: z.enum(["http-01", "dns-01"]).default("http-01").describe("`dns-01` is needed for wildcard names"),
      dnsPlugin: z
        .enum(CERTBOT_DNS_PLUGINS, { message: `one of certbot's DNS plugins with an official image: ${CERTBOT_DNS_PLUGINS.join(", ")}` })
        .optional()
        .describe(
          "dns-01 only, and required there: certbot's DNS plugin (one with an official image: the hosts install nothing); its credentials file is the secret `acmeDnsCredentials.<id>`",
        ),
      staging: z.boolean().default(false).describe("Let's Encrypt's staging directory (untrusted certificates, generous rate limits); not with `server`"),
      server: z
        .url({ protocol: /^https$/, message: "an https:// ACME directory URL" })
        .optional()
        .meta({ title: "https URL", description: "an ACME directory instead of Let's Encrypt (the tests use pebble); none: Let's Encrypt" }),
      renewBeforeDays: z.number().int().min(1).max(60).default(30).describe("renew this many days before expiry; replaces seed 004's `@daily certbot renew`"),
    }),
  ],
  { error: () => "mode must be one of supplied, selfSigned, acme" },
).describe("how the certificate is obtained ([Certificates](#certificates))");

// ---------------------------------------------------------------------------------------
// VIP (the L4 in front of the hosts; seed: 180.182.43.12, round robin, 80/443). A hardware
// L4 is registered from the `vip` stack output; `mode: haproxy` deploys a software one from
// the same plan: HAProxy on two L4 hosts sharing the address through keepalived (VRRP).

/** A Linux interface name (IFNAMSIZ: at most 15 characters). */
const interfaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,15}$/, "a network interface name (1-15 of letters, digits, _ . : -)")
  .meta({ title: "interface name" });

const cidr = z.union([z.cidrv4({ message: "an IPv4 CIDR" }), z.cidrv6({ message: "an IPv6 CIDR" })], { message: "a CIDR such as 10.0.0.0/8" }).meta({ title: "CIDR" });

const vipHostSchema = z.strictObject({
  name: hostName.describe("names the L4 host's containers (`<name>-haproxy`, `<name>-keepalived`) and network; not an image host's name"),
  address: ipAddress.describe(
    "the L4 host's own address (its VRRP source and its stats listener); a dedicated machine: HAProxy publishes the VIP ports on every address, which a master on the same host would hold",
  ),
  docker: dockerEndpoint.describe("the L4 host's Docker endpoint, as for `hosts[].docker`"),
  sshOpts: z.array(sshOpt).optional().describe("extra `ssh` arguments (ssh:// only)"),
  interface: interfaceName.default("eth0").describe("where keepalived adds the VIP and sends VRRP"),
});

const haproxySchema = z.strictObject({
  hosts: z
    .array(vipHostSchema)
    .min(1, "at least one L4 host")
    .max(8)
    .describe("the L4 hosts, in priority order: the first holds the VIP while it is healthy, the next takes it over (two for failover)"),
  statsPort: port
    .default(8404)
    .describe("HAProxy's stats page (`/stats`), Prometheus metrics (`/metrics`) and liveness (`/healthz`), on each L4 host's own address only (the private ops side), never on the VIP"),
  statsAllow: z
    .array(cidr)
    .default([])
    .describe("monitoring networks allowed to read the stats port, besides the L4 hosts themselves (everyone else gets 403)"),
  vrrp: z
    .strictObject({
      routerId: z.number().int().min(1).max(255).default(51).describe("VRRP `virtual_router_id`, unique among the VRRP routers of the L4 hosts' network"),
      advertSeconds: z
        .number()
        .min(0.01)
        .max(40)
        .multipleOf(0.01)
        .default(1)
        .describe("VRRP advertisement interval (VRRPv3, in hundredths); a passive host takes over after about three missed ones"),
      unicast: z
        .boolean()
        .default(true)
        .describe("advertise to the other L4 hosts' addresses (`unicast_peer`) instead of multicast, which many networks (clouds, some switches) drop"),
    })
    .prefault({}),
  memoryMb: z.number().int().min(32).max(65_536).default(256).describe("memory limit of each L4 host's HAProxy container (MB)"),
});

const vipSchema = z
  .strictObject({
    address: ipAddress.describe("the VIP (seed: 180.182.43.12)"),
    mode: z
      .enum(["hardware", "haproxy"])
      .default("hardware")
      .describe("`hardware`: an L4 registered from the `vip` stack output; `haproxy`: HAProxy and keepalived on `vip.haproxy.hosts`, configured from the same plan"),
    algorithm: z.enum(["round_robin", "least_connections", "source_hash"]).default("round_robin").describe("how the L4 should balance (seed: round robin)"),
    healthCheck: z
      .strictObject({
        // The path and expected status are the cluster's (topology/names.ts HEALTH), not options.
        intervalSeconds: z.number().int().min(1).max(300).default(5).describe("how often the L4 should check each host"),
        timeoutSeconds: z.number().int().min(1).max(60).default(3).describe("how long a check may take"),
        rise: z.number().int().min(1).max(10).default(2).describe("consecutive passed checks before the L4 sends a host traffic again (HAProxy's default: 2)"),
        fall: z.number().int().min(1).max(10).default(3).describe("consecutive failed checks before the L4 takes a host out (HAProxy's default: 3)"),
      })
      .prefault({})
      .describe(
        "what the L4 should use; the check itself is fixed: `GET /healthz` expecting 200, on HTTP and on HTTPS when any domain has a certificate (seed: 80/443), all in the `vip` output",
      ),
    haproxy: haproxySchema.optional().describe("`mode: haproxy` only, and required there: the L4 hosts and HAProxy's settings"),
  })
  .describe("the L4 in front of the hosts (the `vip` stack output); none: no VIP block");

// ---------------------------------------------------------------------------------------
// Observability: each host's private ops listener, and how Prometheus watches the hosts

const opsSchema = z.strictObject({
  port: port
    .default(9145)
    .describe(
      "each host's ops listener (Prometheus metrics of master, slaves and resizers), published on the host's address only and never on 80/443; it also receives nginx's access logs on this UDP port over the host's private network, and the next 1 + slaves ports are the nginx instances' private stub_status listeners",
    ),
  allow: z
    .array(opsAllowEntry)
    .default([])
    .describe("monitoring networks (CIDRs) the ops listener answers; everyone else gets 403. Loopback inside the container always may (its health check)"),
  memoryMb: z
    .number()
    .int()
    .min(128)
    .max(4096)
    .default(256)
    .describe("the ops agent's container memory limit (MB); the agent takes about 100 MB, and its health check (and `npm run status`) start a second Node beside it"),
});

export const monitoringSchema = z.strictObject({
  scrapeIntervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(300)
    .default(15)
    .describe("Prometheus' scrape and rule interval in the rendered `monitoring/prometheus.yml`; alerts on a target down wait 4 of them"),
  blackboxExporter: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/, "host:port of the blackbox exporter")
    .default("127.0.0.1:9115")
    .meta({ title: "host:port", description: "the blackbox exporter Prometheus asks for the health-check and certificate probes (next to Prometheus, as usual)" }),
  runbookUrl: z
    .string()
    .regex(/^(?:https:\/\/[^\s#]+\/)?RUNBOOK\.md$/, "the URL of RUNBOOK.md (https://.../RUNBOOK.md), or RUNBOOK.md")
    .default("RUNBOOK.md")
    .meta({ title: "URL of RUNBOOK.md", description: "where operators read RUNBOOK.md (your repository's page of it); every alert's `runbook_url` is this with its section's anchor" }),
});

// ---------------------------------------------------------------------------------------
// The whole stack

const hostSchema = z.strictObject({
  name: hostName.describe("prefixes the host's container, network and volume names"),
  address: ipAddress.describe("registered on the L4 (seed 001: 172.18.141.51–55)"),
  docker: dockerEndpoint.describe(
    "`ssh://user@host[:port]` (IPv6 as `[addr]`; the operator's ssh agent, config and known_hosts), `unix:///path`, or `tcp://127.0.0.1:port` (loopback only: tcp:// is the Docker API without TLS)",
  ),
  sshOpts: z.array(sshOpt).optional().describe("extra `ssh` arguments (ssh:// only), e.g. `[\"-i\", \"/keys/deploy\"]`"),
  imagesDir: hostPath.optional().describe("this host's images tree, bind-mounted read-only into master, slaves and resizers; none: `imagesDir`"),
  nginx: tuningOverride.optional().describe("this host's overrides of the nginx tuning, merged key by key"),
  resizer: resizerOverride.optional().describe("this host's resizer deployment instead of the cluster's"),
});

/** IPv4 CIDR with the prefix length the fixed address layout needs (topology/placement.ts ADDRESS_OFFSET). */
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
  }, "the address must be the network address of the prefix (host bits zero)")
  .meta({ title: "IPv4 CIDR, /16 to /25" });

const masterSchema = z.strictObject({
  httpPort: port.default(80).describe("HTTP port each host publishes and the L4 checks (seed: 80); the master listens on 8080 inside its unprivileged container"),
  httpsPort: port
    .default(443)
    .describe("HTTPS port each host publishes (seed: 443; 8443 inside). With acme certificates and several hosts, 8444 is taken by the issuer's bundle publisher"),
});

export const clusterSpecSchema = z
  .strictObject({
    hosts: z.array(hostSchema).min(1, "at least one host").describe("one per Docker host, at least one; the first issues acme certificates"),
    imagesDir: hostPath.default("/images").describe("the images tree on every host (seeds: `root /images`)"),
    domains: z.array(domainSchema).min(1, "at least one domain").describe("one nginx `server` per domain on every master, at least one"),
    certificates: z
      .record(ident, certificateSchema)
      .default({})
      .meta({ keyName: "id", description: "TLS certificates by id, each used by at least one domain ([Certificates](#certificates))" }),
    master: masterSchema.prefault({}),
    slaves: z
      .array(slaveSchema)
      .min(1, "at least one slave")
      .max(16)
      .prefault([{ port: 8001 }, { port: 8002 }])
      .describe("one nginx slave each, 1 to 16, serving the images tree; at least one neither `backup` nor `down`"),
    upstream: upstreamSchema.prefault({}),
    resizer: resizerSchema.prefault({}),
    cache: cacheSchema.prefault({}),
    nginx: tuningSchema.prefault({}),
    vip: vipSchema.optional(),
    images: z
      .strictObject({
        nginx: imageRef.default("nginx:1.28.0-bookworm").describe("nginx's image for masters, slaves and the ACME helpers; `latest` is refused"),
        resizer: imageRef.optional().describe("a registry image of the resizer, pulled by each host; none: built from `resizer/Dockerfile` and streamed to the hosts"),
        vip: imageRef
          .optional()
          .describe("`vip.mode: haproxy` only: a registry image with HAProxy and keepalived, pulled by each L4 host; none: built from `infra/vip/Dockerfile` and streamed to them"),
        certbot: imageRef
          .default("certbot/certbot:v4.0.0")
          .describe("acme certificates only (renewer, bootstrap); dns-01 runs `dns-<plugin>` of the same registry and tag. Delivered to the hosts like nginx"),
      })
      .prefault({}),
    network: z
      .strictObject({
        subnet: subnet4
          .default("10.213.0.0/24")
          .describe(
            "each host's private container network. Containers get fixed addresses (gateway .1, master .2, ops agent .3, slaves .11+, resizers .41+) because nginx resolves upstream names only at start and Docker re-addresses containers on restart. Must not contain a host or the VIP: Docker's own first pool, 172.18.0.0/16, would shadow seed 001's LAN",
          ),
      })
      .prefault({}),
    ops: opsSchema.prefault({}),
    monitoring: monitoringSchema.prefault({}),
    rollout: z
      .enum(["serial", "parallel"])
      .default("serial")
      .describe("`serial`: host N+1 changes only after host N is healthy again (the L4 loses one host at a time); `parallel`: all at once"),
    rolloutTimeoutSeconds: z.number().int().min(10).max(3600).default(180).describe("how long a changed host may take to answer its health check before `pulumi up` fails"),
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
  storyboardMemory,
  resizerMemory,
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
  vipMode,
  vipHosts,
  vipStatsPort,
  resizeLimitsSeeClients,
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
  for (const problem of resizerSettingsProblems(cfg.resizer)) issue(["resizer", ...problem.path], problem.message);
}

/**
 * Storyboard limits vs a replica's memory: `concurrency` sheets at once of the largest the
 * limits allow (as AVIF, the costliest encoder; estimateSheetBytes), on top of the process
 * itself, must fit the container's memory limit. Otherwise one request for a huge sheet
 * gets the replica OOM-killed, which no 4xx can prevent once it is deployed.
 */
function storyboardMemory(cfg: ClusterSpec, issue: Issue): void {
  const MB = 1024 * 1024;
  const { concurrency, storyboard } = cfg.resizer;
  const sheetMb = Math.ceil(largestSheetBytes(storyboard) / MB);
  const needMb = concurrency * sheetMb + Math.ceil(PROCESS_BASELINE_BYTES / MB);
  if (needMb > cfg.resizer.memoryMb) {
    issue(
      ["resizer", "storyboard", "maxSheetDimension"],
      `the largest sheet these limits allow needs ~${sheetMb} MB as AVIF; ${concurrency} at once (concurrency) and the process make ~${needMb} MB, over memoryMb (${cfg.resizer.memoryMb}): lower maxSheetDimension or maxTileDimension, or raise memoryMb`,
    );
  }
  cfg.hosts.forEach((host, i) => {
    const memoryMb = host.resizer?.memoryMb;
    if (memoryMb !== undefined && needMb > memoryMb) {
      issue(["hosts", i, "resizer", "memoryMb"], `${memoryMb} MB per replica cannot hold ${concurrency} of the largest storyboard sheets (~${sheetMb} MB each as AVIF) and the process: ~${needMb} MB needed`);
    }
  });
}

/**
 * The resizer's memory budget (derived per host from `memoryMb` and `concurrency`, unless
 * `memoryBudgetMb` is set) must admit a thumbnail, and each format's largest result
 * (`maxOutputPixels`), or those requests would all be refused as over budget (400).
 */
function resizerMemory(cfg: ClusterSpec, issue: Issue): void {
  const r = cfg.resizer;
  const MiB = 2 ** 20;
  const needs = (format: "jpeg" | "png" | "webp" | "avif", pixels: number) =>
    Math.ceil(estimateTransformBytes({ sourcePixels: undefined, outputPixels: pixels, bands: 3, format, smartcropPixels: 0 }, r.maxInputPixels) / MiB);
  const seen = new Set<number>();
  cfg.hosts.forEach((host, h) => {
    const memoryMb = host.resizer?.memoryMb ?? r.memoryMb;
    if (seen.has(memoryMb)) return;
    seen.add(memoryMb);
    const budget = r.memoryBudgetMb || memoryBudgetMb(memoryMb, r.concurrency);
    const where = r.memoryBudgetMb
      ? `memoryBudgetMb ${budget} MiB`
      : `the ${budget} MiB memory budget of a ${memoryMb} MB replica running ${r.concurrency} at once${host.resizer?.memoryMb !== undefined ? ` (hosts[${h}])` : ""}`;
    const thumbnail = needs("jpeg", 320 * 180);
    if (thumbnail > budget) {
      const path = host.resizer?.memoryMb !== undefined ? ["hosts", h, "resizer", "memoryMb"] : ["resizer", r.memoryBudgetMb ? "memoryBudgetMb" : "memoryMb"];
      issue(path, `a thumbnail may need ${thumbnail} MiB (sources up to maxInputPixels), over ${where}: give the replicas more memory or run fewer at once`);
      return;
    }
    for (const format of ["jpeg", "png", "webp", "avif"] as const) {
      const largest = needs(format, r.maxOutputPixels[format]);
      if (largest > budget) {
        issue(["resizer", "maxOutputPixels", format], `a ${r.maxOutputPixels[format]} px ${format.toUpperCase()} may need ${largest} MiB, over ${where}: lower the limit or give the replicas more memory`);
      }
    }
  });
}

/**
 * Docker endpoints: tcp:// is the Docker API without TLS, root on the host for anyone who
 * can reach the port; only a loopback one (an ssh tunnel, a local proxy) is allowed.
 */
function noPlainTcpDocker(cfg: ClusterSpec, issue: Issue): void {
  for (const { path, host } of dockerHosts(cfg)) {
    const tcp = /^tcp:\/\/([^:]+):/.exec(host.docker);
    if (tcp && !/^(127\.\d+\.\d+\.\d+|localhost)$/.test(tcp[1]!)) {
      issue([...path, "docker"], "tcp:// is the Docker API without TLS (root on the host for anyone who reaches it): use ssh://, or tcp:// on a loopback address");
    }
  }
}

/** Docker endpoints: ssh options only mean something for ssh://. */
function sshOptsNeedSsh(cfg: ClusterSpec, issue: Issue): void {
  for (const { path, host } of dockerHosts(cfg)) {
    if (host.sshOpts !== undefined && !host.docker.startsWith("ssh://")) {
      issue([...path, "sshOpts"], `sshOpts only apply to ssh:// endpoints, not ${host.docker.split(":")[0]}://`);
    }
  }
}

/** Every machine the program reaches through a Docker endpoint: the image hosts, then the L4 hosts. */
function dockerHosts(cfg: ClusterSpec): { path: (string | number)[]; host: { docker: string; sshOpts?: string[] | undefined } }[] {
  return [
    ...cfg.hosts.map((host, i) => ({ path: ["hosts", i], host })),
    ...(cfg.vip?.haproxy?.hosts ?? []).map((host, i) => ({ path: ["vip", "haproxy", "hosts", i], host })),
  ];
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
      for (const p of opsPorts(cfg)) {
        if (p.port > 65535) issue(["ops", "port"], `${p.what} would need port ${p.port}, beyond 65535: lower ops.port`);
        else claim(p.port, p.what, ["ops", "port"]);
      }
    } else {
      used.set(cfg.master.httpPort, "master.httpPort");
      used.set(cfg.master.httpsPort, "master.httpsPort");
      cfg.slaves.forEach((s, i) => used.set(s.port, `slaves[${i}]`));
      for (const p of opsPorts(cfg)) used.set(p.port, p.what);
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
  cfg.vip?.haproxy?.hosts.forEach((host, i) => {
    if (inSubnet(host.address)) issue(["network", "subnet"], `${cfg.network.subnet} contains vip.haproxy.hosts[${i}].address ${host.address}: containers would shadow it`);
  });
}

/** A VIP must not be one of the hosts. */
function vipIsNoHost(cfg: ClusterSpec, issue: Issue): void {
  if (cfg.vip !== undefined) {
    const vip = normaliseIp(cfg.vip.address);
    const clash = cfg.hosts.findIndex((h) => normaliseIp(h.address) === vip);
    if (clash >= 0) issue(["vip", "address"], `the VIP ${cfg.vip.address} is also the address of hosts[${clash}]`);
  }
}

/** `vip.haproxy` goes with `mode: haproxy`, and so does a registry image for it. */
function vipMode(cfg: ClusterSpec, issue: Issue): void {
  const mode = cfg.vip?.mode;
  if (mode === "haproxy" && cfg.vip?.haproxy === undefined) {
    issue(["vip", "haproxy"], "mode haproxy needs vip.haproxy.hosts: the L4 hosts HAProxy and keepalived run on");
  }
  if (mode === "hardware" && cfg.vip?.haproxy !== undefined) {
    issue(["vip", "mode"], "vip.haproxy is set but mode is hardware: set mode: haproxy, or remove vip.haproxy");
  }
  if (cfg.images.vip !== undefined && mode !== "haproxy") {
    issue(["images", "vip"], "the HAProxy image is only used with vip.mode haproxy");
  }
}

/**
 * L4 hosts are machines of their own: HAProxy publishes the VIP ports on every address of
 * its host (the VIP moves between them), which a master there would hold already.
 */
function vipHosts(cfg: ClusterSpec, issue: Issue): void {
  const vip = cfg.vip;
  if (vip?.haproxy === undefined) return;
  const imageHosts = new Map(cfg.hosts.map((h, i) => [h.name, i]));
  const imageAddresses = new Map(cfg.hosts.map((h, i) => [normaliseIp(h.address), i]));
  const names = new Map<string, number>();
  const addresses = new Map<string, number>();
  const family = (address: string) => (address.includes(":") ? "IPv6" : "IPv4");
  vip.haproxy.hosts.forEach((host, i) => {
    const at = (key: string) => ["vip", "haproxy", "hosts", i, key];
    const sameName = names.get(host.name);
    if (sameName !== undefined) issue(at("name"), `duplicate L4 host name "${host.name}" (also vip.haproxy.hosts[${sameName}])`);
    else names.set(host.name, i);
    const imageHost = imageHosts.get(host.name);
    if (imageHost !== undefined) issue(at("name"), `"${host.name}" is already hosts[${imageHost}]: give the L4 host a name of its own`);
    const address = normaliseIp(host.address);
    const sameAddress = addresses.get(address);
    if (sameAddress !== undefined) issue(at("address"), `duplicate address ${host.address} (also vip.haproxy.hosts[${sameAddress}])`);
    else addresses.set(address, i);
    const imageAddress = imageAddresses.get(address);
    if (imageAddress !== undefined) {
      issue(at("address"), `${host.address} is hosts[${imageAddress}]: an L4 host publishes ${cfg.master.httpPort}/${cfg.master.httpsPort} on every address, which that host's master holds`);
    }
    if (address === normaliseIp(vip.address)) issue(at("address"), `${host.address} is the VIP itself: give each L4 host its own address (keepalived moves the VIP between them)`);
    else if (family(host.address) !== family(vip.address)) issue(at("address"), `an ${family(host.address)} address, but the VIP is ${family(vip.address)}: VRRP runs in the VIP's family`);
  });
}

/** HAProxy publishes the VIP ports on every address of an L4 host: the stats port must be another. */
function vipStatsPort(cfg: ClusterSpec, issue: Issue): void {
  const stats = cfg.vip?.haproxy?.statsPort;
  if (stats === undefined) return;
  for (const key of ["httpPort", "httpsPort"] as const) {
    if (cfg.master[key] === stats) issue(["vip", "haproxy", "statsPort"], `port ${stats} is master.${key}, which HAProxy serves on the VIP`);
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
  tlsPrivateKeys: "tlsPrivateKeys",
  acmeDnsCredentials: "acmeDnsCredentials",
  resizerSigningKeys: "resizerSigningKeys",
} as const;

/** What each secret key holds (the README's reference lists them): its row, type and meaning. */
export const SECRET_KEY_DOCS: Record<keyof typeof SECRET_KEYS, { key: string; type: string; description: string }> = {
  tlsPrivateKeys: {
    key: "tlsPrivateKeys.<id>",
    type: "secret map",
    description: "**secret** (`pulumi config set --secret --path`): the supplied certificate's PEM private key; never read by `render`",
  },
  acmeDnsCredentials: {
    key: "acmeDnsCredentials.<id>",
    type: "secret map",
    description: "**secret**: the dns-01 plugin's credentials file (for `route53`, an AWS credentials file)",
  },
  resizerSigningKeys: {
    key: "resizerSigningKeys",
    type: "secret list",
    description:
      "**secret**: HMAC keys of signed URLs, each at least 32 characters; the first signs, every one is accepted (rotation: RUNBOOK.md, Signing keys); needed by `resizer.signing.required`",
  },
};

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

/**
 * Whether the masters apply `nginx.resizeLimits`: as configured, else on unless the software
 * VIP is in front. HAProxy passes HTTPS through in TCP mode, so a master sees HAProxy's
 * address for every client: per-client limits would throttle all clients as one.
 */
export function resizeLimitsEnabled(cfg: Pick<ClusterSpec, "nginx" | "vip">): boolean {
  return cfg.nginx.resizeLimits.enabled ?? cfg.vip?.mode !== "haproxy";
}

/** Per-client limits need the clients' addresses (see resizeLimitsEnabled). */
function resizeLimitsSeeClients(cfg: ClusterSpec, issue: Issue): void {
  if (cfg.vip?.mode === "haproxy" && cfg.nginx.resizeLimits.enabled === true) {
    issue(
      ["nginx", "resizeLimits", "enabled"],
      "behind vip.mode haproxy every master sees HAProxy's address for every HTTPS client, so per-client limits would limit all clients together: leave enabled unset or set it to false",
    );
  }
}
