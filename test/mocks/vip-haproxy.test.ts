// prod behind the software VIP (`vip.mode: haproxy`) under Pulumi mocks: each L4 host gets
// the HAProxy/keepalived image built from infra/vip/Dockerfile, HAProxy's rendered config and
// keepalived's with its check script (through checked installers), the containers as
// hardened as their jobs allow, and a gate; the L4 hosts come after every image host, one
// at a time. A change of members reloads the running HAProxy and never replaces it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { vipFiles } from "../../infra/render.js";
import { haproxyCheck, haproxySaveState, haproxyServe, keepalivedServe } from "../../infra/remote.js";
import { CONTAINER, planCluster, type ClusterPlan, type VipHostPlan } from "../../infra/topology.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { VIP_BUILD, vipImageRef } from "../../infra/components/vipImage.js";
import { projectRoot } from "../helpers/cli.js";
import { PROD_L4_HOSTS, installedFiles, mockImageId, named, ofType, prodWithHaproxy, runProgram, type ProgramRun, type Registered } from "../helpers/pulumi.js";

const operator = prodWithHaproxy();
const planOf = (config: Record<string, unknown>): ClusterPlan => planCluster(parseClusterSpec(fromStackConfig(config)));
const plan = planOf(operator.config);
const l4 = plan.vip!.haproxy!.hosts;
let run: ProgramRun;

before(async () => {
  run = await runProgram(operator.config, operator.secretKeys);
  if (run.error) throw run.error;
});

const container = (r: ProgramRun, name: string): Registered => {
  const found = ofType(r, "Container").find((c) => c.inputs.name === name);
  assert.ok(found, `no container ${name}`);
  return found;
};
const dependsOn = (r: Registered, other: Registered) => r.dependencies.includes(other.urn);

