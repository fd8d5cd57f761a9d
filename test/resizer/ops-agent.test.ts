// The ops agent on its own: nginx's syslog datagrams (as nginx formats them) become request
// metrics, refused when they come from elsewhere; stub_status is read at each scrape and a
// silent instance reads as down; a resizer's metrics pass through its path; the ACME
// renewer's result files become the renewal metrics; the allow-list. The whole chain with
// real nginx and Prometheus is test/e2e/monitoring.test.ts.
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { allowList, createOpsAgent, type OpsAgent } from "../../resizer/src/ops/agent.js";
import { opsConfigFromEnv, opsConfigSchema, toOpsEnv } from "../../resizer/src/ops/config.js";
import { parseAccessLog, parseRenewerResult, parseStubStatus, parseSyslog, splitTries } from "../../resizer/src/ops/parse.js";
import { parseExposition, sum } from "../../infra/status/metrics.js";
import { freePorts } from "../helpers/stage.js";

/** A line as the master's log_format writes it (infra/nginx/observability.ts), trimmed to what matters. */
const line = (o: Record<string, unknown>) =>
  JSON.stringify({ time: "2026-12-01T15:29:25+00:00", request_id: "ef5de550dac686f408a88e67bbc94223", status: 200, bytes: 100, request_time: 0.004, route: "static", upstream: "", upstream_status: "", upstream_time: "", cache: "", ...o });

describe("what the agent reads", () => {
  test("nginx's syslog datagrams, with or without a hostname; anything else is not one", () => {
    assert.deepEqual(parseSyslog('<190>Dec  1 15:29:25 master: {"status":200}'), { tag: "master", message: '{"status":200}' });
    assert.deepEqual(parseSyslog("<190>Nov 22 09:05:01 img01 slave01: {}\n"), { tag: "slave01", message: "{}" });
    assert.equal(parseSyslog('{"status":200}'), undefined);
    assert.equal(parseSyslog("<190>Dec  1 15:29:25 bad-tag: {}"), undefined, "nginx tags are letters, digits and _");
  });

  test("an access log line: the status, bytes, time, route and cache, and one entry per upstream try", () => {
    const e = parseAccessLog(line({ status: 502, route: "resize", cache: "MISS", upstream: "10.213.0.41:9000, 10.213.0.42:9001 : image_slaves", upstream_status: "502, 200 : 502", upstream_time: "0.001, 0.250 : 0.000" }))!;
    assert.deepEqual(
      { status: e.status, route: e.route, cache: e.cache, tries: e.tries },
      {
        status: 502,
        route: "resize",
        cache: "MISS",
        tries: [
          { address: "10.213.0.41:9000", status: 502, seconds: 0.001 },
          { address: "10.213.0.42:9001", status: 200, seconds: 0.25 },
          { address: "image_slaves", status: 502, seconds: 0 },
        ],
      },
    );
    assert.deepEqual(splitTries("-"), ["-"]);
    assert.deepEqual(parseAccessLog(line({ upstream: "10.213.0.11:8001", upstream_status: "504", upstream_time: "-" }))!.tries, [{ address: "10.213.0.11:8001", status: 504 }]);
    assert.equal(parseAccessLog("not json"), undefined);
    assert.equal(parseAccessLog('{"route":"static"}'), undefined, "no status: not an access log line");
  });

  test("stub_status as nginx 1.22 prints it", () => {
    const page = "Active connections: 3 \nserver accepts handled requests\n 17 16 42 \nReading: 0 Writing: 1 Waiting: 2 \n";
    assert.deepEqual(parseStubStatus(page), { active: 3, accepted: 17, handled: 16, requests: 42, reading: 0, writing: 1, waiting: 2 });
    assert.equal(parseStubStatus("<html>404</html>"), undefined);
  });

  test("the renewer's result file (infra/acme.ts set_status)", () => {
    assert.deepEqual(parseRenewerResult("ok 2026-11-30T10:00:00Z fingerprint=AB:CD not-after=2027-02-28T10:00:00Z\n"), { ok: true, at: new Date("2026-11-30T10:00:00Z") });
    assert.deepEqual(parseRenewerResult("failed 2026-11-30T11:00:00Z certbot exited 1: Detail: Invalid response"), { ok: false, at: new Date("2026-11-30T11:00:00Z") });
    assert.equal(parseRenewerResult("no result yet for x"), undefined);
  });

  test("the allow-list: loopback always, the configured networks (IPv4, IPv6, IPv4-mapped), no one else", () => {
    const allowed = allowList(["10.20.0.0/16", "192.0.2.7", "2001:db8::/32"]);
    for (const a of ["127.0.0.1", "::1", "10.20.3.4", "::ffff:10.20.1.1", "192.0.2.7", "2001:db8:1::5"]) assert.ok(allowed(a), a);
    for (const a of ["10.21.0.1", "192.0.2.8", "::ffff:172.18.141.51", "2001:db9::1", "", "not-an-ip"]) assert.ok(!allowed(a), a);
  });

  test("its configuration travels as one environment variable, checked on arrival", () => {
    const cfg = opsConfigSchema.parse(baseConfig(1, 2, 3));
    assert.deepEqual(opsConfigFromEnv(toOpsEnv(cfg)), cfg);
    assert.throws(() => opsConfigFromEnv({}), /OPS_CONFIG is not set/);
    assert.throws(() => opsConfigFromEnv({ OPS_CONFIG: JSON.stringify({ ...cfg, allow: ["10.0.0.0/33"] }) }), /allow\.0: an IP address or CIDR/);
  });
});

