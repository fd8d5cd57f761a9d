// Tier 5: the local stack's host, run on the real Docker engine exactly as the Pulumi
// program declares it: the network, volume and containers come from the inputs a mocked
// `pulumi up` registers, images from resizer/Dockerfile and the pinned nginx tag (a local
// stand-in built by scripts/setup-docker.sh: no registry here). Proves the hardening is
// livable: nginx as uid 101 on a read-only root, the cache volume writable, the TLS key
// readable, healthchecks passing, the seeds' start order, a config change applied by a
// reload of the running master, the drain flag, a graceful stop that completes the
// request in flight.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { DECLARED_ORDER, execShell, runDeclared, useEngineImages } from "../helpers/declared.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { readHost } from "../../infra/status/collect.js";
import { parseExposition, sum } from "../../infra/status/metrics.js";
import { hostStatus } from "../../infra/status/view.js";
import { planCluster } from "../../infra/topology.js";
import { docker, dockerRaw, fetchWithin, inspect, logs, requireDocker, waitHttp } from "../helpers/docker.js";
import { photo } from "../helpers/images.js";
import { pausedDownload, sha256 } from "../helpers/inflight.js";
import { named, ofType, runProgram, stackConfig, type ProgramRun, type Registered } from "../helpers/pulumi.js";
import { freePorts } from "../helpers/stage.js";
import { CONTAINER } from "../../infra/topology.js";

const hostName = `ct${randomBytes(3).toString("hex")}`;
const subnet = `10.213.${1 + (randomBytes(1)[0]! % 250)}.0/24`;
const images = mkdtempSync(join(tmpdir(), "declared-images-"));
let run: ProgramRun;
let httpPort: number;
let httpsPort: number;
let opsPort: number;
let declared: Registered[] = [];
/** The stack config this test deploys, and the real image id for each mock id. */
let config: Record<string, unknown>;
let realId: Map<string, string>;
/** A thumbnail far larger than the socket buffers: a client that stops reading keeps it in flight. */
const IN_FLIGHT = "thumbnail/2026/in-flight.jpg";
const BIG = randomBytes(32 * 1024 * 1024);

const container = (suffix: string) => ofType(run, "Container").find((c) => c.inputs.name === `${hostName}-${suffix}`)!.inputs;
const url = (path: string) => `http://127.0.0.1:${httpPort}${path}`;

before(async () => {
  await requireDocker();
  [httpPort = 0, httpsPort = 0, opsPort = 0] = await freePorts(3);
  chmodSync(images, 0o755);
  mkdirSync(join(images, "thumbnail/2026"), { recursive: true });
  await photo(1920, 1080).jpeg().toFile(join(images, "still.jpg"));
  await photo(320, 180).jpeg().toFile(join(images, "thumbnail/2026/t1.jpg"));
  writeFileSync(join(images, IN_FLIGHT), BIG);

  config = stackConfig("local");
  config["image-origin:hosts"] = [{ name: hostName, address: "127.0.0.1", docker: "unix:///var/run/docker.sock" }];
  config["image-origin:imagesDir"] = images;
  config["image-origin:master"] = { httpPort, httpsPort };
  config["image-origin:network"] = { subnet };
  // The published ops port is reached from this machine through Docker's proxy, which
  // connects from the network's gateway: that is the monitoring network here.
  config["image-origin:ops"] = { port: opsPort, allow: [`${subnet.replace(/0\/24$/, "1")}/32`] };
  // A container's nofile limit cannot exceed the engine's own (this sandbox caps every
  // process at 20000; Debian's docker.service runs with LimitNOFILE=infinity).
  config["image-origin:nginx"] = {
    master: { workerConnections: 4096, workerRlimitNofile: 16384 },
    slave: { workerConnections: 2048, workerRlimitNofile: 8192 },
  };
  run = await runProgram(config);
  if (run.error) throw run.error;

  realId = await useEngineImages(run, hostName);

  // What `pulumi up` creates, in the order its dependencies impose.
  const network = ofType(run, "Network")[0]!.inputs;
  const ipam = network.ipamConfigs[0];
  await docker(["network", "create", "--driver", network.driver, "--subnet", ipam.subnet, "--gateway", ipam.gateway, network.name]);
  for (const v of ofType(run, "Volume")) await docker(["volume", "create", v.inputs.name]);
  declared = ofType(run, "Container");
  for (const suffix of DECLARED_ORDER) await runDeclared(container(suffix));
});