describe("prod with vip.mode haproxy: the L4 hosts", () => {
  test("each L4 host has its own Docker provider over ssh, and every docker resource of it uses that provider", () => {
    for (const host of PROD_L4_HOSTS) {
      const provider = named(run, `${host.name}-docker`);
      assert.equal(provider.inputs.host, host.docker);
      const ref = `${provider.urn}::${provider.name}-id`;
      const own = run.resources.filter((r) => r.type.startsWith("docker:") && r.name.startsWith(`${host.name}-`));
      assert.deepEqual(own.map((r) => r.name).sort(), [
        `${host.name}-haproxy`, `${host.name}-haproxy-files`, `${host.name}-haproxy-files`, `${host.name}-keepalived`, `${host.name}-keepalived-files`, `${host.name}-keepalived-files`, `${host.name}-net`,
      ].sort());
      for (const r of own) assert.equal(r.provider, ref, `${r.name} uses ${r.provider}`);
    }
  });

  test("the image is built from infra/vip/Dockerfile by the operator's engine when a delivery needs it, streamed to each L4 host once built, and run by the id it reports", () => {
    const ref = vipImageRef(projectRoot);
    assert.match(ref, /^image-origin\/vip:[0-9a-f]{16}$/);
    const deliveries = l4.map((host) => named(run, `${host.name}-images-vip`));
    for (const [i, host] of l4.entries()) {
      const delivery = deliveries[i]!;
      assert.deepEqual(delivery.inputs.triggers, [ref]);
      assert.ok((delivery.inputs.create as string).includes(`docker build --quiet -f ${VIP_BUILD.dockerfile} -t ${ref} ${VIP_BUILD.context}`), delivery.inputs.create);
      for (const name of [host.haproxy.name, host.keepalived.name, `${host.haproxy.name}-files`]) {
        assert.equal(container(run, name).inputs.image, mockImageId(ref), name);
      }
    }
    // The second L4 host's delivery after the first's: the operator's engine builds once.
    assert.ok(dependsOn(deliveries[1]!, deliveries[0]!));
    assert.equal(join(projectRoot, "infra", VIP_BUILD.dockerfile), join(projectRoot, "infra/vip/Dockerfile"));
  });

  test("HAProxy and keepalived get exactly the rendered files, each checked by its own program before it reaches the volume", () => {
    for (const host of l4) {
      const files = vipFiles(plan.vip!, host);
      for (const instance of [host.haproxy.name, host.keepalived.name]) {
        const want = new Map(files[instance]!.map((f) => [f.path, f.content]));
        assert.deepEqual(installedFiles(run, instance), want, instance);
      }
      const haproxyInstaller = container(run, `${host.haproxy.name}-files`).inputs.command[0] as string;
      assert.ok(haproxyInstaller.includes(`haproxy -c -f ${CONTAINER.haproxy.config}`), haproxyInstaller);
      const keepalivedInstaller = container(run, `${host.keepalived.name}-files`).inputs.command[0] as string;
      assert.match(keepalivedInstaller, /keepalived --config-test --use-file/);
      assert.match(keepalivedInstaller, /chmod 0755 \/etc\/image-origin\/haproxy-alive\.sh/, "the check script is executable where keepalived checks it");
      const cfg = installedFiles(run, host.haproxy.name).get(CONTAINER.haproxy.config)!;
      for (const member of plan.hosts) {
        assert.ok(cfg.includes(`server ${member.name} ${member.address}:80 check\n`), `${host.name}: ${member.name} on 80`);
        assert.ok(cfg.includes(`server ${member.name} ${member.address}:443 check check-ssl verify none\n`), `${host.name}: ${member.name} on 443`);
      }
      assert.match(cfg, /default-server inter 5s rise 2 fall 3/, "the vip.healthCheck timings of Pulumi.prod.yaml");
    }
  });

  test("HAProxy: non-root, read-only root, no capabilities, its own network; the VIP ports on every address, stats only on the L4 host's", () => {
    for (const host of l4) {
      const h = container(run, host.haproxy.name).inputs;
      assert.equal(h.user, "99:99");
      assert.equal(h.readOnly, true);
      assert.deepEqual(h.capabilities, { drops: ["ALL"] });
      assert.deepEqual(h.securityOpts, ["no-new-privileges:true"]);
      assert.equal(h.networkMode, `${host.name}-net`);
      assert.deepEqual(h.ports, [
        { internal: 8080, external: 80, ip: "0.0.0.0" },
        { internal: 8404, external: 8404, ip: host.address },
        { internal: 8443, external: 443, ip: "0.0.0.0" },
      ]);
      assert.deepEqual([...h.entrypoints, ...h.command], haproxyServe(host.haproxy.paths));
      assert.equal(h.stopSignal, "SIGUSR1", "a soft stop: connections in flight finish");
      assert.deepEqual(Object.keys(h.tmpfs), [CONTAINER.haproxy.runDir]);
      assert.equal(h.memory, 256);
    }
  });

  test("keepalived: the host's network, root with NET_ADMIN and NET_RAW only, read-only root, after its HAProxy", () => {
    for (const host of l4) {
      const k = container(run, host.keepalived.name);
      assert.equal(k.inputs.networkMode, "host");
      assert.equal(k.inputs.user, "0:0");
      assert.deepEqual(k.inputs.capabilities, { drops: ["ALL"], adds: ["NET_ADMIN", "NET_RAW"] });
      assert.equal(k.inputs.readOnly, true);
      assert.deepEqual([...k.inputs.entrypoints, ...k.inputs.command], keepalivedServe(host.keepalived.paths));
      assert.ok(dependsOn(k, container(run, host.haproxy.name)), "a keepalived without a serving HAProxy would only go to FAULT");
    }
  });

  test("every L4 host comes after every image host is healthy, and the second after the first's gate", () => {
    const [first, second] = l4 as [VipHostPlan, VipHostPlan];
    const gates = plan.hosts.map((h) => named(run, `${h.name}-healthy`));
    const haproxy1 = container(run, first.haproxy.name);
    for (const gate of gates) assert.ok(dependsOn(haproxy1, gate), `${first.haproxy.name} after ${gate.name}`);
    assert.ok(dependsOn(container(run, second.haproxy.name), named(run, `${first.name}-healthy`)));
    const gate = named(run, `${first.name}-healthy`);
    assert.match(gate.inputs.create, new RegExp(`http://${first.address.replace(/\./g, "\\.")}:8404/healthz`));
  });

  test("the vip stack output: the hardware registration block plus where the software L4 runs and its metrics", () => {
    const vip = run.outputs.vip as Record<string, any>;
    assert.equal(vip.mode, "haproxy");
    assert.equal(vip.address, "180.182.43.12");
    assert.deepEqual(vip.members.map((m: { host: string }) => m.host), ["img01", "img02", "img03", "img04", "img05"]);
    assert.deepEqual(
      vip.haproxy.hosts.map((h: Record<string, unknown>) => [h.name, h.priority, h.metrics]),
      [["lb01", 200, "http://172.18.141.61:8404/metrics"], ["lb02", 190, "http://172.18.141.62:8404/metrics"]],
    );
  });
});

