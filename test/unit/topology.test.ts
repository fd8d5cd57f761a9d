import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fromEnv } from "../../resizer/src/settings.js";
import { parseClusterSpec } from "../../infra/config.js";
import { renderMaster } from "../../infra/nginx/master.js";
import { specFromStackYaml } from "../../infra/stack.js";
import { CONTAINER, NGINX_NAMES, planCluster } from "../../infra/topology.js";

const root = join(__dirname, "../..");
const prodSpec = () => specFromStackYaml(readFileSync(join(root, "Pulumi.prod.yaml"), "utf8"), "Pulumi.prod.yaml");
const localSpec = () => specFromStackYaml(readFileSync(join(root, "Pulumi.local.yaml"), "utf8"), "Pulumi.local.yaml");

describe("prod plan (seed 001: five hosts behind the VIP)", () => {
  const plan = planCluster(prodSpec());

  test("five hosts, each with a master, two slaves and the configured resizer replicas", () => {
    assert.deepEqual(plan.hosts.map((h) => h.address), ["172.18.141.51", "172.18.141.52", "172.18.141.53", "172.18.141.54", "172.18.141.55"]);
    for (const h of plan.hosts) {
      assert.equal(h.master.name, `${h.name}-master`);
      assert.deepEqual(h.slaves.map((s) => s.name), [`${h.name}-slave01`, `${h.name}-slave02`]);
      assert.equal(h.resizers.length, prodSpec().resizer.replicas);
    }
  });

  test("container names are unique across the whole cluster", () => {
    const names = plan.hosts.flatMap((h) => [h.master.name, ...h.slaves.map((s) => s.name), ...h.resizers.map((r) => r.name)]);
    assert.equal(new Set(names).size, names.length);
  });

  test("the slaves upstream lists exactly the slaves' own addresses and listen ports (no 8081 vs 8001)", () => {
    for (const h of plan.hosts) {
      assert.equal(h.master.slaves.name, NGINX_NAMES.slavesUpstream);
      assert.deepEqual(
        h.master.slaves.members.map((m) => `${m.host}:${m.port}`),
        h.slaves.map((s) => `${s.ip}:${s.listen.port}`),
      );
    }
  });

  test("the resizers upstream points at every replica's address and port", () => {
    const h = plan.hosts[2]!;
    assert.deepEqual(
      h.master.resizers.members.map((m) => `${m.host}:${m.port}`),
      h.resizers.map((r) => `${r.ip}:${r.listen.port}`),
    );
    assert.deepEqual(h.resizers.map((r) => r.listen.port), [9000, 9001, 9002, 9003]);
  });

  test("containers get fixed addresses on a private subnet that avoids the LAN", () => {
    const h = plan.hosts[0]!;
    assert.deepEqual(h.network, { name: "img01-net", subnet: "10.213.0.0/24", gateway: "10.213.0.1" });
    assert.equal(h.master.ip, "10.213.0.2");
    assert.deepEqual(h.slaves.map((s) => s.ip), ["10.213.0.11", "10.213.0.12"]);
    assert.deepEqual(h.resizers.map((r) => r.ip), ["10.213.0.41", "10.213.0.42", "10.213.0.43", "10.213.0.44"]);
  });

  test("adding a slave moves no other container's address", () => {
    const spec = prodSpec();
    spec.slaves = [...spec.slaves, { port: 8003, backup: false, down: false }];
    const grown = planCluster(spec).hosts[0]!;
    assert.equal(grown.master.ip, plan.hosts[0]!.master.ip);
    assert.deepEqual(grown.resizers.map((r) => r.ip), plan.hosts[0]!.resizers.map((r) => r.ip));
    assert.equal(grown.slaves[2]!.ip, "10.213.0.13");
  });

  test("the master listens unprivileged inside its container and publishes 80/443 on the host", () => {
    const m = plan.hosts[0]!.master;
    assert.deepEqual(m.http, { address: "0.0.0.0", port: CONTAINER.masterHttpPort });
    assert.deepEqual(m.https, { address: "0.0.0.0", port: CONTAINER.masterHttpsPort });
    assert.deepEqual(m.publish, { http: 80, https: 443 });
  });

  test("domains keep their not-found status and share the supplied certificate", () => {
    const servers = plan.hosts[0]!.master.servers;
    assert.deepEqual(servers.map((s) => [s.domain, s.notFoundStatus, s.default]), [
      ["image-origin", 404, true],
      ["stillshot-origin", 400, false],
    ]);
    assert.equal(servers[1]!.tls?.certPath, `${CONTAINER.tlsDir}/star-tving.crt`);
    assert.deepEqual(plan.certificates[0]!.names, ["image-origin.tving.com", "stillshot-origin.tving.com"]);
  });

  test("the VIP block lists every host with the ports the L4 must health-check", () => {
    assert.equal(plan.vip?.address, "180.182.43.12");
    assert.equal(plan.vip?.algorithm, "round_robin");
    assert.deepEqual(plan.vip?.healthCheck.ports, [80, 443]);
    assert.equal(plan.vip?.healthCheck.path, "/healthz");
    assert.deepEqual(plan.vip?.members.map((m) => m.address), plan.hosts.map((h) => h.address));
  });

  test("each resizer's environment parses back into the configured settings", () => {
    const r = plan.hosts[0]!.resizers[1]!;
    const settings = fromEnv(r.env);
    assert.equal(settings.port, 9001);
    assert.equal(settings.host, "0.0.0.0");
    assert.equal(settings.root, CONTAINER.imagesRoot);
    assert.deepEqual(settings.presets.thumb_320x180, { w: 320, h: 180, fit: "cover", fmt: "auto" });
  });

  test("libvips gets as many threads as the replica has CPUs, not the host's core count, unless vipsThreads says", () => {
    assert.equal(fromEnv(plan.hosts[0]!.resizers[0]!.env).vipsThreads, 1, "prod sets one per transform");
    const spec = prodSpec();
    spec.resizer = { ...spec.resizer, vipsThreads: 0 };
    spec.hosts[1] = { ...spec.hosts[1]!, resizer: { cpus: 0.5 } };
    const derived = planCluster(spec);
    assert.equal(fromEnv(derived.hosts[0]!.resizers[0]!.env).vipsThreads, 4, "cpus: 4");
    assert.equal(fromEnv(derived.hosts[1]!.resizers[0]!.env).vipsThreads, 1);
  });

  test("each replica's libuv pool covers its transforms in flight, and its stop grace its timeout", () => {
    const r = plan.hosts[0]!.resizers[0]!;
    assert.equal(r.env.UV_THREADPOOL_SIZE, "6", "concurrency 4, and two for file I/O");
    assert.equal(r.stopGraceSeconds, 30);
    const spec = prodSpec();
    spec.resizer = { ...spec.resizer, concurrency: 8, timeoutMs: 60_000 };
    const busy = planCluster(spec).hosts[0]!.resizers[0]!;
    assert.equal(busy.env.UV_THREADPOOL_SIZE, "10");
    assert.equal(busy.stopGraceSeconds, 65);
  });

  test("a host's nginx override changes only that host", () => {
    const spec = prodSpec();
    spec.hosts[3] = { ...spec.hosts[3]!, nginx: { master: { workerConnections: 8000 } } };
    const changed = planCluster(spec);
    assert.equal(changed.hosts[3]!.master.tuning.master.workerConnections, 8000);
    assert.equal(changed.hosts[3]!.master.tuning.master.workerRlimitNofile, 40960);
    for (const i of [0, 1, 2, 4]) assert.deepEqual(changed.hosts[i], plan.hosts[i]);
  });
});

