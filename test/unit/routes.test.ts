// The resizer's route table is what both ends read: a path the resizer answers through a
// public route is a path the master sends to the resizers (cached when the table says
// so), and the resizer labels its requests by the same table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MASTER_VARIABLES } from "../../infra/nginx/master.js";
import { NGINX_NAMES } from "../../infra/topology.js";
import { NOT_FOUND_STATUS_HEADER, ROUTES, ROUTE_LABELS, routeFor, type RouteLabel } from "../../resizer/src/routes.js";
import { all, argsOf, mapValue, matchLocation, one, servingServers } from "../helpers/nginx-conf.js";
import { masterOf, plan } from "../helpers/specs.js";

const legacyPaths = ["/timthumb.php", "/legacy/thumbs/thumb.php"];
const http = one(masterOf(plan({ resizer: { legacyPaths } })), "http");
const server = all(http, "server")[0]!;
const settings = { legacyPaths };

/** A URL path of each route (a new route needs one: the compiler asks for it). */
const EXAMPLES: Record<Exclude<RouteLabel, "other">, string> = {
  healthz: "/healthz",
  metrics: "/metrics",
  resize: "/resize",
  legacy: legacyPaths[1]!,
  storyboard_track: "/storyboard/drama-seoul-nights/E001.vtt",
  storyboard_sheet: "/storyboard/drama-seoul-nights/E001/sprite-0.jpg",
};
const example = (r: (typeof ROUTES)[number]) => EXAMPLES[r.label];

describe("one route table for the resizer and the master", () => {
  for (const r of ROUTES) {
    it(`${r.label}: ${r.public ? "the master proxies it to the resizers" : "the master keeps it to itself"}${r.cached ? ", through the resize cache" : ""}`, () => {
      assert.equal(routeFor(example(r), settings)?.label, r.label);
      const loc = matchLocation(server, example(r));
      assert.ok(loc, `a location serves ${example(r)}`);
      const pass = argsOf(loc, "proxy_pass")?.[0] ?? "";
      // Exact paths pass their own path and the query; pattern routes the request URI as sent.
      const toResizers = pass === `http://${NGINX_NAMES.resizersUpstream}${loc.args[0] === "=" ? `${loc.args[1]}$is_args$args` : ""}`;
      assert.equal(toResizers, r.public);
      if (r.public) assert.deepEqual(argsOf(loc, "proxy_cache") ?? [], r.cached ? [NGINX_NAMES.cacheZone] : []);
    });
  }

  it("storyboards: tracks and sheets by their path's shape; anything else under /storyboard/ is not one", () => {
    assert.equal(routeFor("/storyboard/news/E%20001.vtt", settings)?.label, "storyboard_track");
    for (const ext of ["jpg", "jpeg", "webp", "avif"]) assert.equal(routeFor(`/storyboard/news/E001/sprite-12.${ext}`, settings)?.label, "storyboard_sheet");
    for (const path of ["/storyboard/", "/storyboard/news.vtt", "/storyboard/news/E001/sprite-1.png", "/storyboard/news/E001/x/sprite-1.jpg", "/storyboard/a/b/c.vtt"]) {
      assert.equal(routeFor(path, settings), undefined, path);
      assert.equal(argsOf(matchLocation(server, path)!, "proxy_pass")?.[0], `http://${NGINX_NAMES.slavesUpstream}`, `${path}: the master sends it to the slaves too`);
    }
  });

  it("storyboards: the master stores only their 200s and tells the resizer each domain's not-found status", () => {
    const twoDomains = plan({
      domains: [
        { id: "main", serverNames: ["img.example.com"] },
        { id: "stillshot", serverNames: ["stillshot.example.com"], notFoundStatus: 400 },
      ],
    });
    const masterHttp = one(masterOf(twoDomains), "http");
    const notStored = all(masterHttp, "map").find((m) => m.args[0] === "$upstream_status")!;
    assert.equal(notStored.args[1], `$${MASTER_VARIABLES.notStored}`);
    assert.deepEqual(["200", "502, 200", "404", "301", "400", "502, 404"].map((s) => mapValue(notStored, s)), ["", "", "1", "1", "1", "1"]);
    const servers = servingServers(masterHttp);
    assert.deepEqual(
      servers.map((s) => {
        const headers = [EXAMPLES.storyboard_track, EXAMPLES.storyboard_sheet].map((path) => {
          const loc = matchLocation(s, path)!;
          assert.deepEqual(argsOf(loc, "proxy_no_cache"), ["$upstream_http_location", `$${MASTER_VARIABLES.notStored}`], path);
          return all(loc, "proxy_set_header").find((h) => h.args[0] === NOT_FOUND_STATUS_HEADER)?.args[1];
        });
        assert.deepEqual(argsOf(matchLocation(s, "/resize")!, "proxy_no_cache"), ["$upstream_http_location"], "resizes store what cache.valid says, never a redirect");
        return [argsOf(s, "server_name")?.[0], ...headers];
      }),
      [
        ["img.example.com", "404", "404"],
        ["stillshot.example.com", "400", "400"],
      ],
    );
  });

  it("the legacy route is the configured script paths exactly, in the resizer and in the master; anything else is unrouted", () => {
    for (const path of legacyPaths) {
      assert.equal(routeFor(path, settings)?.label, "legacy");
      assert.deepEqual(matchLocation(server, path)?.args, ["=", path]);
    }
    for (const path of ["/x.php", "/TIMTHUMB.php", "/timthumb.php/", "/legacy/thumbs/x.php"]) {
      assert.equal(routeFor(path, settings), undefined, path);
      assert.deepEqual(matchLocation(server, path)?.args, ["/"], `${path} goes to the slaves (a 404), not to a resizer`);
    }
    assert.equal(routeFor("/resize/", settings), undefined);
    assert.equal(routeFor("/", settings), undefined);
    assert.deepEqual(ROUTE_LABELS, [...ROUTES.map((r) => r.label), "other"]);
  });
});