describe("a change of members reloads HAProxy, never replaces it", () => {
  let next: ProgramRun;
  let nextPlan: ClusterPlan;
  before(async () => {
    const changed = structuredClone(operator.config);
    const hosts = changed["image-origin:hosts"] as { name: string; address: string; docker: string }[];
    hosts.push({ name: "img06", address: "172.18.141.56", docker: "ssh://deploy@172.18.141.56" });
    next = await runProgram(changed, operator.secretKeys);
    if (next.error) throw next.error;
    nextPlan = planOf(changed);
  });

  test("img06 added: the HAProxy containers' inputs are unchanged (no replacement), the installers carry the new member, the reload runs again", () => {
    for (const host of l4) {
      const before = container(run, host.haproxy.name);
      const after = container(next, host.haproxy.name);
      assert.deepEqual(after.inputs, before.inputs, `${host.haproxy.name}: same inputs, nothing for the engine to replace`);
      const cfg = installedFiles(next, host.haproxy.name).get(CONTAINER.haproxy.config)!;
      assert.ok(cfg.includes("server img06 172.18.141.56:80 check\n"));
      assert.ok(!installedFiles(run, host.haproxy.name).get(CONTAINER.haproxy.config)!.includes("img06"));
      const reload = (r: ProgramRun) => named(r, `${host.haproxy.name}-reload`).inputs;
      assert.notDeepEqual(reload(next).triggers, reload(run).triggers, "new files: the reload runs again");
      // The reload: HAProxy's own check, the hosts' states saved, then SIGUSR2 (master-worker reload).
      const script = reload(next).create as string;
      const at = (s: string) => script.indexOf(s);
      assert.ok(at(haproxyCheck(host.haproxy.paths.config).join(" ")) > 0);
      assert.ok(at("show servers state") > at(haproxyCheck(host.haproxy.paths.config).join(" ")));
      assert.ok(at("kill --signal USR2") > at("show servers state"), script);
      assert.ok(haproxySaveState(host.haproxy.paths).every((w) => w.startsWith("/") || script.includes(w.split(" ")[0]!)));
      // keepalived's files do not name the members: nothing of it changes.
      assert.deepEqual(container(next, host.keepalived.name).inputs, container(run, host.keepalived.name).inputs);
      assert.deepEqual(named(next, `${host.keepalived.name}-reload`).inputs.triggers, named(run, `${host.keepalived.name}-reload`).inputs.triggers);
    }
    assert.equal(nextPlan.vip!.haproxy!.services[0]!.members.length, 6);
  });

  test("the new host is admitted only after its own gate: the L4 hosts wait for img06-healthy", () => {
    assert.ok(dependsOn(container(next, l4[0]!.haproxy.name), named(next, "img06-healthy")));
  });
});

describe("hardware mode registers no L4 host", () => {
  test("prod as it is: no HAProxy, no keepalived, no image for them; the vip output says hardware", async () => {
    const { prodWithSuppliedCertificate } = await import("../helpers/pulumi.js");
    const hardware = prodWithSuppliedCertificate();
    const r = await runProgram(hardware.config, hardware.secretKeys);
    if (r.error) throw r.error;
    assert.deepEqual(ofType(r, "Container").filter((c) => /haproxy|keepalived/.test(c.inputs.name)), []);
    assert.equal(r.resources.filter((x) => /-images-vip$/.test(x.name)).length, 0);
    assert.equal((r.outputs.vip as { mode: string }).mode, "hardware");
    assert.equal((r.outputs.vip as { haproxy?: unknown }).haproxy, undefined);
  });
});
