// Tier 5 for `vip.mode: haproxy`: an L4 host's containers run on the real Docker engine as
// the Pulumi program declares them (the inputs a mocked `pulumi up` registers), from the
// image built out of infra/vip/Dockerfile on a local stand-in base. Two departures, both
// because this machine's network is not the test's to change: HAProxy's VIP port, declared
// on every address (the VIP moves between L4 hosts), is published on 127.0.0.1 here; and
// keepalived, declared on the host's network, runs on a network this test creates, where
// the "L4 host's address" is that network's gateway (as a host's own address is reached
// from its containers). Everything else is as declared: users, capabilities, read-only
// roots, installers with their checks, healthchecks, reload commands.
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { execShell, runDeclared } from "../helpers/declared.js";
import { docker, dockerRaw, fetchWithin, inspect, logs, requireDocker, requireImage } from "../helpers/docker.js";
import { mockImageId, named, ofType, runProgram, type ProgramRun } from "../helpers/pulumi.js";
import { freePorts } from "../helpers/stage.js";

const id = randomBytes(3).toString("hex");
const [lb, imgA, imgB] = [`lb${id}`, `ia${id}`, `ib${id}`];
const octet = () => randomInt(1, 250);
/** Test networks: the members' (two, one per image host), keepalived's, and the L4 host's own container subnet. */
const nets = { a: `vipa-${id}`, b: `vipb-${id}`, k: `vipk-${id}` };
const subnets = { a: `10.214.${octet()}`, b: `10.215.${octet()}`, k: `10.216.${octet()}`, l4: `10.217.${octet()}` };
const gateway = (net: string) => `${net}.1`;
const dir = mkdtempSync(join(tmpdir(), "vip-containers-"));
let memberPort: number;
let vipPort: number;
let statsPort: number;
let run: ProgramRun;
let vipImage: string;
const created: string[] = [];
const members = { [imgA]: `${imgA}-stub`, [imgB]: `${imgB}-stub` };

/** The stack this test deploys: one or two image hosts (stand-in masters) behind one L4 host. */
function config(hosts: string[]): Record<string, unknown> {
  return {
    "image-origin:hosts": hosts.map((h) => ({ name: h, address: gateway(h === imgA ? subnets.a : subnets.b), docker: "unix:///var/run/docker.sock" })),
    "image-origin:domains": [{ id: "image-origin", serverNames: ["image-origin.localhost"] }],
    "image-origin:master": { httpPort: memberPort },
    "image-origin:network": { subnet: `${subnets.l4}.0/24` },
    // A container's nofile limit cannot exceed the engine's own (this sandbox caps every process at 20000).
    "image-origin:nginx": { master: { workerConnections: 4096, workerRlimitNofile: 16384 } },
    "image-origin:vip": {
      address: `${subnets.k}.100`,
      mode: "haproxy",
      healthCheck: { intervalSeconds: 1, timeoutSeconds: 1, rise: 2, fall: 2 },
      haproxy: { hosts: [{ name: lb, address: gateway(subnets.k), docker: "unix:///var/run/docker.sock", interface: "eth0" }], statsPort },
    },
  };
}

const container = (r: ProgramRun, name: string) => {
  const c = ofType(r, "Container").find((x) => x.inputs.name === name);
  assert.ok(c, `no declared container ${name}`);
  // The program names images by the id the host's engine reports (the mock reports a stand-in id).
  return { ...c.inputs, image: c.inputs.image === mockImageId(vipRef(r)) ? vipImage : c.inputs.image } as Record<string, any>;
};
const vipRef = (r: ProgramRun) => named(r, `${lb}-images-vip`).inputs.triggers[0] as string;

