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

const http = one(masterOf(plan()), "http");
const server = all(http, "server")[0]!;

/** A URL path of each route (a new route needs one: the compiler asks for it). */
const EXAMPLES: Record<Exclude<RouteLabel, "other">, string> = {
  healthz: "/healthz",
  metrics: "/metrics",
  resize: "/resize",
  legacy: "/legacy/timthumb.php",
  storyboard_track: "/storyboard/drama-seoul-nights/E001.vtt",
  storyboard_sheet: "/storyboard/drama-seoul-nights/E001/sprite-0.jpg",
};
const example = (r: (typeof ROUTES)[number]) => EXAMPLES[r.label];

describe("one route table for the resizer and the master", () => {
  for (const r of ROUTES) {
    it(`${r.label}: ${r.public ? "the master proxies it to the resizers" : "the master keeps it to itself"}${r.cached ? ", through the resize cache" : ""}`, () => {
      assert.equal(routeFor(example(r))?.label, r.label);
      const loc = matchLocation(server, example(r));
      assert.ok(loc, `a location serves ${example(r)}`);
      const toResizers = argsOf(loc, "proxy_pass")?.[0] === `http://${NGINX_NAMES.resizersUpstream}`;
      assert.equal(toResizers, r.public);
      if (r.public) assert.deepEqual(argsOf(loc, "proxy_cache") ?? [], r.cached ? [NGINX_NAMES.cacheZone] : []);
    });
  }

  it("storyboards: tracks and sheets by their path's shape; anything else under /storyboard/ is not one", () => {
    assert.equal(routeFor("/storyboard/news/E%20001.vtt")?.label, "storyboard_track");
    for (const ext of ["jpg", "jpeg", "webp", "avif"]) assert.equal(routeFor(`/storyboard/news/E001/sprite-12.${ext}`)?.label, "storyboard_sheet");
    for (const path of ["/storyboard/", "/storyboard/news.vtt", "/storyboard/news/E001/sprite-1.png", "/storyboard/news/E001/x/sprite-1.jpg", "/storyboard/a/b/c.vtt"]) {
      assert.equal(routeFor(path), undefined, path);
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
          assert.deepEqual(argsOf(loc, "proxy_no_cache"), [`$${MASTER_VARIABLES.notStored}`], path);
          return all(loc, "proxy_set_header").find((h) => h.args[0] === NOT_FOUND_STATUS_HEADER)?.args[1];
        });
        assert.equal(argsOf(matchLocation(s, "/resize")!, "proxy_no_cache"), undefined, "resizes store what cache.valid says");
        return [argsOf(s, "server_name")?.[0], ...headers];
      }),
      [
        ["img.example.com", "404", "404"],
        ["stillshot.example.com", "400", "400"],
      ],
    );
  });

  it("the resizer matches the legacy route in any case, as it always has; anything else is unrouted", () => {
    assert.equal(routeFor("/x.PHP")?.label, "legacy");
    assert.equal(routeFor("/resize/"), undefined);
    assert.equal(routeFor("/"), undefined);
    assert.deepEqual(ROUTE_LABELS, [...ROUTES.map((r) => r.label), "other"]);
  });
});
