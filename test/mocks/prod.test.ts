// The prod stack's full resource graph under Pulumi mocks: what `pulumi up` would ask
// each provider to create, for the five hosts of seed 001.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { specFromStackYaml } from "../../infra/stack.js";
import { instanceFiles } from "../../infra/render.js";
import { planCluster, type HostPlan } from "../../infra/topology.js";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../helpers/cli.js";
import { certificateFacts } from "../../infra/certs.js";
import { sshArgs } from "../../infra/remote.js";
import { resizerImageRef } from "../../infra/components/resizerImage.js";
import { all, argsOf, one, oneServing, parseConf, servingServers } from "../helpers/nginx-conf.js";
import { installedFiles, named, ofType, prodWithSuppliedCertificate, runProgram, type ProgramRun, type Registered, mockImageId } from "../helpers/pulumi.js";

// The stack file holds a placeholder chain and a `secure:` placeholder key; an operator sets
// the real pair, as this does with a generated one.
const operator = prodWithSuppliedCertificate();
const KEY = operator.pem.privateKeyPem;
const plan = planCluster(specFromStackYaml(readFileSync(join(projectRoot, "Pulumi.prod.yaml"), "utf8"), "prod"));
let run: ProgramRun;

before(async () => {
  run = await runProgram(operator.config, operator.secretKeys);
  if (run.error) throw run.error;
});

const containers = () => ofType(run, "Container");
const containerOf = (name: string) => containers().find((c) => c.inputs.name === name)!;
const providerOf = (host: HostPlan) => named(run, `${host.name}-docker`);
const urnsOf = (rs: Registered[]) => rs.map((r) => r.urn);

