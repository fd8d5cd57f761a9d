// The master of one host: TLS, load balancing over the host's slaves, the resize routes to
// the resizer replicas behind a proxy cache, and the locations the seeds' master served
// itself. Pure: MasterPlan in, nginx.conf text out. Names, ports and paths come from the
// plan only.
import { acceptsPattern, CONTENT_TYPES } from "../../resizer/src/format.js";
import { NOT_FOUND_STATUS_HEADER, ROUTES, type Route, type RoutePattern } from "../../resizer/src/routes.js";
import { hostPort } from "../address.js";
import type { CacheConfig } from "../config.js";
import { HEALTH, NGINX_NAMES, RESIZE_KEY, type MasterPlan, type MasterTuning, type ServerPlan, type UpstreamMember, type UpstreamPlan } from "../topology.js";
import { block, config, d, entry, expr, regex, section, why, type ArgLike, type Config, type Node } from "./ast.js";
import { header, httpCommon, listenAddress, mainContext, openFileBudget } from "./common.js";
import { guardMaps, serverGuards } from "./guards.js";
import { accessLog, routeLabel, statusServer } from "./observability.js";
import { print } from "./print.js";

/** Variables the master defines with `map` and uses in the resize locations. */
export const MASTER_VARIABLES = {
  /** avif | webp | jpeg: the best format the client's Accept lists. */
  acceptVariant: "resize_accept_variant",
  /** The Accept header sent to the resizer: exactly one image type, from the variant. */
  accept: "resize_accept",
  /** The variant when the response can depend on Accept, else empty: part of the cache key. */
  keyVariant: RESIZE_KEY.variantVariable,
  /** Non-empty unless the resizer answered 200: where only 200s may be stored (proxy_no_cache). */
  notStored: "resize_not_stored",
  /** `Retry-After` for the master's own 429 (empty for every other status, so not sent). */
  retryAfter: "resize_retry_after",
} as const;

const v = (name: string) => `$${name}`;

/**
 * The `route` label of what the master answers without the resizer (the resizer's public
 * routes are labelled by their own table, resizer/src/routes.ts); `other` for anything a
 * location does not name.
 */
export const MASTER_ROUTES = { thumbnail: "thumbnail", static: "static", acme: "acme", other: "other" } as const;

/** Where the master's own 50x page is (a file the renderer writes into `paths.htmlDir`). */
export const ERROR_PAGE_50X = "/50x.html";

/**
 * Mozilla's "intermediate" TLS profile (guidelines 5.7/6.0): TLS 1.2 and 1.3, forward-secret
 * AEAD ciphers for 1.2 (1.3 suites are all fine and are not set by ssl_ciphers).
 */
export const TLS = {
  protocols: ["TLSv1.2", "TLSv1.3"],
  ciphers: [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ],
  curves: ["X25519", "prime256v1", "secp384r1"],
  sessionCacheSize: "10m",
  sessionTimeout: "1d",
} as const;

/** certbot's http-01 webroot, served by every master (a dot path the guards let through). */
export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** Statuses of the master's own error page. */
const SERVER_ERRORS = [500, 502, 503, 504] as const;

// ---------------------------------------------------------------------------------------
// Upstreams

function memberParams(m: UpstreamMember): string[] {
  return [
    ...(m.weight !== undefined ? [`weight=${m.weight}`] : []),
    ...(m.maxConns !== undefined ? [`max_conns=${m.maxConns}`] : []),
    ...(m.maxFails !== undefined ? [`max_fails=${m.maxFails}`] : []),
    ...(m.failTimeout !== undefined ? [`fail_timeout=${m.failTimeout}`] : []),
    ...(m.backup ? ["backup"] : []),
    ...(m.down ? ["down"] : []),
  ];
}

function balancing(up: UpstreamPlan): Node | undefined {
  const b = up.balance;
  switch (b.method) {
    case "round_robin":
      return undefined;
    case "least_conn":
      return d("least_conn");
    case "ip_hash":
      return d("ip_hash");
    case "hash":
      return b.consistent ? d("hash", expr(b.key), "consistent") : d("hash", expr(b.key));
    case "random":
      return b.two ? d("random", "two") : d("random");
  }
}

/**
 * How long the master keeps an idle upstream connection: shorter than the members' own
 * keep-alive, so a request is never written into a connection the member is closing.
 */
