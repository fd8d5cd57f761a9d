// The resizer's routes, in one table: the service dispatches on it, its metrics label
// requests by it, and the master's nginx config (infra/nginx/master.ts) gives every public
// route a location from it. A new endpoint is one entry here plus its handler in
// server.ts (the compiler asks for it); the master cannot forget it. Pure.
import type { ServiceSettings } from "./settings.js";
import { SHEET_PATH, TRACK_PATH } from "./storyboard/request.js";

/** How a request path is matched. */
export type RoutePattern =
  /** The path exactly (nginx `location = <path>`). */
  | { kind: "exact"; path: string }
  /**
   * A regular expression on the path (nginx `location ~ <source>`, case-sensitive as the
   * seeds' master had it); the resizer itself matches it ignoring case.
   */
  | { kind: "regex"; source: string }
  /** The exact paths a service setting lists (nginx `location = <path>` for each). */
  | { kind: "listed"; setting: "legacyPaths" };

/** The settings `listed` patterns read. */
export type RouteSettings = Pick<ServiceSettings, "legacyPaths">;

/** What answers a route in the resizer (server.ts has one handler per kind). */
export type RouteHandler = "healthz" | "metrics" | "resize" | "storyboard";

export interface Route {
  /** The `route` label of the resizer's request metrics and log lines. */
  label: string;
  pattern: RoutePattern;
  handler: RouteHandler;
  /**
   * Served to clients through the master (a location in its config); otherwise only on the
   * replica's own port, for probes and Prometheus.
   */
  public: boolean;
  /** The master keeps the responses in its resize cache. */
  cached: boolean;
  /** An old URL scheme kept working (TimThumb parameters instead of the resizer's own). */
  legacy: boolean;
  /**
   * Any other spelling of a request is answered 301 to its one canonical URL. The master
   * never stores those redirects: spellings are unbounded (a client could fill the cache
   * with them) and where they lead depends on the configured defaults.
   */
  redirectsToCanonical: boolean;
  /**
   * A missing resource is answered with the status of the domain it was asked on (a
   * domain's `notFoundStatus`: 400 on seed 001's stillshot-origin), which the master sends
   * in NOT_FOUND_STATUS_HEADER. The master then stores only 200s of the route: its cache
   * is shared by all domains, and nginx rewrites no stored answer per domain.
   */
  domainNotFound: boolean;
  /** What the master's config says above the route's location (public routes). */
  comment?: string;
}

/**
 * Request header carrying the status a missing resource is answered with on the domain
 * asked (400-499), on `domainNotFound` routes; 404 without it. The master always sets it
 * there (a client's own never reaches the resizer).
 */
export const NOT_FOUND_STATUS_HEADER = "X-Not-Found-Status";

/** In matching order: the first route whose pattern matches the path answers. */
export const ROUTES = [
  { label: "healthz", pattern: { kind: "exact", path: "/healthz" }, handler: "healthz", public: false, cached: false, legacy: false, redirectsToCanonical: false, domainNotFound: false },
  { label: "metrics", pattern: { kind: "exact", path: "/metrics" }, handler: "metrics", public: false, cached: false, legacy: false, redirectsToCanonical: false, domainNotFound: false },
  {
    label: "resize",
    pattern: { kind: "exact", path: "/resize" },
    handler: "resize",
    public: true,
    cached: true,
    legacy: false,
    redirectsToCanonical: true,
    domainNotFound: false,
    comment: "Resizes, cached (see the cache policy above): the resizer's own API ...",
  },
  {
    label: "legacy",
    // Only the script names the old URLs used (resizer.legacyPaths): any other `*.php`
    // would be a new URL, and a new cache key, per random name.
    pattern: { kind: "listed", setting: "legacyPaths" },
    handler: "resize",
    public: true,
    // Every legacy URL answers a redirect to its canonical /resize URL: nothing to keep.
    cached: false,
    legacy: true,
    redirectsToCanonical: true,
    domainNotFound: false,
    comment: "... and the legacy TimThumb URLs (<name>.php?src=&w=&h=&zc=) php-fpm used to serve,\nfor the script names in resizer.legacyPaths: each redirects to its canonical /resize URL.",
  },
  {
    label: "storyboard_track",
    pattern: { kind: "regex", source: TRACK_PATH },
    handler: "storyboard",
    public: true,
    cached: true,
    legacy: false,
    redirectsToCanonical: true,
    domainNotFound: true,
    comment:
      "Storyboards for players, cached: an episode's WebVTT thumbnails track (made from the\n" +
      "stills' names, nothing decoded) ...",
  },
  {
    label: "storyboard_sheet",
    pattern: { kind: "regex", source: SHEET_PATH },
    handler: "storyboard",
    public: true,
    cached: true,
    legacy: false,
    redirectsToCanonical: true,
    domainNotFound: true,
    comment: "... and the sprite sheets its cues point into (fmt=auto: one entry per format variant).",
  },
] as const satisfies readonly Route[];

/** The metric label of a request no route matched (answered 404). */
export const UNROUTED = "other";

/** Every value the `route` label takes. */
export type RouteLabel = (typeof ROUTES)[number]["label"] | typeof UNROUTED;
export const ROUTE_LABELS: readonly RouteLabel[] = [...ROUTES.map((r) => r.label), UNROUTED];

const matchers = ROUTES.map((route) => {
  const p = route.pattern as RoutePattern; // every kind, including those no route uses today
  switch (p.kind) {
    case "exact":
      return (path: string) => path === p.path;
    case "regex": {
      const re = new RegExp(p.source, "i");
      return (path: string) => re.test(path);
    }
    case "listed":
      return (path: string, settings: RouteSettings) => settings[p.setting].includes(path);
  }
});

/** The route answering `path` (without its query), or undefined. */
export function routeFor(path: string, settings: RouteSettings): (typeof ROUTES)[number] | undefined {
  const i = matchers.findIndex((matches) => matches(path, settings));
  return i < 0 ? undefined : ROUTES[i];
}