describe("prod: resources per host", () => {
  test("each of the five hosts gets a master, two slaves, four resizers, an installer per nginx, the cache owner and the ops agent, named host + role", () => {
    const names = containers().map((c) => c.inputs.name).sort();
    const expected = plan.hosts
      .flatMap((h) =>
        [h.master, ...h.slaves].flatMap((n) => [n.name, `${n.name}-files`]).concat(h.resizers.map((r) => r.name), [`${h.name}-cache-owner`, `${h.name}-ops`]),
      )
      .sort();
    assert.deepEqual(names, expected);
    assert.equal(names.length, 5 * (2 * 3 + 4 + 2));
  });

  test("each host has its own Docker provider over ssh, and every docker resource of the host uses it", () => {
    for (const host of plan.hosts) {
      const provider = providerOf(host);
      assert.equal(provider.inputs.host, `ssh://deploy@${host.address}`);
      const ref = `${provider.urn}::${provider.name}-id`;
      const own = run.resources.filter((r) => r.type.startsWith("docker:") && r.name.startsWith(`${host.name}-`));
      assert.ok(own.length >= 10, `${host.name}: ${own.length} docker resources`);
      for (const r of own) assert.equal(r.provider, ref, `${r.name} uses ${r.provider}`);
    }
  });

  test("a private network with the plan's subnet, and every container on it at its fixed address", () => {
    for (const host of plan.hosts) {
      const net = named(run, host.network.name);
      assert.deepEqual(net.inputs.ipamConfigs, [{ subnet: "10.213.0.0/24", gateway: "10.213.0.1" }]);
      const expected = [host.master, ...host.slaves, ...host.resizers].map((i) => [i.name, i.ip]);
      for (const [name, ip] of expected) {
        const c = containerOf(name!);
        assert.equal(c.inputs.networkMode, host.network.name);
        assert.deepEqual(c.inputs.networksAdvanced, [{ name: host.network.name, ipv4Address: ip, aliases: [name] }]);
      }
    }
  });

  test("nginx runs the pinned image, resizers the image built from resizer/Dockerfile, each by the id its own delivery reports", () => {
    const built = resizerImageRef(projectRoot);
    assert.match(built, /^image-origin\/resizer:[0-9a-f]{16}$/);
    for (const host of plan.hosts) {
      // By id, not tag: the provider stores the id it reads back, so a tag would differ
      // from state on every `up` and replace the container.
      for (const n of [host.master, ...host.slaves]) {
        assert.equal(containerOf(n.name).inputs.image, mockImageId("nginx:1.28.0-bookworm"));
        assert.deepEqual(containerOf(n.name).propertyDependencies.image, [named(run, `${host.name}-images-nginx`).urn]);
      }
      for (const r of host.resizers) {
        assert.equal(containerOf(r.name).inputs.image, mockImageId(built));
        assert.deepEqual(containerOf(r.name).propertyDependencies.image, [named(run, `${host.name}-images-resizer`).urn]);
      }
    }
  });

  test("each image reaches each host over ssh (closed network) by a command of its own, keyed on its ref; the operator's engine obtains it once", () => {
    const built = resizerImageRef(projectRoot);
    for (const [i, host] of plan.hosts.entries()) {
      for (const [name, ref] of [["resizer", built], ["nginx", "nginx:1.28.0-bookworm"]] as const) {
        const delivery = named(run, `${host.name}-images-${name}`);
        assert.deepEqual(delivery.inputs.triggers, [ref]);
        assert.match(delivery.inputs.create, new RegExp(`docker save ${ref.replace("/", "\\/")} \\| ssh -o BatchMode=yes deploy@${host.address} 'docker load --quiet'`));
        // The previous host's delivery of the same image first: one build or pull per `up`.
        const previous = plan.hosts[i - 1];
        assert.deepEqual(delivery.dependencies, previous ? [named(run, `${previous.name}-images-${name}`).urn] : []);
      }
      assert.match(named(run, `${host.name}-images-resizer`).inputs.create, /docker build --quiet -f \.\.\/resizer\/Dockerfile -t image-origin\/resizer:[0-9a-f]{16} \.\./);
      assert.match(named(run, `${host.name}-images-nginx`).inputs.create, /docker pull --quiet nginx:1\.28\.0-bookworm/);
    }
  });

  test("only the master publishes ports: 80/443 on the host's own address, to its unprivileged 8080/8443", () => {
    for (const host of plan.hosts) {
      assert.deepEqual(containerOf(host.master.name).inputs.ports, [
        { internal: 8080, external: 80, ip: host.address },
        { internal: 8443, external: 443, ip: host.address },
      ]);
      for (const n of [...host.slaves, ...host.resizers]) assert.equal(containerOf(n.name).inputs.ports, undefined, n.name);
    }
  });

  test("the images tree is mounted read-only everywhere; the cache volume only in the master; files read-only", () => {
    const host = plan.hosts[0]!;
    const images = { type: "bind", source: "/images", target: "/images", readOnly: true };
    const files = (name: string) => ({ type: "volume", source: `${name}-files`, target: "/etc/image-origin", readOnly: true });
    for (const n of host.resizers) assert.deepEqual(containerOf(n.name).inputs.mounts, [images]);
    for (const n of host.slaves) assert.deepEqual(containerOf(n.name).inputs.mounts, [images, files(n.name)]);
    assert.deepEqual(containerOf(host.master.name).inputs.mounts, [
      images,
      { type: "volume", source: host.volumes.cache, target: "/var/cache/nginx/resize" },
      files(host.master.name),
    ]);
    assert.equal(named(run, host.volumes.cache).inputs.name, "img01-master-cache");
  });

  test("uploads go to one-shot installers (a read-only root cannot receive them), never to a serving container", () => {
    for (const host of plan.hosts) {
      for (const n of [host.master, ...host.slaves]) {
        assert.equal(containerOf(n.name).inputs.uploads, undefined, n.name);
        const installer = containerOf(`${n.name}-files`).inputs;
        assert.equal(installer.readOnly, undefined);
        assert.equal(installer.networkMode, "none");
        assert.deepEqual(installer.capabilities, { drops: ["ALL"], adds: ["CHOWN"] });
        assert.equal(installer.attach, true);
        assert.equal(installer.mustRun, false);
        assert.ok(containerOf(n.name).dependencies.includes(containerOf(`${n.name}-files`).urn), `${n.name} waits for its files`);
      }
      const owner = containerOf(`${host.name}-cache-owner`).inputs;
      assert.deepEqual([...owner.entrypoints, ...owner.command], ["chown", "101:101", "/var/cache/nginx/resize"]);
      assert.equal(owner.readOnly, true, "it receives no uploads, so its root stays read-only");
    }
  });

  test("new files reload the running nginx in place (checked by its own binary, then SIGHUP); they never replace it", () => {
    const instances = plan.hosts.flatMap((h) => [h.master, ...h.slaves].map((n) => ({ host: h, n })));
    const triggerOf = new Map<string, string>();
    for (const { host, n } of instances) {
      assert.equal(containerOf(n.name).inputs.labels, undefined, `${n.name}: nothing in the container's inputs follows its files`);
      const reload = named(run, `${n.name}-reload`);
      const [ssh, check, signal] = [`ssh ${sshArgs(host).join(" ")}`, `docker exec ${n.name} nginx -t -q -e stderr -c ${n.paths.config}`, `docker kill --signal HUP ${n.name}`];
      assert.ok(reload.inputs.create.includes(`${ssh} '${check}'`), reload.inputs.create);
      assert.ok(reload.inputs.create.indexOf(`docker inspect --format '{{.State.ExitCode}}' ${n.name}-files`) < reload.inputs.create.indexOf(check), "the installer's status first");
      assert.ok(reload.inputs.create.indexOf(`${ssh} '${signal}'`) > reload.inputs.create.indexOf(check), "SIGHUP only after the check");
      assert.ok(reload.dependencies.includes(containerOf(`${n.name}-files`).urn) && reload.dependencies.includes(containerOf(n.name).urn));
      assert.equal(reload.inputs.triggers.length, 1);
      triggerOf.set(n.name, JSON.stringify(reload.inputs.triggers));
    }
    // The trigger follows the files: the same files give the same trigger, other files another.
    for (const a of instances) {
      for (const b of instances) {
        const sameFiles = JSON.stringify([...installedFiles(run, a.n.name)]) === JSON.stringify([...installedFiles(run, b.n.name)]);
        assert.equal(triggerOf.get(a.n.name) === triggerOf.get(b.n.name), sameFiles, `${a.n.name} vs ${b.n.name}`);
      }
    }
  });

  test("hardening: non-root, read-only root, no capabilities, no-new-privileges, limits, restart, rotated logs, healthcheck", () => {
    const host = plan.hosts[1]!;
    for (const n of [host.master, ...host.slaves, ...host.resizers]) {
      const c = containerOf(n.name).inputs;
      assert.notEqual(c.user, undefined);
      assert.doesNotMatch(c.user, /^(0|root)(:|$)/);
      assert.equal(c.readOnly, true);
      assert.deepEqual(c.capabilities, { drops: ["ALL"] });
      assert.deepEqual(c.securityOpts, ["no-new-privileges:true"]);
      assert.equal(c.restart, "unless-stopped");
      assert.equal(c.logDriver, "local");
      assert.deepEqual(Object.keys(c.logOpts).sort(), ["compress", "max-buffer-size", "max-file", "max-size", "mode"]);
      assert.ok(c.memory > 0);
      assert.equal(c.healthcheck.tests[0], "CMD");
      assert.equal(c.wait, true);
    }
    const master = containerOf(host.master.name).inputs;
    assert.deepEqual(master.ulimits, [{ name: "nofile", soft: 40960, hard: 40960 }]);
    assert.equal(master.memory, 512);
    assert.equal(master.stopSignal, "SIGQUIT");
    assert.deepEqual(containerOf(host.slaves[0]!.name).inputs.ulimits, [{ name: "nofile", soft: 20480, hard: 20480 }]);
    const resizer = containerOf(host.resizers[0]!.name).inputs;
    assert.equal(resizer.memory, 1024);
    // In the provider's own spelling (it reads "4" back as "4.0", and cpus forces replacement).
    assert.equal(resizer.cpus, "4.0");
    for (const n of [host.master, ...host.slaves, ...host.resizers]) {
      const c = containerOf(n.name).inputs;
      assert.equal(c.memorySwap, c.memory, `${n.name}: no swap`);
      assert.deepEqual({ interval: c.healthcheck.interval, timeout: c.healthcheck.timeout, startPeriod: c.healthcheck.startPeriod }, { interval: "10s", timeout: "3s", startPeriod: "5s" });
    }
    assert.ok(resizer.envs.includes("RESIZER_PORT=9000"));
    assert.ok(resizer.envs.includes("RESIZER_HOST=0.0.0.0"));
  });

  test("every fixed-name container is deleted before its replacement is created (pulumi-docker #1356)", () => {
    for (const c of containers()) assert.equal(c.deleteBeforeReplace, true, c.inputs.name);
  });
});