describe("how long a failed upstream member stays out (the pause of a rolling replacement)", () => {
  const retryOf = (slaves: object[]) => {
    const spec = prodSpec();
    return planCluster(parseClusterSpec({ ...spec, slaves: slaves.map((s, i) => ({ port: 8001 + i, ...s })) })).hosts[0]!.master.slaves.memberRetryMs;
  };

  test("nginx's default fail_timeout (10s) when a member sets none", () => {
    assert.equal(retryOf([{}, {}]), 10_000);
  });

  test("the longest fail_timeout of the members", () => {
    assert.equal(retryOf([{ failTimeout: "5s" }, { failTimeout: "1m30s" }]), 90_000);
  });

  test("a member that counts no failures (max_fails=0) is never out; nor is the pause", () => {
    assert.equal(retryOf([{ maxFails: 0 }, { maxFails: 0 }]), 0);
    assert.equal(retryOf([{ maxFails: 0 }, { failTimeout: "3s" }]), 3_000);
  });

  test("the resizers' members use nginx's defaults", () => {
    assert.equal(planCluster(prodSpec()).hosts[0]!.master.resizers.memberRetryMs, 10_000);
  });
});

describe("local target", () => {
  const target = { kind: "local" as const, root: "/tmp/work", imagesDir: "/tmp/work/images", port: (p: number) => p + 10000 };
  const plan = planCluster(localSpec(), target);
  const h = plan.hosts[0]!;

  test("everything binds loopback on the stack's ports (remapped) and peers are reached on loopback", () => {
    assert.deepEqual(h.master.http, { address: "127.0.0.1", port: 18080 });
    assert.deepEqual(h.master.https, { address: "127.0.0.1", port: 18443 });
    assert.equal(h.master.publish, undefined);
    assert.deepEqual(h.master.slaves.members.map((m) => `${m.host}:${m.port}`), ["127.0.0.1:18001", "127.0.0.1:18002"]);
    assert.equal(h.master.ip, undefined);
    assert.deepEqual(h.slaves.map((s) => s.listen.port), [18001, 18002]);
    assert.deepEqual(h.resizers.map((r) => r.listen.port), [19000, 19001]);
  });

  test("every path lives under the work directory, per instance", () => {
    const paths = [h.master.paths, ...h.slaves.map((s) => s.paths)];
    for (const p of paths) {
      for (const key of ["config", "pid", "tempDir", "accessLog", "errorLog", "htmlDir"] as const) {
        assert.ok(p[key].startsWith("/tmp/work/local/"), `${key}: ${p[key]}`);
      }
      assert.equal(p.imagesRoot, "/tmp/work/images");
    }
    assert.equal(new Set(paths.map((p) => p.pid)).size, paths.length, "each instance has its own pid file");
    assert.ok(h.master.paths.cacheDir.startsWith("/tmp/work/local/"));
    assert.equal(fromEnv(h.resizers[0]!.env).root, "/tmp/work/images");
  });

  test("the same spec differs between targets only in addresses, ports and paths", () => {
    const container = planCluster(localSpec()).hosts[0]!;
    assert.deepEqual(container.master.tuning, h.master.tuning);
    assert.deepEqual(container.master.cache, h.master.cache);
    assert.deepEqual(
      container.master.servers.map(({ tls: _tls, ...rest }) => rest),
      h.master.servers.map(({ tls: _tls, ...rest }) => rest),
    );
    assert.deepEqual(container.master.slaves.balance, h.master.slaves.balance);
  });
});