after(async () => {
  for (const c of declared) await dockerRaw(["rm", "-f", "-v", c.inputs.name]);
  if (run && !run.error) {
    for (const v of ofType(run, "Volume")) await dockerRaw(["volume", "rm", "-f", v.inputs.name]);
    for (const n of ofType(run, "Network")) await dockerRaw(["network", "rm", n.inputs.name]);
  }
  rmSync(images, { recursive: true, force: true });
});

describe("the local stack's containers as declared, on a real engine", () => {
  test("every long-running container is healthy, non-root, read-only and capability-free", async () => {
    for (const suffix of ["slave01", "slave02", "resizer01", "resizer02", "ops", "master"]) {
      const name = `${hostName}-${suffix}`;
      assert.equal(await inspect(name, ".State.Health.Status"), "healthy", name);
      assert.equal(await inspect(name, ".HostConfig.ReadonlyRootfs"), true, name);
      assert.deepEqual(await inspect(name, ".HostConfig.CapDrop"), ["ALL"], name);
      // The processes really run as the declared user, not just the config field.
      const uids = (await docker(["top", name, "-o", "pid,uid"])).split("\n").slice(1).map((l) => l.trim().split(/\s+/)[1]);
      assert.ok(uids.length > 0 && uids.every((u) => u !== "0"), `${name} runs as ${uids.join(",")}`);
    }
  });

  test("containers sit at their fixed addresses on the declared subnet", async () => {
    for (const suffix of ["master", "slave01", "resizer02", "ops"]) {
      const c = container(suffix);
      const ip = await inspect(c.name, `(index .NetworkSettings.Networks "${c.networkMode}").IPAddress`);
      assert.equal(ip, c.networksAdvanced[0].ipv4Address, suffix);
    }
  });

  test("through the published port: health, static files from the slaves, thumbnails from the master", async () => {
    assert.equal((await fetch(url("/healthz"))).status, 200);
    const still = await fetch(url("/still.jpg"));
    assert.equal(still.status, 200);
    assert.equal(still.headers.get("content-type"), "image/jpeg");
    const thumb = await fetch(url("/thumbnail/2026/t1.jpg"));
    assert.equal(thumb.status, 200);
    assert.match(thumb.headers.get("cache-control") ?? "", /max-age=5\b/);
    assert.equal((await fetch(url("/thumbnail/2026/missing.jpg"))).status, 404);
  });

  test("a resize goes to the resizers and the second one is a cache hit on the nginx-owned volume", async () => {
    const path = "/resize?src=still.jpg&w=320&h=180&fmt=webp";
    const first = await fetch(url(path));
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-cache-status"), "MISS");
    const bytes = Buffer.from(await first.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 320, 180]);
    const second = await fetch(url(path));
    assert.equal(second.headers.get("x-cache-status"), "HIT");
    assert.deepEqual(Buffer.from(await second.arrayBuffer()), bytes);
  });

  test("the ops agent counts the containers' requests from their syslog on the private network; its published port answers the allow-list only", async () => {
    for (let i = 0; i < 4; i++) assert.equal((await fetch(url("/still.jpg"))).status, 200);
    const ops = `http://127.0.0.1:${opsPort}`;
    const deadline = Date.now() + 20_000;
    let text = "";
    // Datagrams and scrapes are asynchronous: wait until the requests above are counted.
    while (!/nginx_http_responses_total\{role="slave0[12]",route="static",status_class="2xx",cache_status="none"\} [1-9]/.test(text) && Date.now() < deadline) {
      text = await (await fetchWithin(`${ops}/metrics`, 5_000)).text();
    }
    const samples = parseExposition(text);
    assert.ok(sum(samples, "nginx_http_responses_total", { role: "master", route: "static", status_class: "2xx" }) >= 4, text.slice(0, 2000));
    assert.ok(sum(samples, "nginx_http_responses_total", { role: /^slave0[12]$/, route: "static" }) >= 4, "the slaves' own lines");
    for (const role of ["master", "slave01", "slave02"]) assert.equal(sum(samples, "nginx_up", { role }), 1, `${role}'s stub_status answers the agent's address`);
    assert.equal(sum(samples, "image_origin_tls_probe_success"), 1);
    assert.equal(sum(samples, "image_origin_ops_log_messages_total", { result: "refused" }), 0, "every datagram came from the host's nginx containers");
    const resizer = await fetchWithin(`${ops}/metrics/resizer01`, 5_000);
    assert.equal(resizer.status, 200);
    assert.match(await resizer.text(), /^resizer_http_requests_total\{route="healthz",status="200"\} [1-9]/m);

    // Another container on the host's network is no monitoring network: 403. The slaves' status listeners refuse it too.
    const net = container("ops").networkMode as string;
    const probe = (target: string) => docker(["run", "--rm", "--network", net, "--user", "1000:1000", container("ops").image, "node", "-e", `fetch(${JSON.stringify(target)}).then((r) => console.log(r.status), (e) => console.log(e.message))`]);
    assert.equal(await probe(`http://${container("ops").networksAdvanced[0].ipv4Address}:${opsPort}/metrics`), "403");
    assert.equal(await probe(`http://${container("slave01").networksAdvanced[0].ipv4Address}:${opsPort + 2}/stub_status`), "403");
  });

  test("npm run status reads the deployed host as it reads prod: health on the published ports, the rest by docker exec into its ops agent", async () => {
    const plan = planCluster(parseClusterSpec(fromStackConfig(config)), { kind: "container" });
    const host = plan.hosts[0]!;
    const first = await readHost(plan, host);
    for (let i = 0; i < 5; i++) await fetch(url("/still.jpg"));
    await new Promise((r) => setTimeout(r, 500)); // the datagrams of those requests
    const status = hostStatus(first, await readHost(plan, host));
    assert.deepEqual(status.problems, []);
    assert.equal(status.health, `:${httpPort} 200  :${httpsPort} 200`);
    assert.ok(status.requestsPerSecond! > 0, `requests counted: ${JSON.stringify(status)}`);
    assert.deepEqual(status.instances.map((i) => `${i.role} ${i.up}`), ["master true", "slave01 true", "slave02 true", "resizer01 true", "resizer02 true"]);
    assert.ok(status.certificateDays! > 800, "the declared self-signed certificate (825 days)");
    // The agent, its health checks and these reads (each a second Node in the container) fit its memory limit.
    const ops = `${hostName}-ops`;
    assert.deepEqual([await inspect(ops, ".RestartCount"), await inspect(ops, ".State.OOMKilled")], [0, false], `${ops} was never restarted`);
  });

  test("HTTPS with the declared certificate (its key installed 0400 for nginx's uid alone)", async () => {
    const mode = await docker(["run", "--rm", "--network", "none", "-v", `${hostName}-master-files:/c:ro`, container("master").image, "stat", "-c", "%a %u", "/c/tls/local.key"]);
    assert.equal(mode, "400 101");
    const cn = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port: httpsPort, path: "/healthz", servername: "stillshot-origin.localhost", rejectUnauthorized: false },
        (res) => {
          const cert = (res.socket as import("node:tls").TLSSocket).getPeerCertificate();
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve(String(cert.subjectaltname)) : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.match(cn, /DNS:stillshot-origin\.localhost/);
  });

  test("a config change reaches the running master by its installer and reload: same container, no failed request", async () => {
    const name = `${hostName}-master`;
    const idBefore = await inspect(name, ".Id");
    const pidBefore = await inspect<number>(name, ".State.Pid");
    // What `pulumi up` does after the stack file changed: the new installer, then the reload.
    const changed = structuredClone(config);
    changed["image-origin:nginx"] = { ...(changed["image-origin:nginx"] as object), expires: { thumbnail: "7s" } };
    const next = await runProgram(changed);
    if (next.error) throw next.error;
    const installer = ofType(next, "Container").find((c) => c.inputs.name === `${name}-files`)!.inputs;
    installer.image = realId.get(installer.image) ?? installer.image;
    const reload = named(next, `${name}-reload`).inputs;
    assert.notDeepEqual(reload.triggers, named(run, `${name}-reload`).inputs.triggers, "new files, new trigger");

    let loading = true;
    const statuses: number[] = [];
    const load = (async () => {
      while (loading) statuses.push(await fetch(url("/thumbnail/2026/t1.jpg")).then((r) => (r.body?.cancel(), r.status), () => 0));
    })();
    try {
      await dockerRaw(["rm", "-f", `${name}-files`]);
      await runDeclared(installer);
      await execShell(reload.create);
      const deadline = Date.now() + 10_000;
      let cacheControl = "";
      while (Date.now() < deadline && !/max-age=7\b/.test(cacheControl)) {
        cacheControl = (await fetch(url("/thumbnail/2026/t1.jpg"))).headers.get("cache-control") ?? "";
      }
      assert.match(cacheControl, /max-age=7\b/, "the new config serves");
    } finally {
      loading = false;
      await load;
    }
    assert.equal(await inspect(name, ".Id"), idBefore, "the master was reloaded, not replaced");
    assert.equal(await inspect(name, ".State.Pid"), pidBefore, "the same nginx master process: reloaded, not restarted");
    const failed = statuses.filter((s) => s !== 200).length;
    console.log(`  reload under load: ${statuses.length} thumbnail requests, ${failed} failed`);
    assert.equal(failed, 0);
    assert.ok(statuses.length > 10);

    // A config nginx refuses: the installer stops before the volume, the reload says why.
    const broken = structuredClone(installer);
    broken.uploads = broken.uploads.map((u: { file: string; content: string }) => (u.file.endsWith("/nginx.conf") ? { ...u, content: `${u.content}\nno_such_directive on;\n` } : u));
    await dockerRaw(["rm", "-f", `${name}-files`]);
    await assert.rejects(runDeclared(broken), /unknown directive "no_such_directive"/);
    await assert.rejects(execShell(reload.create), /exited 1: the new files were not installed[\s\S]*unknown directive "no_such_directive"/);
    const conf = await docker(["run", "--rm", "--network", "none", "-v", `${name}-files:/c:ro`, installer.image, "cat", "/c/nginx.conf"]);
    assert.doesNotMatch(conf, /no_such_directive/, "the volume keeps the accepted config");
    const still = await fetch(url("/thumbnail/2026/t1.jpg"));
    assert.equal(still.status, 200);
    assert.match(still.headers.get("cache-control") ?? "", /max-age=7\b/);
  });

  test("the drain flag on the master's tmpfs takes the host out of the L4's health check, and a restart brings it back", async () => {
    const name = `${hostName}-master`;
    // What the README tells an operator to type.
    const drain = "/tmp/nginx/drain";
    const health = async () => (await fetchWithin(url("/healthz"), 5_000)).status;
    assert.equal(await health(), 200);
    await docker(["exec", name, "touch", drain]);
    assert.equal(await health(), 503, "drained: the L4 takes the host out");
    assert.equal((await fetch(url("/thumbnail/2026/t1.jpg"))).status, 200, "requests still served while draining");
    await docker(["exec", name, "rm", drain]);
    assert.equal(await health(), 200, "back in service");

    // The flag lives on the tmpfs: a restarted master comes back in service by itself.
    assert.ok(Object.keys(await inspect<Record<string, string>>(name, ".HostConfig.Tmpfs")).includes(dirname(drain)), "the flag's directory is a tmpfs");
    await docker(["exec", name, "touch", drain]);
    assert.equal(await health(), 503);
    await docker(["restart", name], { timeoutMs: 60_000 });
    // (Docker's own health status may still read the drained master's failed checks.)
    await waitHttp(url("/healthz")).catch(async (err: Error) => {
      throw new Error(`${err.message}; the restarted master (${await inspect(name, ".State.Status")}) logged:\n${await logs(name)}`);
    });
    assert.equal(await health(), 200, "a restarted master is not drained");
  });

  test("the master stops gracefully on its declared stop signal: a request in flight completes with every byte", async () => {
    const name = `${hostName}-master`;
    // Straight to the master's address on the host's network: a published port on loopback
    // goes through docker-proxy, which Docker tears down with the container and may cut the
    // last bytes nginx already wrote to it (seen under load), which says nothing about nginx.
    const download = pausedDownload(container("master").networksAdvanced[0].ipv4Address, CONTAINER.masterHttpPort, `/${IN_FLIGHT}`, "image-origin.localhost");
    await download.started;
    const started = Date.now();
    const stopped = docker(["stop", name], { timeoutMs: 60_000 });
    // The stop signal has reached nginx: its workers shut down gracefully (or, had the
    // signal not been graceful, the container is no longer running). Then read on.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const top = await dockerRaw(["top", name, "-o", "pid,args"]);
      if (top.code !== 0 || /worker process is shutting down/.test(top.stdout)) break;
      assert.ok(Date.now() < deadline, `the master never began to stop:\n${top.stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    download.resume();
    const answer = await download.done;
    await stopped;
    assert.deepEqual(
      { status: answer.status, bytes: answer.bytes, sha256: answer.sha256, error: answer.error },
      { status: 200, bytes: BIG.length, sha256: sha256(BIG), error: undefined },
      "the answer in flight at `docker stop` completes",
    );
    assert.equal(await inspect(name, ".State.ExitCode"), 0);
    assert.ok(Date.now() - started < 10_000, "SIGQUIT ends nginx promptly, not by the stop timeout's SIGKILL");
  });
});