describe("prod: ordering", () => {
  test("each master waits for its host's slaves, resizers and cache owner (the seeds' start order)", () => {
    for (const host of plan.hosts) {
      const deps = containerOf(host.master.name).dependencies;
      const needed = [...host.slaves.map((s) => s.name), ...host.resizers.map((r) => r.name), `${host.name}-cache-owner`, `${host.master.name}-files`];
      for (const name of needed) assert.ok(deps.includes(containerOf(name).urn), `${host.master.name} waits for ${name}`);
    }
  });

  test("a host's slaves, and its resizers, are replaced one at a time: each waits for the previous one and the master's fail_timeout", () => {
    for (const host of plan.hosts) {
      for (const [members, retryMs] of [
        [host.slaves.map((s) => s.name), host.master.slaves.memberRetryMs],
        [host.resizers.map((r) => r.name), host.master.resizers.memberRetryMs],
      ] as const) {
        assert.equal(retryMs, 10_000);
        const settled = (name: string) => ofType(run, "Command").find((c) => c.name === `${name}-settled`);
        members.forEach((name, i) => {
          const deps = containerOf(name).dependencies;
          if (i === 0) assert.ok(!ofType(run, "Command").some((c) => c.name.endsWith("-settled") && deps.includes(c.urn)), `${name} waits for no sibling`);
          else assert.ok(deps.includes(settled(members[i - 1]!)!.urn), `${name} waits for ${members[i - 1]}-settled`);
          const pause = settled(name);
          if (i === members.length - 1) return assert.equal(pause, undefined, "nothing waits after the last member");
          assert.equal(pause!.inputs.create, "sleep 10");
          // The pause runs again exactly when the member's container is replaced.
          assert.deepEqual(pause!.inputs.triggers, [`${name}-id`]);
          assert.ok(pause!.dependencies.includes(containerOf(name).urn));
        });
      }
    }
  });

  test("serial rollout: every container of host N+1 waits for host N's health gate", () => {
    for (let i = 1; i < plan.hosts.length; i++) {
      const gate = named(run, `${plan.hosts[i - 1]!.name}-healthy`);
      const host = plan.hosts[i]!;
      const all = [host.master, ...host.slaves, ...host.resizers].map((n) => n.name).concat([host.master, ...host.slaves].map((n) => `${n.name}-files`));
      for (const name of all) assert.ok(containerOf(name).dependencies.includes(gate.urn), `${name} waits for ${gate.name}`);
    }
    const first = plan.hosts[0]!;
    assert.ok(!urnsOf(ofType(run, "Command").filter((c) => c.name.endsWith("-healthy"))).some((u) => containerOf(first.master.name).dependencies.includes(u)));
  });

  test("the health gate asks what the L4 asks, and re-runs when a container of its host is replaced or reloaded", () => {
    const host = plan.hosts[2]!;
    const gate = named(run, `${host.name}-healthy`);
    assert.match(gate.inputs.create, new RegExp(`http://${host.address}:80/healthz`));
    assert.match(gate.inputs.create, new RegExp(`https://${host.address}:443/healthz`));
    assert.match(gate.inputs.create, /= 200 \]/);
    assert.equal(gate.inputs.triggers.length, 2 * (1 + host.slaves.length) + host.resizers.length, "every container and every nginx reload");
    assert.ok(gate.dependencies.includes(containerOf(host.master.name).urn));
    for (const n of [host.master, ...host.slaves]) assert.ok(gate.dependencies.includes(named(run, `${n.name}-reload`).urn), `after ${n.name}-reload`);
  });
});