function baseConfig(port: number, stubPort: number, resizerPort: number) {
  return {
    listen: { host: "127.0.0.1", port },
    allow: [],
    syslog: { host: "127.0.0.1", port, sources: ["127.0.0.1"] },
    nginx: [
      { role: "master", status: `http://127.0.0.1:${stubPort}/master` },
      { role: "slave01", status: `http://127.0.0.1:${stubPort}/slave01` },
    ],
    upstreams: [
      { address: "10.213.0.11:8001", upstream: "image_slaves", member: "slave01" },
      { address: "10.213.0.41:9000", upstream: "image_resizers", member: "resizer01" },
    ],
    resizers: [
      { role: "resizer01", metrics: `http://127.0.0.1:${resizerPort}/metrics` },
      { role: "resizer02", metrics: `http://127.0.0.1:${resizerPort}/gone` },
    ],
    tls: [],
    timeoutMs: 1000,
  };
}

describe("the agent running", () => {
  let agent: OpsAgent;
  let stubs: Server;
  let base: string;
  let port: number;
  const acmeDir = mkdtempSync(join(tmpdir(), "ops-acme-"));
  let slaveAnswers = true;

  before(async () => {
    let stubPort: number;
    [port = 0, stubPort = 0] = await freePorts(2);
    stubs = createServer((req, res) => {
      if (req.url === "/master" || (req.url === "/slave01" && slaveAnswers)) {
        res.end("Active connections: 3 \nserver accepts handled requests\n 17 17 42 \nReading: 0 Writing: 1 Waiting: 2 \n");
      } else if (req.url === "/metrics") {
        res.setHeader("Content-Type", "text/plain; version=0.0.4");
        res.end('# TYPE resizer_queue_depth gauge\nresizer_queue_depth 3\nresizer_http_requests_total{route="resize",status="503"} 7\n');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => stubs.listen(stubPort, "127.0.0.1", r));
    writeFileSync(join(acmeDir, "star"), "ok 2026-11-30T10:00:00Z fingerprint=AB not-after=2027-02-28T10:00:00Z\n");
    writeFileSync(join(acmeDir, "other"), "failed 2026-11-30T11:00:00Z certbot exited 1: Detail: Timeout\n");
    const config = opsConfigSchema.parse({ ...baseConfig(port, stubPort, stubPort), acme: { statusDir: acmeDir, certificates: ["star", "other", "pending"] } });
    agent = createOpsAgent(config, pino({ level: "silent" }));
    await agent.listen();
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await agent?.close();
    await new Promise((r) => stubs?.close(r));
    rmSync(acmeDir, { recursive: true, force: true });
  });

  const send = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const s = createSocket("udp4");
      s.send(text, port, "127.0.0.1", (err) => (s.close(), err ? reject(err) : resolve()));
    });
  const scrape = async () => parseExposition(await (await fetch(`${base}/metrics`)).text());

  test("each access log line is counted by route, status class and cache status; tries per upstream member", async () => {
    await send(`<190>Dec  1 15:29:25 master: ${line({ route: "resize", cache: "HIT", bytes: 500 })}`);
    await send(`<190>Dec  1 15:29:25 master: ${line({ route: "resize", cache: "MISS", upstream: "10.213.0.41:9000", upstream_status: "200", upstream_time: "0.120" })}`);
    await send(`<190>Dec  1 15:29:25 master: ${line({ status: 502, upstream: "10.213.0.11:8001 : image_slaves", upstream_status: "502 : 502", upstream_time: "0.001 : 0.000" })}`);
    await send(`<190>Dec  1 15:29:25 slave01: ${line({ status: 404 })}`);
    await send(`<190>Dec  1 15:29:25 intruder: ${line({})}`);
    await send("<190>Dec  1 15:29:25 master: garbage");
    let s = await scrape();
    for (let i = 0; i < 50 && sum(s, "image_origin_ops_log_messages_total") < 6; i++) s = await scrape(); // datagrams are asynchronous
    const responses = (labels: Record<string, string>) => sum(s, "nginx_http_responses_total", labels);
    assert.equal(responses({ role: "master", route: "resize", status_class: "2xx", cache_status: "HIT" }), 1);
    assert.equal(responses({ role: "master", route: "resize", cache_status: "MISS" }), 1);
    assert.equal(responses({ role: "master", route: "static", status_class: "5xx", cache_status: "none" }), 1);
    assert.equal(responses({ role: "slave01", status_class: "4xx" }), 1);
    assert.equal(sum(s, "nginx_http_response_body_bytes_total", { role: "master", route: "resize" }), 600);
    assert.equal(sum(s, "nginx_upstream_tries_total", { upstream: "image_resizers", member: "resizer01", status_class: "2xx" }), 1);
    assert.equal(sum(s, "nginx_upstream_tries_total", { upstream: "image_slaves", member: "slave01", status_class: "5xx" }), 1);
    assert.equal(sum(s, "nginx_upstream_tries_total", { upstream: "image_slaves", member: "none" }), 1, "no member left: the upstream's name");
    assert.equal(sum(s, "nginx_upstream_response_duration_seconds_count", { upstream: "image_resizers" }), 1);
    assert.equal(sum(s, "nginx_upstream_response_duration_seconds_sum", { upstream: "image_resizers" }), 0.12);
    assert.deepEqual(
      ["counted", "refused", "malformed"].map((result) => sum(s, "image_origin_ops_log_messages_total", { result })),
      [4, 1, 1],
      "an unknown instance is refused, a line that is not JSON is malformed",
    );
  });

  test("datagrams from an address other than the host's nginx instances are refused", async () => {
    const before = sum(await scrape(), "image_origin_ops_log_messages_total", { result: "refused" });
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.2", () => r()));
    await new Promise<void>((resolve, reject) => s.send(`<190>Dec  1 15:29:25 master: ${line({})}`, port, "127.0.0.1", (err) => (s.close(), err ? reject(err) : resolve())));
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) after = sum(await scrape(), "image_origin_ops_log_messages_total", { result: "refused" });
    assert.equal(after, before + 1);
  });

  test("stub_status at each scrape: counters and connections per instance; a silent one reads as down", async () => {
    let s = await scrape();
    assert.equal(sum(s, "nginx_up", { role: "slave01" }), 1);
    assert.equal(sum(s, "nginx_http_requests_total", { role: "master" }), 42);
    assert.equal(sum(s, "nginx_connections_waiting", { role: "slave01" }), 2);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /# TYPE nginx_connections_accepted_total counter/);
    slaveAnswers = false;
    s = await scrape();
    assert.equal(sum(s, "nginx_up", { role: "slave01" }), 0);
    assert.equal(s.filter((x) => x.name === "nginx_connections_active" && x.labels.role === "slave01").length, 0, "no stale connection counts");
    assert.equal(sum(s, "nginx_up", { role: "master" }), 1);
    slaveAnswers = true;
  });

  test("the ACME renewers' results: success and when; nothing for a certificate without one yet", async () => {
    const s = await scrape();
    assert.equal(sum(s, "image_origin_acme_renewal_success", { certificate: "star" }), 1);
    assert.equal(sum(s, "image_origin_acme_renewal_success", { certificate: "other" }), 0);
    assert.equal(sum(s, "image_origin_acme_renewal_last_check_timestamp_seconds", { certificate: "other" }), Date.parse("2026-11-30T11:00:00Z") / 1000);
    assert.equal(s.filter((x) => x.labels.certificate === "pending").length, 0);
  });

  test("a resizer's own metrics on its path; an unreachable one is a 502; unknown paths 404", async () => {
    const r = await fetch(`${base}/metrics/resizer01`);
    assert.equal(r.status, 200);
    assert.equal(sum(parseExposition(await r.text()), "resizer_queue_depth"), 3);
    assert.equal((await fetch(`${base}/metrics/resizer02`)).status, 502);
    assert.equal((await fetch(`${base}/metrics/resizer03`)).status, 404);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
