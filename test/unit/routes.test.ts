// The resizer's route table is what both ends read: a path the resizer answers through a
// public route is a path the master sends to the resizers (cached when the table says
// so), and the resizer labels its requests by the same table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NGINX_NAMES } from "../../infra/topology.js";
import { ROUTES, ROUTE_LABELS, routeFor } from "../../resizer/src/routes.js";
import { all, argsOf, matchLocation, one } from "../helpers/nginx-conf.js";
import { masterOf, plan } from "../helpers/specs.js";

const http = one(masterOf(plan()), "http");
const server = all(http, "server")[0]!;

/** A path that matches `pattern` (the table's own examples of its URLs). */
const example = (r: (typeof ROUTES)[number]) => (r.pattern.kind === "exact" ? r.pattern.path : "/legacy/timthumb.php");

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

  it("the resizer matches the legacy route in any case, as it always has; anything else is unrouted", () => {
    assert.equal(routeFor("/x.PHP")?.label, "legacy");
    assert.equal(routeFor("/resize/"), undefined);
    assert.equal(routeFor("/"), undefined);
    assert.deepEqual(ROUTE_LABELS, [...ROUTES.map((r) => r.label), "other"]);
  });
});