describe("prod: what the engine may do between two hosts", () => {
  test("serial rollout: host N+1's network changes only after host N's gate (its delete-before-replace deletes the host's containers)", () => {
    for (const [i, host] of plan.hosts.entries()) {
      const net = named(run, host.network.name);
      assert.equal(net.deleteBeforeReplace, true);
      assert.deepEqual(net.dependencies, i === 0 ? [] : [named(run, `${plan.hosts[i - 1]!.name}-healthy`).urn]);
    }
    assert.equal(run.resources.find((r) => r.name === "network-guard"), undefined, "serial rollout needs no guard");
  });

  test("each master has a drain the engine deletes before the master: it sets the drain flag and waits fall x interval + timeout", () => {
    for (const host of plan.hosts) {
      const drain = named(run, `${host.master.name}-drain`);
      assert.equal(drain.inputs.create, undefined);
      assert.deepEqual(drain.inputs.triggers, [`${host.master.name}-id`], "the master container's id");
      assert.deepEqual(drain.propertyDependencies.triggers, [containerOf(host.master.name).urn]);
      assert.deepEqual(drain.replaceOnChanges, ["triggers"], "a new or unknown master id replaces the drain, so it joins the master's delete-before-replace");
      assert.match(drain.inputs.delete, new RegExp(`'docker exec ${host.master.name} touch ${host.master.paths.drainFile}'`));
      // Pulumi.prod.yaml: interval 5, timeout 3; fall defaults to 3.
      assert.match(drain.inputs.delete, /\n  sleep 18\n/);
    }
  });

  test("the gate waits until the L4 has taken the host back: rise checks at its interval, each with its timeout", () => {
    const gate = named(run, "img03-healthy").inputs.create as string;
    assert.match(gate, /--max-time 3 /);
    assert.match(gate, /while \[ "\$passed" -lt 2 \]; do\n  sleep 5\n/);
    assert.match(gate, /\nsleep 3\n/);
  });

  test("every command that re-runs on its triggers is replaced by a change of them (the drain must be, to join a cascade)", () => {
    for (const c of ofType(run, "Command").filter((c) => c.inputs.triggers !== undefined)) assert.deepEqual(c.replaceOnChanges, ["triggers"], c.name);
  });

  test("a changed healthcheck or tmpfs replaces a container: the provider's update would not apply it", () => {
    for (const c of containers()) assert.deepEqual(c.replaceOnChanges, ["healthcheck", "tmpfs"], c.inputs.name);
  });
});

