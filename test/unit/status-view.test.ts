// npm run status's core, on its own: the exposition format read back (from a real
// prom-client registry), a histogram's quantile between two reads, and one host's row
// from two reads: rates over the interval, ratios, the resizers, what is down.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { buckets, parseExposition, quantileBetween, sum } from "../../infra/status/metrics.js";
import { hostStatus, renderStatus, type HostRead } from "../../infra/status/view.js";

describe("the exposition format, read back", () => {
  test("a prom-client registry's text: names, labels (escapes included) and values", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "x_total", help: "h", labelNames: ["path"], registers: [registry] });
    c.inc({ path: 'a "quoted"\\ value' }, 3);
    c.inc({ path: "b" }, 2);
    const h = new Histogram({ name: "d_seconds", help: "h", buckets: [0.1, 1], registers: [registry] });
    h.observe(0.05);
    h.observe(0.5);
    const samples = parseExposition(await registry.metrics());
    assert.equal(sum(samples, "x_total", { path: 'a "quoted"\\ value' }), 3);
    assert.equal(sum(samples, "x_total"), 5);
    assert.deepEqual([...buckets(samples, "d_seconds")], [[0.1, 1], [1, 2], [Infinity, 2]]);
  });

  test("the quantile of what was observed between two reads, interpolated as histogram_quantile does", () => {
    const before = new Map([[0.1, 10], [1, 10], [Infinity, 10]]);
    const after = new Map([[0.1, 10], [1, 110], [Infinity, 110]]);
    assert.equal(quantileBetween(before, after, 0.5), 0.55, "100 new observations in (0.1, 1]: the median halfway");
    assert.equal(quantileBetween(before, before, 0.99), undefined, "nothing observed");
  });
});

function read(at: number, opts: { requests: number; errors: number; hits: number; misses: number; slaveUp: boolean; r503: number; resizes: number; resizerDown?: boolean }): HostRead {
  const m = (labels: string, v: number) => `nginx_http_responses_total{role="master",${labels}} ${v}`;
  const ops = [
    m('route="static",status_class="2xx",cache_status="none"', opts.requests - opts.errors - opts.hits - opts.misses),
    m('route="static",status_class="5xx",cache_status="none"', opts.errors),
    m('route="resize",status_class="2xx",cache_status="HIT"', opts.hits),
    m('route="storyboard_sheet",status_class="2xx",cache_status="MISS"', opts.misses),
    'nginx_up{role="master"} 1',
    `nginx_up{role="slave01"} ${opts.slaveUp ? 1 : 0}`,
    'nginx_connections_active{role="master"} 7',
    `image_origin_tls_certificate_expiry_timestamp_seconds{certificate="c"} ${(at + 10.5 * 86_400_000) / 1000}`,
  ].join("\n");
  const resizer = [
    "resizer_http_in_flight_requests 3",
    "resizer_queue_depth 2",
    `resizer_http_requests_total{route="resize",status="503"} ${opts.r503}`,
    `resizer_http_request_duration_seconds_bucket{route="resize",le="0.1"} 0`,
    `resizer_http_request_duration_seconds_bucket{route="resize",le="1"} ${opts.resizes}`,
    `resizer_http_request_duration_seconds_bucket{route="resize",le="+Inf"} ${opts.resizes}`,
  ].join("\n");
  return {
    host: "img01",
    at,
    health: [{ port: 80, status: 200 }, { port: 443, ...(opts.slaveUp ? { status: 200 } : { error: "ECONNREFUSED" }) }],
    ops: { samples: parseExposition(ops) },
    resizers: [
      { role: "resizer01", samples: parseExposition(resizer) },
      opts.resizerDown ? { role: "resizer02", error: "answered 502" } : { role: "resizer02", samples: parseExposition(resizer) },
    ],
  };
}

describe("one host from two reads", () => {
  test("rates over the interval, ratios, the resizers summed, certificate days, nothing wrong", () => {
    const s = hostStatus(read(0, { requests: 100, errors: 0, hits: 10, misses: 10, slaveUp: true, r503: 0, resizes: 0 }), read(2000, { requests: 300, errors: 10, hits: 40, misses: 20, slaveUp: true, r503: 4, resizes: 50 }));
    assert.equal(s.requestsPerSecond, 100);
    assert.equal(s.errorRatio, 10 / 200);
    assert.equal(s.cacheHitRatio, 30 / 40);
    const { p99Seconds, ...resizers } = s.resizers;
    assert.deepEqual(resizers, { up: 2, total: 2, inFlight: 4, queued: 4, refusedPerSecond: 4 }, "in flight: each replica's gauge less the scrape itself");
    assert.ok(Math.abs(p99Seconds! - (0.1 + 0.9 * 0.99)) < 1e-9, `p99 within (0.1, 1]: ${p99Seconds}`);
    assert.equal(Math.floor(s.certificateDays!), 10);
    assert.equal(s.health, ":80 200  :443 200");
    assert.deepEqual(s.problems, []);
  });

  test("a slave, a replica and a health check down are shown and listed; no traffic reads as -", () => {
    const idle = { requests: 100, errors: 0, hits: 0, misses: 0, slaveUp: false, r503: 0, resizes: 0, resizerDown: true };
    const s = hostStatus(read(0, idle), read(2000, idle));
    assert.deepEqual(s.problems, ["/healthz on :443: ECONNREFUSED", "slave01 down", "resizer02 down"]);
    const text = renderStatus("title", [s]);
    const [, , head, row] = text.split("\n");
    assert.match(head!, /^HOST\s+HEALTH\s+REQ\/S\s+5XX\s+CACHE HIT\s+RESIZERS/);
    assert.match(row!, /^img01\s+:80 200  :443 --\s+0\.0\s+-\s+-\s+1\/2 up\s+2\s+2\s+0\.0\s+-\s+10$/);
    assert.match(text, /\n {2}slave01\s+DOWN\s+no answer from its stub_status\n/);
    assert.match(text, /\n {2}resizer02\s+DOWN\s+answered 502\n/);
    assert.match(text, /\n {2}! slave01 down\n/);
  });

  test("an ops listener that does not answer is said so", () => {
    const a = read(0, { requests: 1, errors: 0, hits: 0, misses: 0, slaveUp: true, r503: 0, resizes: 0 });
    const b = { ...a, at: 2000, ops: { error: "ECONNREFUSED" } };
    assert.deepEqual(hostStatus(a, b).problems, ["ops listener: ECONNREFUSED"]);
  });
});