/** A stand-in master: nginx answering /healthz (503 while /tmp/drain exists) and /who with its host's name. */
async function startMember(host: string, net: string, subnet: string): Promise<void> {
  const conf = join(dir, `${host}.conf`);
  writeFileSync(
    conf,
    [
      "pid /tmp/nginx.pid; error_log stderr;",
      "events {}",
      "http { access_log off; client_body_temp_path /tmp; proxy_temp_path /tmp; fastcgi_temp_path /tmp; uwsgi_temp_path /tmp; scgi_temp_path /tmp;",
      "  server { listen 8080;",
      "    location = /healthz { if (-f /tmp/drain) { return 503; } return 200 ok; }",
      `    location = /who { return 200 ${host}; }`,
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  chmodSync(conf, 0o644);
  const name = members[host]!;
  created.push(name);
  await docker(["run", "-d", "--name", name, "--user", "101:101", "--read-only", "--tmpfs", "/tmp:uid=101,gid=101", "--network", net, "--publish", `${gateway(subnet)}:${memberPort}:8080`, "-v", `${conf}:/etc/stub.conf:ro`, "nginx:1.28.0-bookworm", "nginx", "-c", "/etc/stub.conf", "-g", "daemon off;"]);
}

before(async () => {
  await requireDocker();
  await requireImage("debian:12.12-slim");
  await requireImage("nginx:1.28.0-bookworm");
  chmodSync(dir, 0o755);
  [memberPort = 0, vipPort = 0, statsPort = 0] = await freePorts(3);
  for (const [key, net] of Object.entries({ a: nets.a, b: nets.b, k: nets.k })) {
    const subnet = subnets[key as "a" | "b" | "k"];
    await docker(["network", "create", "--driver", "bridge", "--subnet", `${subnet}.0/24`, "--gateway", gateway(subnet), net]);
  }
  await startMember(imgA, nets.a, subnets.a);
  await startMember(imgB, nets.b, subnets.b);

  run = await runProgram(config([imgA]));
  if (run.error) throw run.error;
  vipImage = vipRef(run);
  await docker(["build", "--quiet", "-f", "infra/vip/Dockerfile", "-t", vipImage, "infra/vip"], { timeoutMs: 600_000 });

  // What `pulumi up` creates for the L4 host, in its order: network, volumes, installers, HAProxy, keepalived.
  const network = named(run, `${lb}-net`).inputs;
  await docker(["network", "create", "--driver", network.driver, "--subnet", network.ipamConfigs[0].subnet, "--gateway", network.ipamConfigs[0].gateway, network.name]);
  for (const v of ofType(run, "Volume").filter((x) => x.inputs.name.startsWith(lb))) await docker(["volume", "create", v.inputs.name]);
  for (const name of [`${lb}-haproxy-files`, `${lb}-haproxy`, `${lb}-keepalived-files`, `${lb}-keepalived`]) {
    const c = container(run, name);
    if (name === `${lb}-haproxy`) {
      const vipListener = c.ports.findIndex((p: { internal: number }) => p.internal === 8080);
      assert.deepEqual(c.ports[vipListener], { internal: 8080, external: memberPort, ip: "0.0.0.0" }, "declared: the VIP port on every address");
      c.ports[vipListener] = { internal: 8080, external: vipPort, ip: "127.0.0.1" };
    }
    if (name === `${lb}-keepalived`) {
      assert.equal(c.networkMode, "host", "declared: the host's network");
      c.networkMode = nets.k;
    }
    created.push(name);
    await runDeclared(c);
  }
});

after(async () => {
  for (const name of created) await dockerRaw(["rm", "-f", "-v", name]);
  for (const v of [`${lb}-haproxy-files`, `${lb}-keepalived-files`]) await dockerRaw(["volume", "rm", "-f", v]);
  for (const net of [`${lb}-net`, nets.a, nets.b, nets.k]) await dockerRaw(["network", "rm", net]);
  rmSync(dir, { recursive: true, force: true });
});

const vip = (path: string) => fetchWithin(`http://127.0.0.1:${vipPort}${path}`, 5_000, { headers: { host: "image-origin.localhost" } });
const stats = (path: string) => fetchWithin(`http://${gateway(subnets.k)}:${statsPort}${path}`, 5_000);
const processes = async (name: string) => (await docker(["top", name, "-o", "pid,uid,args"])).split("\n").slice(1).map((l) => l.trim().split(/\s+/).slice(1));
const serverStatus = async (host: string) => {
  const csv = await (await stats("/stats;csv")).text();
  return csv.split("\n").find((l) => l.startsWith(`hosts_http,${host},`))?.split(",")[17];
};

describe("an L4 host's containers as declared, on a real engine", () => {
  test("HAProxy: uid 99 on a read-only root with no capabilities, healthy, serving the VIP port from the members", async () => {
    const name = `${lb}-haproxy`;
    assert.equal(await inspect(name, ".State.Health.Status"), "healthy");
    assert.equal(await inspect(name, ".HostConfig.ReadonlyRootfs"), true);
    assert.deepEqual(await inspect(name, ".HostConfig.CapDrop"), ["ALL"]);
    const uids = (await processes(name)).map(([uid]) => uid);
    assert.ok(uids.length >= 2 && uids.every((u) => u === "99"), `HAProxy's master and worker run as 99: ${uids}`);
    const status = await inspect<string>(name, ".State.Status");
    assert.equal(status, "running");
    const who = await vip("/who");
    assert.equal(who.status, 200);
    assert.equal(await who.text(), imgA);
  });

  test("the ops port: Prometheus metrics and the stats page on the L4 host's address, and keepalived's liveness", async () => {
    const metrics = await stats("/metrics");
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^haproxy_server_status\{proxy="hosts_http",server="ia[0-9a-f]+"/m);
    assert.equal((await stats("/healthz")).status, 200);
    assert.equal((await stats("/stats")).status, 200);
  });

  test("keepalived: root with exactly NET_ADMIN and NET_RAW, read-only root, holding the VIP while its HAProxy serves", async () => {
    const name = `${lb}-keepalived`;
    assert.equal(await inspect(name, ".State.Health.Status"), "healthy");
    assert.equal(await inspect(name, ".HostConfig.ReadonlyRootfs"), true);
    // CapEff of keepalived itself: CAP_NET_ADMIN (12) and CAP_NET_RAW (13), nothing else.
    const capEff = await docker(["exec", name, "sh", "-c", "grep CapEff /proc/1/status"]);
    assert.match(capEff, /CapEff:\s+0000000000003000$/);
    const deadline = Date.now() + 15_000;
    while (!/Entering MASTER STATE/.test(await logs(name)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const log = await logs(name);
    assert.match(log, /\(vip\) Entering MASTER STATE/, log);
    assert.match(log, /setting VIPs/);
  });

  test("a drained member leaves; a member change is installed and reloaded into the same HAProxy (same container, same PID 1), the drained one still out", async () => {
    const name = `${lb}-haproxy`;
    await docker(["exec", members[imgA]!, "touch", "/tmp/drain"]);
    const deadline = Date.now() + 10_000;
    while ((await serverStatus(imgA)) !== "DOWN" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await serverStatus(imgA), "DOWN");

    const idBefore = await inspect(name, ".Id");
    const pidBefore = await inspect<number>(name, ".State.Pid");
    const next = await runProgram(config([imgA, imgB]));
    if (next.error) throw next.error;
    assert.deepEqual({ ...container(next, name), ports: null }, { ...container(run, name), ports: null }, "the container's inputs did not change: nothing to replace");
    const reload = named(next, `${name}-reload`).inputs;
    assert.notDeepEqual(reload.triggers, named(run, `${name}-reload`).inputs.triggers);
    await dockerRaw(["rm", "-f", `${name}-files`]);
    await runDeclared(container(next, `${name}-files`));
    await execShell(reload.create);

    assert.equal(await inspect(name, ".Id"), idBefore, "the same container");
    assert.equal(await inspect<number>(name, ".State.Pid"), pidBefore, "the same HAProxy master process (PID 1): reloaded, not restarted");
    assert.equal(await serverStatus(imgA), "DOWN", "the drained member stayed out across the reload");
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await (await vip("/who")).text());
    assert.deepEqual([...seen], [imgB], "only the new member serves while the first is drained");

    await docker(["exec", members[imgA]!, "rm", "/tmp/drain"]);
    const back = Date.now() + 10_000;
    while ((await serverStatus(imgA)) !== "UP" && Date.now() < back) await new Promise((r) => setTimeout(r, 200));
    const both = new Set<string>();
    for (let i = 0; i < 10; i++) both.add(await (await vip("/who")).text());
    assert.deepEqual([...both].sort(), [imgA, imgB].sort(), "undrained, both serve, round robin");
  });

  test("keepalived's reload checks the config where the interfaces are (its own network) and keeps running", async () => {
    const name = `${lb}-keepalived`;
    await execShell(named(run, `${name}-reload`).inputs.create);
    assert.equal(await inspect(name, ".State.Status"), "running");
  });
});