export function upstreamIdleTimeout(memberKeepAliveMs: number): string {
  const ms = memberKeepAliveMs > 2000 ? memberKeepAliveMs - 1000 : Math.max(1, Math.floor(memberKeepAliveMs / 2));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function upstream(up: UpstreamPlan, why_: string): Node {
  return why(
    why_,
    block("upstream", [up.name], [
      // Failure counts (max_fails) shared by all workers instead of kept per worker.
      d("zone", up.name, "64k"),
      // The method must come before keepalive (nginx requires it).
      balancing(up),
      ...up.members.map((m) => d("server", hostPort(m.host, m.port), ...memberParams(m))),
      d("keepalive", up.keepalive),
      d("keepalive_timeout", upstreamIdleTimeout(up.memberKeepAliveMs)),
    ]),
  );
}

// ---------------------------------------------------------------------------------------
// Proxying

/** Settings every proxied location shares; set once at http level (no location overrides them). */
function proxyDefaults(tuning: MasterTuning): Node {
  return section(
    "Proxying to slaves and resizers. HTTP/1.1 (with the empty Connection header each proxied\n" +
      "location sets) keeps the upstream keepalive pools in use. A dead member costs the\n" +
      "client a retry on the next one, not an error (the resize locations narrow the list).",
    [
      d("proxy_http_version", "1.1"),
      d("proxy_connect_timeout", tuning.proxy.connectTimeout),
      d("proxy_next_upstream", "error", "timeout", "http_502", "http_503", "http_504"),
      d("proxy_next_upstream_tries", tuning.proxy.nextUpstreamTries),
      d("proxy_redirect", "off"),
      why(
        "A response larger than the proxy buffers is never spooled to the temp directory (a\n" +
          "small tmpfs in containers: a few slow clients of large files filled it, and a full one\n" +
          "cut answers short after their 200). Beyond the buffers nginx reads from the member only\n" +
          "as fast as the client takes the bytes. Cached resizes are written to the cache volume.",
        d("proxy_max_temp_file_size", 0),
      ),
    ],
  );
}

/**
 * proxy_pass, read timeout and the request headers of one proxied location. The headers are
 * written in every location: nginx drops all inherited proxy_set_header as soon as a
 * location sets one (the resize locations set Accept), so none are left to inheritance.
 */
function proxyTo(up: UpstreamPlan, readTimeout: string, extraHeaders: Node[] = [], uri?: string): Node[] {
  return [
    d("proxy_pass", uri === undefined ? `http://${up.name}` : expr(`http://${up.name}${uri}`)),
    d("proxy_read_timeout", readTimeout),
    section(undefined, [
      d("proxy_set_header", "Connection", ""),
      d("proxy_set_header", "Host", expr("$host")),
      d("proxy_set_header", "X-Real-IP", expr("$remote_addr")),
      d("proxy_set_header", "X-Forwarded-For", expr("$proxy_add_x_forwarded_for")),
      d("proxy_set_header", "X-Forwarded-Proto", expr("$scheme")),
      why("One id for the request in the master's, the slave's and the resizer's logs.", d("proxy_set_header", "X-Request-Id", expr("$request_id"))),
      ...extraHeaders,
    ]),
  ];
}

/** proxy_cache_valid lines in config order, `any` last (nginx uses the first that matches). */
function cacheValidity(cache: CacheConfig): Node[] {
  const specific = cache.valid.filter((c) => c.statuses !== "any");
  const any = cache.valid.filter((c) => c.statuses === "any");
  return [
    ...specific.map((c) => d("proxy_cache_valid", ...(c.statuses as number[]), c.time)),
    ...any.map((c) => d("proxy_cache_valid", "any", c.time)),
  ];
}

/**
 * The cache policy of resized images, set once at http level: these directives act only
 * where `proxy_cache` is on, i.e. in the resize locations.
 */
function cachePolicy(master: MasterPlan): Node[] {
  const { cache } = master;
  return [
    why(
      "Resized images (seed: fastcgi_cache_path ... keys_zone=one:100m). use_temp_path=off writes\n" +
        "entries straight into the cache volume instead of copying them from the temp tmpfs.",
      d(
        "proxy_cache_path",
        master.paths.cacheDir,
        `levels=${cache.levels}`,
        `keys_zone=${cache.zone}:${cache.keysZoneSize}`,
        `inactive=${cache.inactive}`,
        `max_size=${cache.maxSize}`,
        "use_temp_path=off",
      ),
    ),
    section(
      "The policy below acts only where proxy_cache is on: the resize locations.\n" +
        "Key: the format variant (see the maps above) and the request URI exactly as the\n" +
        `resizer receives it, which each resize location sets in $${RESIZE_KEY.keyVariable}; the resizers\n` +
        "upstream hashes the same variable when the replicas share identical resizes.\n" +
        "Only canonical URLs are answered with an image (the resizer redirects any other\n" +
        "spelling), so one result is one entry. No $cookie_user (the seeds' key had it): that made\n" +
        "one cached copy per logged-in user, so nearly every request resized again. No $scheme or\n" +
        "$host either: every domain of this host serves the same images tree.",
      [d("proxy_cache_key", expr(RESIZE_KEY.expression))],
    ),
    section(
      "Validity per status comes from the config alone: the resizer's Cache-Control and\n" +
        "Expires still reach clients but cannot keep an entry here longer than cache.valid, so a\n" +
        "changed source shows within that time. Vary is ignored because the key already holds\n" +
        "the variant (nginx would otherwise store one copy per raw Accept string).",
      [...cacheValidity(cache), d("proxy_ignore_headers", "Cache-Control", "Expires", "X-Accel-Expires", "Vary")],
    ),
    section(
      "Expired entries are revalidated with the resizer's ETag (a 304 costs no resize), in the\n" +
        "background while the stale copy is served.",
      [
        d("proxy_cache_revalidate", "on"),
        d("proxy_cache_background_update", "on"),
        d("proxy_cache_use_stale", "error", "timeout", "updating", "http_500", "http_502", "http_503", "http_504"),
      ],
    ),
    ...(ROUTES.some((r) => r.cached && r.domainNotFound)
      ? [
          why(
            "Routes that store only 200s (the storyboards): their not-found answers carry the asking\n" +
              "domain's status, which a shared entry would hand to every domain. A retried request\n" +
              "ends with the status that counts.",
            block("map", [expr("$upstream_status"), expr(v(MASTER_VARIABLES.notStored))], [entry("default", "1"), entry(regex("~(^|\\s)200$"), "")]),
          ),
        ]
      : []),
    cacheLock(master),
  ];
}

/**
 * Which failures of a resize are tried on the next replica: only a replica that cannot be
 * reached. Any answer (503 busy or timed out, 400 over its memory budget) goes to the client
 * as it is, and a resize that outlived proxy_read_timeout is not sent to a second replica.
 */
function resizeRetries(): Node {
  return why(
    "Only a replica that cannot be reached is skipped for the next one (`error`). A request\n" +
      "that timed out (here or in the resizer) or was refused for load is never resent: a\n" +
      "request heavy enough to exhaust one replica would take down the next one too, and\n" +
      "retrying busy answers counted busy replicas as failed (max_fails), so a burst took every\n" +
      "replica out for fail_timeout. A transform that dies mid-request (its worker process)\n" +
      "answers 503 on the same connection; it does not drop it.",
    d("proxy_next_upstream", "error"),
  );
}

/** Whether the resizers upstream sends every request for one cache key to the same replica. */
export function resizersHashTheCacheKey(master: Pick<MasterPlan, "resizers">): boolean {
  const b = master.resizers.balance;
  return b.method === "hash" && b.key === RESIZE_KEY.expression;
}

/**
 * How long a concurrent miss waits on nginx's cache lock when the replica it will reach
 * shares the running resize anyway. nginx wakes a waiter only when this passes (or every
 * 500 ms): a resize finished by then is served from the cache (no upstream request, no
 * cache write), otherwise the waiter goes to the replica, joins the resize there and is
 * answered when it ends, its copy not cached again. Short against a resize (10 ms for a
 * small source), so the wait costs little either way.
 */
export const SHARED_RESIZE_LOCK_WAIT = "5ms";

/**
 * Concurrent misses for one new variant. nginx's cache lock makes them wait for the first
 * one's resize, but a waiter only re-checks on a timer of up to 500 ms, so each waited
 * ~500 ms for a 20 ms resize. When the resizers are chosen by the cache key the lock is
 * only a short backstop (see SHARED_RESIZE_LOCK_WAIT): the replica shares the resize. With
 * any other balancing the replicas cannot share a resize, and the long lock still saves the
 * duplicates.
 */
function cacheLock(master: MasterPlan): Node {
  const lockAge = master.tuning.proxy.resizerReadTimeout;
  if (resizersHashTheCacheKey(master)) {
    return section(
      "Concurrent misses for one variant: a short wait on the lock, then to the replica the\n" +
        "cache key hashes to, which is resizing it already and answers them all at once. A\n" +
        "long lock would hold them ~500 ms (nginx re-checks it on that timer).",
      [d("proxy_cache_lock", "on"), d("proxy_cache_lock_timeout", SHARED_RESIZE_LOCK_WAIT), d("proxy_cache_lock_age", lockAge)],
    );
  }
  return section(
    "Concurrent misses for one key wait (up to the resizer's read timeout) for a single\n" +
      "resize instead of each starting their own: replicas chosen by load cannot share one.\n" +
      "nginx re-checks the lock on a timer of up to 500 ms, so the waiters take that long.",
    [d("proxy_cache_lock", "on"), d("proxy_cache_lock_timeout", lockAge), d("proxy_cache_lock_age", lockAge)],
  );
}

/** http level: the per-client zones the resize locations count in (nginx.resizeLimits). */
function resizeLimitZones(limits: MasterTuning["resizeLimits"]): Node[] {
  if (!limits.enabled) return [];
  return [
    section(
      "Per client address, on the resize routes only (nginx.resizeLimits): requests in flight and\n" +
        "requests per second, with a burst a page of thumbnails never reaches. Cache hits count too:\n" +
        "the limits apply before the cache is looked up. The key is the address nginx sees, so an L4\n" +
        "that hides client addresses (source NAT) needs them off.",
      [
        d("limit_conn_zone", expr("$binary_remote_addr"), `zone=${NGINX_NAMES.resizeConnections}:10m`),
        d("limit_req_zone", expr("$binary_remote_addr"), `zone=${NGINX_NAMES.resizeRequests}:10m`, `rate=${limits.rate}r/s`),
        d("limit_conn_status", 429),
        d("limit_req_status", 429),
      ],
    ),
    why(
      "A client over its limits may retry after a second.",
      block("map", [expr("$status"), expr(v(MASTER_VARIABLES.retryAfter))], [entry("default", ""), entry("429", 1)]),
    ),
  ];
}

/** A resize location's share of the per-client limits. */
function resizeLimits(limits: MasterTuning["resizeLimits"]): Node | false {
  return (
    limits.enabled &&
    section(undefined, [
      d("limit_conn", NGINX_NAMES.resizeConnections, limits.connections),
      d("limit_req", `zone=${NGINX_NAMES.resizeRequests}`, `burst=${limits.burst}`, "nodelay"),
      d("add_header", "Retry-After", expr(v(MASTER_VARIABLES.retryAfter)), "always"),
    ])
  );
}

/**
 * What an exact-path resize location sends upstream and keys its cache entry on: its own
 * path, literally (never `$uri`, which nginx decodes), and the query exactly as received (the
 * resizer redirects every spelling but the canonical one). `//resize` or `/%72esize` reach
 * the same location, so they cannot become a key of their own.
 */
const upstreamUri = (path: string) => `${path}$is_args$args`;

/**
 * What a cached resize location never stores: a redirect to the canonical URL (any other
 * spelling of a request: unbounded, and where it leads depends on configured defaults),
 * whatever cache.valid lists; and on routes answering the domain's not-found status,
 * anything but a 200 (the cache is shared by all domains).
 */
function noStore(route: Route): Node | false {
  const when = [...(route.redirectsToCanonical ? [expr("$upstream_http_location")] : []), ...(route.domainNotFound ? [expr(v(MASTER_VARIABLES.notStored))] : [])];
  return route.cached && when.length > 0 && d("proxy_no_cache", ...when);
}

/**
 * A resizer location: the resizers, the normalised Accept, and for a cached route the
 * cache. `path`: the location's exact path (exact and listed routes).
 */
function resizeBody(master: MasterPlan, route: Route, s: ServerPlan, path: string | undefined): (Node | false)[] {
  return [
    routeLabel(route.label),
    resizeLimits(master.tuning.resizeLimits),
    resizeRetries(),
    why(
      path === undefined
        ? "The cache key (and the replica it hashes to): the variant and the URI as received."
        : "The cache key (and the replica it hashes to): this exact path, whatever spelling reached\n" +
            "it (`//resize`, `/%72esize`), and the query as sent: the URI the resizer receives.",
      d("set", expr(v(RESIZE_KEY.keyVariable)), expr(`${v(MASTER_VARIABLES.keyVariant)}|${path === undefined ? "$request_uri" : upstreamUri(path)}`)),
    ),
    ...proxyTo(
      master.resizers,
      master.tuning.proxy.resizerReadTimeout,
      [
        why("fmt=auto is negotiated on this normalised Accept: exactly the variant in the key.", d("proxy_set_header", "Accept", expr(v(MASTER_VARIABLES.accept)))),
        why("Images never depend on cookies.", d("proxy_set_header", "Cookie", "")),
        ...(route.domainNotFound
          ? [why(`A missing episode or sheet answers ${s.notFoundStatus} on ${s.domain}, as its thumbnails do.`, d("proxy_set_header", NOT_FOUND_STATUS_HEADER, s.notFoundStatus))]
          : []),
      ],
      path === undefined ? undefined : upstreamUri(path),
    ),
    why("The resizer names its sharp and libvips versions for its own logs, not for the public.", d("proxy_hide_header", "X-Resize-Engine")),
    route.cached && section(undefined, [d("proxy_cache", master.cache.zone), d("add_header", "X-Cache-Status", expr("$upstream_cache_status"), "always")]),
    noStore(route),
    ...(route.cached ? cacheHitPath(master) : []),
  ];
}

/**
 * What a cache HIT costs beyond sending the bytes (measured per setting in
 * bench/results/RESULTS.md): the cache file's descriptor is kept open, within the
 * descriptors the worker's connections leave (nginx compares the file's inode with the
 * cache entry's on every use, so a replaced entry is never served from an old
 * descriptor), and the resizer's per-request id is not replayed from the cached headers.
 */
function cacheHitPath(master: MasterPlan): Node[] {
  const files = openFileBudget(master.tuning.master, 2);
  const openFiles = why(
    "Cache files stay open between HITs, within the descriptors the connections leave (the\ninode is checked on every use, so a replaced entry is never served from an old one).",
    d("open_file_cache", `max=${files}`),
  );
  return [...(files !== undefined ? [openFiles] : []), why("The id of the request that filled the entry would be replayed on every HIT.", d("proxy_hide_header", "X-Request-Id"))];
}

/** `location` arguments for a route pattern of the resizer's table (one per listed path). */
function locationArgs(pattern: RoutePattern, master: MasterPlan): ArgLike[][] {
  switch (pattern.kind) {
    case "exact":
      return [["=", pattern.path]];
    case "regex":
      return [["~", regex(pattern.source)]];
    case "listed":
      return master[pattern.setting].map((path) => ["=", path]);
  }
}

/** Every public route of the resizer (resizer/src/routes.ts), proxied to the replicas. */
function resizerLocations(master: MasterPlan, s: ServerPlan): Node[] {
  return ROUTES.filter((r) => r.public).flatMap((r: Route) =>
    locationArgs(r.pattern, master).map((args, i) => {
      const path = args[0] === "=" ? String(args[1]) : undefined;
      const location = block("location", args, resizeBody(master, r, s, path));
      return r.comment === undefined || i > 0 ? location : why(r.comment, location);
    }),
  );
}

// ---------------------------------------------------------------------------------------
// http-level pieces only the master has

function tlsSettings(): Node {
  return section(
    'TLS: Mozilla "intermediate" (TLS 1.2 and 1.3, forward-secret AEAD ciphers; the seeds\n' +
      "had `ssl on` with SSLv2/SSLv3/TLSv1 and RC4). Certificates are set per server (SNI).\n" +
      "No OCSP stapling (browsers no longer need it; infra/nginx/README.md) and no HSTS: these\n" +
      "origin names are also served over plain HTTP on purpose.",
    [
      d("ssl_protocols", ...TLS.protocols),
      d("ssl_ciphers", TLS.ciphers.join(":")),
      d("ssl_prefer_server_ciphers", "off"),
      d("ssl_ecdh_curve", TLS.curves.join(":")),
      d("ssl_session_cache", `shared:${NGINX_NAMES.tlsSessionCache}:${TLS.sessionCacheSize}`),
      d("ssl_session_timeout", TLS.sessionTimeout),
      d("ssl_session_tickets", "off"),
    ],
  );
}

/** Accept -> variant -> normalised Accept, and the variant part of the cache key. */
function formatMaps(): Node[] {
  return [
    why(
      "fmt=auto: the best format the client lists explicitly, by the resizer's own rule (one\n" +
        "definition: resizer/src/format.ts `acceptsPattern`): an element of the Accept list naming\n" +
        "the type exactly, as an RFC 9110 media range, with a weight above 0. Wildcards do not\n" +
        "count; a type refused with q=0 lets the next pattern apply.",
      block("map", [expr("$http_accept"), expr(v(MASTER_VARIABLES.acceptVariant))], [
        entry("default", "jpeg"),
        entry(regex(`~*${acceptsPattern(CONTENT_TYPES.avif)}`), "avif"),
        entry(regex(`~*${acceptsPattern(CONTENT_TYPES.webp)}`), "webp"),
      ]),
    ),
    block("map", [expr(v(MASTER_VARIABLES.acceptVariant)), expr(v(MASTER_VARIABLES.accept))], [
      entry("default", "image/jpeg"),
      entry("avif", "image/avif"),
      entry("webp", "image/webp"),
    ]),
    why(
      "Only fmt=auto negotiates: given explicitly or by a preset (whose fmt the master cannot\n" +
        "know). Without fmt the resizer keeps the source's format and an explicit fmt fixes it,\n" +
        "so those share one cache entry whatever the client accepts. A parameter name with a\n" +
        "%-escape could decode to fmt or p, so it counts as negotiating too.",
      block("map", [expr("$args"), expr(v(MASTER_VARIABLES.keyVariant))], [
        entry("default", ""),
        entry(regex("~(^|&)p="), expr(v(MASTER_VARIABLES.acceptVariant))),
        entry(regex("~(^|&)fmt=(?!(jpe?g|png|webp|avif)(&|$))"), expr(v(MASTER_VARIABLES.acceptVariant))),
        entry(regex("~(^|&)[^=&]*%"), expr(v(MASTER_VARIABLES.acceptVariant))),
      ]),
    ),
  ];
}

// ---------------------------------------------------------------------------------------
// Servers

/** Named location of the ACME issuer's master (followers only). */
export const ACME_ISSUER_LOCATION = "@acme_issuer";
/** Request header marking a challenge request one master already forwarded. */
export const ACME_HOP_HEADER = "X-Image-Origin-Acme-Hop";

/**
 * The L4 may send Let's Encrypt's validation request to any host, but only the issuer
 * (where certbot runs) has the challenge file: a follower forwards what it cannot answer.
 */
function acmeIssuer(issuer: { address: string; port: number }): Node {
  const hop = `$http_${ACME_HOP_HEADER.toLowerCase().replace(/-/g, "_")}`;
  return why(
    "http-01 challenge files live on the ACME issuer host only (one issuance for the whole\n" +
      "cluster); the L4 may send the validation request to any host, so ask the issuer's master.",
    block("location", [ACME_ISSUER_LOCATION], [
      why("Forwarded once at most: a loop is impossible even if two masters pointed at each other.", block("if", ["(", expr(hop), ")"], [d("return", 404)])),
      d("proxy_pass", `http://${hostPort(issuer.address, issuer.port)}`),
      d("proxy_set_header", "Host", expr("$host")),
      d("proxy_set_header", ACME_HOP_HEADER, "1"),
      d("proxy_connect_timeout", "2s"),
      d("proxy_read_timeout", "5s"),
    ]),
  );
}

function listens(master: MasterPlan, server: ServerPlan): Node[] {
  const dflt = server.default ? ["default_server"] : [];
  const http = d("listen", listenAddress(master.http), ...dflt);
  if (!server.tls || !master.https) return [http];
  return [http, d("listen", listenAddress(master.https), "ssl", "http2", ...dflt)];
}

function server(master: MasterPlan, s: ServerPlan): Node {
  const { tuning, paths } = master;
  const slaves = master.slaves;
  return why(
    `Domain ${s.domain}${s.default ? " (default: unknown names and the L4's health checks land here)" : ""}.`,
    block("server", [], [
      ...listens(master, s),
      d("server_name", ...s.serverNames),
      why("The `route` of the access log and the request metrics; each location below names its own.", routeLabel(MASTER_ROUTES.other)),
      s.tls && master.https && section(`Certificate "${s.tls.certificate}".`, [d("ssl_certificate", s.tls.certPath), d("ssl_certificate_key", s.tls.keyPath)]),
      serverGuards(),
      d("error_page", ...SERVER_ERRORS, ERROR_PAGE_50X),

      block("location", ["=", "/favicon.ico"], [d("access_log", "off"), d("log_not_found", "off"), d("return", 204)]),

      why(
        "L4 health check: proxied to the slaves, which answer their own /healthz. 200 while at\n" +
          "least one slave of this host serves (every slave is tried, not just nextUpstreamTries);\n" +
          "502/504 when none can, and the L4 takes the host out. The resizers are not part of it:\n" +
          "cached variants, thumbnails and static files still serve without them, and a host must\n" +
          "not leave the pool for a resize backlog.",
        block("location", ["=", HEALTH.path], [
          d("access_log", "off"),
          section(
            "Draining: an operator creates this file (`docker exec <host>-master touch <file>`); the\n" +
              "L4 stops sending new connections while requests in flight still complete.",
            [block("if", ["(", "-f", paths.drainFile, ")"], [d("return", 503)])],
          ),
          ...proxyTo(slaves, tuning.proxy.slaveReadTimeout),
          d("proxy_next_upstream_tries", 0),
        ]),
      ),

      why(
        "certbot's webroot for http-01 challenges; reachable over plain HTTP (never redirected).",
        block("location", ["^~", ACME_CHALLENGE_PREFIX], [
          routeLabel(MASTER_ROUTES.acme),
          d("root", paths.acmeWebroot),
          d("default_type", "text/plain"),
          d("try_files", expr("$uri"), master.acmeFallback ? ACME_ISSUER_LOCATION : "=404"),
        ]),
      ),
      master.acmeFallback && acmeIssuer(master.acmeFallback),

      why(
        `Thumbnails straight from the images tree, as the seeds did; a missing one answers ${s.notFoundStatus}${s.notFoundStatus === 400 ? "\n(this domain's clients asked for 400 instead of 404)" : ""}.`,
        block("location", ["^~", "/thumbnail/"], [
          routeLabel(MASTER_ROUTES.thumbnail),
          d("root", paths.imagesRoot),
          d("expires", tuning.expires.thumbnail),
          d("try_files", expr("$uri"), `=${s.notFoundStatus}`),
        ]),
      ),

      ...resizerLocations(master, s),

      why("Everything else: static files from the slaves.", block("location", ["/"], [routeLabel(MASTER_ROUTES.static), ...proxyTo(slaves, tuning.proxy.slaveReadTimeout)])),

      block("location", ["=", ERROR_PAGE_50X], [d("root", paths.htmlDir), d("internal")]),
    ]),
  );
}

// ---------------------------------------------------------------------------------------
// Entry points

export function masterConfig(master: MasterPlan): Config {
  const tuning = master.tuning;
  const tls = master.https !== undefined && master.servers.some((s) => s.tls);
  return config([
    header(master.name, "master"),
    ...mainContext(master.paths, tuning.master),
    block("http", [], [
      ...httpCommon(master.paths, tuning, accessLog({ accessLog: master.paths.accessLog, buffer: tuning.master.accessLogBuffer, ops: master.ops, instance: master.name, role: "master" })),
      tls && tlsSettings(),
      proxyDefaults(tuning),
      ...guardMaps([ACME_CHALLENGE_PREFIX]),
      ...resizeLimitZones(tuning.resizeLimits),
      ...formatMaps(),
      ...cachePolicy(master),
      upstream(master.slaves, "This host's slaves. Named once here and referenced by proxy_pass, with the slaves'\nown ports: the seeds' btv_image/tving_image and 8081/8001 mix-ups cannot recur."),
      upstream(
        master.resizers,
        resizersHashTheCacheKey(master)
          ? "This host's resizer replicas, chosen by the resize cache key: all requests for one\nvariant reach the same replica, which resizes it once for all of them."
          : "This host's resizer replicas; a resize goes to the least busy one.",
      ),
      ...master.servers.map((s) => server(master, s)),
      statusServer(master.ops),
    ]),
  ]);
}

export function renderMaster(master: MasterPlan): string {
  return print(masterConfig(master));
}