describe("prod with rollout: parallel", () => {
  let parallel: ProgramRun;
  before(async () => {
    const { config, secretKeys } = prodWithSuppliedCertificate();
    config["image-origin:rollout"] = "parallel";
    parallel = await runProgram(config, secretKeys);
    if (parallel.error) throw parallel.error;
  });

  test("a network change is refused before anything is deleted, with the way to do it host by host", () => {
    const guard = named(parallel, "network-guard");
    assert.deepEqual(guard.inputs.environment, { SUBNET: "10.213.0.0/24" });
    assert.equal(guard.inputs.create, undefined, "nothing to refuse on the first up");
    for (const host of plan.hosts) assert.deepEqual(named(parallel, host.network.name).dependencies, [guard.urn]);
    const refused = spawnSync("sh", ["-c", guard.inputs.update], { encoding: "utf8" });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /rollout: parallel every host's containers would be deleted at once, emptying the VIP\. Run this change host by host: `pulumi config set rollout serial`/);
  });
});

describe("prod: configs, certificates and secrets", () => {
  test("each nginx instance gets exactly its rendered files", () => {
    for (const host of plan.hosts) {
      const files = instanceFiles(host);
      for (const n of [host.master, ...host.slaves]) {
        const installed = installedFiles(run, n.name);
        for (const f of files[n.name] ?? []) assert.equal(installed.get(f.path), f.content, `${n.name}: ${f.path}`);
      }
    }
  });

  test("what each nginx reads is seed 001/004's host as Pulumi.prod.yaml states it", () => {
    // Expected values written out from the stack file and the documented container address
    // layout (10.213.0.0/24: slaves .11+, resizers .41+), not computed by the renderer.
    const slaves = ["10.213.0.11:8001 max_fails=2 fail_timeout=10s", "10.213.0.12:8002 max_fails=2 fail_timeout=10s"];
    const resizers = ["10.213.0.41:9000", "10.213.0.42:9001", "10.213.0.43:9002", "10.213.0.44:9003"];
    for (const h of ["img01", "img02", "img03", "img04", "img05"]) {
      const master = installedFiles(run, `${h}-master`);
      assert.deepEqual([...master.keys()].sort(), ["/etc/image-origin/html/50x.html", "/etc/image-origin/nginx.conf", "/etc/image-origin/tls/star-tving.crt", "/etc/image-origin/tls/star-tving.key"]);
      const http = one(parseConf(master.get("/etc/image-origin/nginx.conf")!), "http");
      const members = (name: string) => all(one(http, "upstream", name), "server").map((st) => st.args.join(" "));
      assert.deepEqual(members("image_slaves"), slaves, h);
      assert.deepEqual(members("image_resizers"), resizers, h);
      const servers = servingServers(http);
      assert.deepEqual(servers.map((sv) => argsOf(sv, "server_name")), [["image-origin.tving.com"], ["stillshot-origin.tving.com"]], h);
      assert.deepEqual(all(servers[0]!, "listen").map((l) => l.args.join(" ")), ["0.0.0.0:8080 default_server", "0.0.0.0:8443 ssl http2 default_server"], h);
      for (const sv of servers) {
        assert.deepEqual(argsOf(sv, "ssl_certificate"), ["/etc/image-origin/tls/star-tving.crt"], h);
        assert.deepEqual(argsOf(sv, "ssl_certificate_key"), ["/etc/image-origin/tls/star-tving.key"], h);
      }
      assert.equal(master.get("/etc/image-origin/tls/star-tving.crt"), operator.pem.certificatePem, "the operator's chain, as set");
      for (const [slave, port] of [["slave01", 8001], ["slave02", 8002]] as const) {
        const files = installedFiles(run, `${h}-${slave}`);
        const server = oneServing(one(parseConf(files.get("/etc/image-origin/nginx.conf")!), "http"));
        assert.deepEqual(all(server, "listen").map((l) => l.args.join(" ")), [`0.0.0.0:${port} default_server`], `${h}-${slave}`);
        assert.deepEqual(argsOf(server, "root"), ["/images"], `${h}-${slave}`);
      }
    }
  });

  test("the supplied certificate and its key reach every master; the key only as a secret, installed 0400 for nginx alone", () => {
    for (const host of plan.hosts) {
      const installer = containerOf(`${host.master.name}-files`);
      const installed = installedFiles(run, host.master.name);
      assert.equal(installed.get("/etc/image-origin/tls/star-tving.key"), KEY);
      assert.equal(installed.get("/etc/image-origin/tls/star-tving.crt"), operator.pem.certificatePem);
      const keyIndex = (installer.inputs.uploads as { file: string }[]).findIndex((u) => u.file === "/staging/tls/star-tving.key");
      assert.ok(installer.secretPaths.some((p) => p === "uploads" || p === `uploads.${keyIndex}.content`), installer.secretPaths.join());
      const script: string = installer.inputs.command[0];
      // Prepared beside the live files, mode before owner, then renamed into place.
      const [chmod = -1, chown = -1, move = -1] = [
        "chmod 0400 /volume/.next/tls/star-tving.key",
        "chown 101:101 /volume/.next/tls/star-tving.key",
        "mv -f /volume/.next/tls/star-tving.key /volume/tls/star-tving.key",
      ].map((line) => script.split("\n").indexOf(line));
      assert.ok(chmod >= 0 && chmod < chown && chown < move, script);
      // nginx checks the new files, at their real paths, before any of them reaches the volume.
      const check = script.split("\n").indexOf("nginx -t -q -e stderr -c /etc/image-origin/nginx.conf");
      assert.ok(check > 0 && check < script.split("\n").findIndex((l) => l.startsWith("cp -R /staging/. /volume/.next/")), script);
      assert.deepEqual(installer.inputs.mounts, [{ type: "volume", source: `${host.master.name}-files`, target: "/volume" }, { type: "bind", source: "/images", target: "/images", readOnly: true }]);
    }
  });

  test("the key reaches the Certificate component's state only as a secret", () => {
    const component = run.resources.find((r) => r.name === "cert-star-tving" && !r.custom)!;
    assert.ok(component, "a Certificate component per configured certificate");
    assert.doesNotMatch(JSON.stringify(component.inputs), /PRIVATE KEY/);
  });

  test("no output carries key material", () => {
    const text = JSON.stringify(run.outputs);
    assert.doesNotMatch(text, /PRIVATE KEY/);
    assert.doesNotMatch(text, new RegExp(KEY.split("\n")[1]!.slice(0, 20).replace(/[+/]/g, "\\$&")));
  });
});