describe("derived facts", () => {
  test("without any certificate there is no HTTPS listener, publish or health-check port", () => {
    const spec = parseClusterSpec({
      hosts: [{ name: "solo", address: "10.0.0.1", docker: "unix:///var/run/docker.sock" }],
      domains: [{ id: "plain", serverNames: ["localhost"] }],
      vip: { address: "10.0.0.100" },
    });
    const plan = planCluster(spec);
    assert.equal(plan.hosts[0]!.master.https, undefined);
    assert.deepEqual(plan.hosts[0]!.master.publish, { http: 80 });
    assert.deepEqual(plan.vip?.healthCheck.ports, [80]);
  });

  test("a per-host resizer override changes that host's replicas only", () => {
    const spec = parseClusterSpec({
      hosts: [
        { name: "big", address: "10.0.0.1", docker: "unix:///var/run/docker.sock", resizer: { replicas: 6, memoryMb: 2048 } },
        { name: "small", address: "10.0.0.2", docker: "unix:///var/run/docker.sock" },
      ],
      domains: [{ id: "plain", serverNames: ["localhost"] }],
    });
    const [big, small] = planCluster(spec).hosts;
    assert.equal(big!.resizers.length, 6);
    assert.equal(big!.resizers[0]!.memoryMb, 2048);
    assert.equal(small!.resizers.length, 2);
    assert.equal(small!.resizers[0]!.memoryMb, 512);
  });

  test("a host's resizer override keeps the cluster's values for every field it does not set", () => {
    const spec = parseClusterSpec({
      hosts: [
        { name: "wide", address: "10.0.0.1", docker: "unix:///var/run/docker.sock", resizer: { cpus: 2 } },
        { name: "plain", address: "10.0.0.2", docker: "unix:///var/run/docker.sock" },
      ],
      domains: [{ id: "plain", serverNames: ["localhost"] }],
      resizer: { replicas: 4, basePort: 9100, memoryMb: 1024 },
    });
    const [wide, plain] = planCluster(spec).hosts;
    assert.deepEqual(
      wide!.resizers.map((r) => [r.listen.port, r.memoryMb, r.cpus]),
      [9100, 9101, 9102, 9103].map((port) => [port, 1024, 2]),
    );
    assert.deepEqual(plain!.resizers.map((r) => [r.listen.port, r.memoryMb, r.cpus]), [9100, 9101, 9102, 9103].map((port) => [port, 1024, 1]));
  });

  test("the first domain is the default server unless one is marked", () => {
    const spec = parseClusterSpec({
      hosts: [{ name: "solo", address: "10.0.0.1", docker: "unix:///var/run/docker.sock" }],
      domains: [
        { id: "one", serverNames: ["one.example.com"] },
        { id: "two", serverNames: ["two.example.com"], default: true },
      ],
    });
    assert.deepEqual(planCluster(spec).hosts[0]!.master.servers.map((s) => s.default), [false, true]);
  });
});