describe("prod: stack outputs (certificates)", () => {
  test("the supplied certificate's paths, SHA-256 fingerprint and expiry, never its key", () => {
    const facts = certificateFacts(operator.pem.certificatePem);
    assert.deepEqual(run.outputs.certificates, {
      "star-tving": {
        mode: "supplied",
        names: ["image-origin.tving.com", "stillshot-origin.tving.com"],
        paths: { certificate: "/etc/image-origin/tls/star-tving.crt", key: "/etc/image-origin/tls/star-tving.key" },
        fingerprint: facts.fingerprint,
        notAfter: facts.notAfter,
      },
    });
  });
});

describe("prod: stack outputs (the L4 registration)", () => {
  test("per host: address, health-check ports, container names and the delivered resizer image id", () => {
    const hosts = run.outputs.hosts as Record<string, any>;
    assert.deepEqual(Object.keys(hosts), plan.hosts.map((h) => h.name));
    assert.deepEqual(hosts.img04, {
      address: "172.18.141.54",
      healthCheckPorts: [80, 443],
      containers: {
        master: "img04-master",
        slaves: ["img04-slave01", "img04-slave02"],
        resizers: ["img04-resizer01", "img04-resizer02", "img04-resizer03", "img04-resizer04"],
        ops: "img04-ops",
      },
      resizerImageId: mockImageId((run.outputs.resizerImage as { ref: string }).ref),
      ops: { target: "172.18.141.54:9145", paths: ["/metrics", "/metrics/resizer01", "/metrics/resizer02", "/metrics/resizer03", "/metrics/resizer04"] },
    });
  });

  test("the monitoring output: Prometheus' scrape jobs for every host's ops listener and probes", () => {
    const jobs = (run.outputs.monitoring as { scrapeConfigs: { job_name: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }[] }).scrapeConfigs;
    const ops = jobs.find((j) => j.job_name === "image-origin-ops")!;
    assert.deepEqual(ops.static_configs.map((c) => `${c.labels.host} ${c.targets.join(",")}`), plan.hosts.map((h) => `${h.name} ${h.address}:9145`));
    const resizers = jobs.find((j) => j.job_name === "image-origin-resizer")!;
    assert.equal(resizers.static_configs.length, 5 * 4, "one target per replica");
    assert.deepEqual(resizers.static_configs[5], { targets: ["172.18.141.52:9145"], labels: { host: "img02", replica: "resizer02", __metrics_path__: "/metrics/resizer02" } });
    const health = jobs.find((j) => j.job_name === "image-origin-healthz")!;
    assert.deepEqual(health.static_configs.flatMap((c) => c.targets).slice(0, 2), ["http://172.18.141.51:80/healthz", "https://172.18.141.51:443/healthz"]);
  });

  test("the VIP block: address, algorithm, health check and every member with its ports", () => {
    const vip = run.outputs.vip as any;
    assert.equal(vip.address, "180.182.43.12");
    assert.equal(vip.algorithm, "round_robin");
    assert.deepEqual({ path: vip.healthCheck.path, expect: vip.healthCheck.expectStatus, ports: vip.healthCheck.ports }, { path: "/healthz", expect: 200, ports: [80, 443] });
    assert.deepEqual(vip.members.map((m: any) => `${m.address}:${m.ports.join("/")}`), plan.hosts.map((h) => `${h.address}:80/443`));
    assert.match((run.outputs.resizerImage as any).ref, /^image-origin\/resizer:/);
    assert.equal(run.outputs.rollout, "serial");
  });
});