describe("per-client limits on the resize routes (nginx.resizeLimits)", () => {
  const l4 = (n: number) => ({ name: `lb0${n}`, address: `172.18.141.6${n}`, docker: `ssh://deploy@172.18.141.6${n}` });
  const masterOf = (edit: (raw: Record<string, any>) => void) => {
    const raw = JSON.parse(JSON.stringify(prodSpec())) as Record<string, any>;
    edit(raw);
    return planCluster(parseClusterSpec(raw)).hosts[0]!.master;
  };
  const behindHaproxy = (raw: Record<string, any>) => (raw.vip = { ...raw.vip, mode: "haproxy", haproxy: { hosts: [l4(1), l4(2)] } });

  test("on by default behind the hardware L4: 128 in flight, 100/s, burst 1000, in every resize location", () => {
    const master = masterOf(() => {});
    assert.deepEqual(master.tuning.resizeLimits, { enabled: true, connections: 128, rate: 100, burst: 1000 });
    assert.match(renderMaster(master), /limit_req zone=\S+ burst=1000 nodelay;/);
  });

  test("off by default behind vip.mode haproxy, where every HTTPS client reaches the masters from HAProxy's address", () => {
    const master = masterOf(behindHaproxy);
    assert.equal(master.tuning.resizeLimits.enabled, false);
    assert.doesNotMatch(renderMaster(master), /limit_req|limit_conn/);
  });

  test("an explicit false is kept wherever the VIP is", () => {
    assert.equal(masterOf((raw) => (raw.nginx = { ...raw.nginx, resizeLimits: { enabled: false } })).tuning.resizeLimits.enabled, false);
  });
});
