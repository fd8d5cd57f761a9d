// RUNBOOK.md: its sections have stable anchors and every link to them resolves (README,
// workflows, scripts, the code, and each alert's runbook_url once the render writes
// monitoring rules); it maps every seed command; its commands name real containers, the
// real drain flag and the reload the program itself runs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { renderCluster } from "../../infra/render.js";
import { haproxyCheck, haproxySaveState, nginxCheck } from "../../infra/remote.js";
import { planCluster } from "../../infra/topology.js";
import { projectRoot } from "../helpers/cli.js";
import { stackConfig } from "../helpers/pulumi.js";

const runbook = readFileSync(join(projectRoot, "RUNBOOK.md"), "utf8");
const anchors = [...runbook.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!);

/** Every `runbook_url` of a Prometheus rules file whose anchor the runbook lacks. */
export function brokenRunbookUrls(rulesYaml: string, known: readonly string[]): string[] {
  const doc = parse(rulesYaml) as { groups?: { rules?: { alert?: string; annotations?: Record<string, string> }[] }[] };
  const out: string[] = [];
  for (const group of doc?.groups ?? []) {
    for (const rule of group.rules ?? []) {
      if (rule.alert === undefined) continue;
      const url = rule.annotations?.runbook_url;
      const m = url === undefined ? null : /RUNBOOK\.md#([A-Za-z0-9_-]+)$/.exec(url);
      if (m === null) out.push(`${rule.alert}: runbook_url ${url ?? "(none)"} does not point into RUNBOOK.md`);
      else if (!known.includes(m[1]!)) out.push(`${rule.alert}: RUNBOOK.md#${m[1]} does not exist`);
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (e === "node_modules" || e === "dist" || e.startsWith(".git") && e !== ".github") return [];
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("RUNBOOK.md", () => {
  test("every section the operators need has its anchor, each once", () => {
    const required = [
      "seed-commands",
      "first-deployment",
      "adding-a-host",
      "removing-a-host",
      "replacing-the-supplied-certificate",
      "acme-renewal-failures",
      "draining-a-host",
      "resizer-overloaded",
      "storyboard-episode",
      "host-lost",
      "rollback",
      "restoring-a-state-backup",
      "drift",
      "files-drifted",
      "ci-runner",
      "reviewing-a-change",
      "deploying",
      "vip-failover",
      "haproxy-reload",
      "monitoring",
      "alerts",
    ];
    assert.deepEqual(required.filter((a) => !anchors.includes(a)), []);
    assert.equal(new Set(anchors).size, anchors.length, "anchors are unique");
  });

  test("every link into the runbook resolves: its own, README's, the workflows', scripts' and code's", () => {
    const sources = ["README.md", "RUNBOOK.md", ...[".github", "scripts", "infra", "policy", "test/fixtures"].flatMap((d) => filesUnder(join(projectRoot, d)).map((f) => relative(projectRoot, f)))];
    const broken: string[] = [];
    let links = 0;
    for (const file of sources) {
      const text = readFileSync(join(projectRoot, file), "utf8");
      const refs = [...text.matchAll(/RUNBOOK\.md#([A-Za-z0-9_-]+)/g)].map((m) => m[1]!);
      if (file === "RUNBOOK.md") refs.push(...[...text.matchAll(/\]\(#([A-Za-z0-9_-]+)\)/g)].map((m) => m[1]!));
      links += refs.length;
      broken.push(...refs.filter((a) => !anchors.includes(a)).map((a) => `${file}: #${a}`));
    }
    assert.deepEqual(broken, []);
    assert.ok(links > 30, `${links} links checked`);
  });

  test("every alert's runbook_url points at a section (checked in every stack's rendered monitoring rules)", () => {
    // The checker itself refuses a missing anchor and a link elsewhere.
    const sample = "groups:\n  - name: g\n    rules:\n      - alert: HostLost\n        annotations: { runbook_url: 'https://example/RUNBOOK.md#host-lost' }\n      - alert: Typo\n        annotations: { runbook_url: 'RUNBOOK.md#hostlost' }\n      - alert: Nowhere\n        annotations: {}\n      - record: not_an_alert\n";
    assert.deepEqual(brokenRunbookUrls(sample, anchors), ["Typo: RUNBOOK.md#hostlost does not exist", "Nowhere: runbook_url (none) does not point into RUNBOOK.md"]);
    const isRules = (path: string) => /(^|\/)[^/]*rules\.ya?ml$/.test(path);
    for (const stack of ["prod", "local"]) {
      const files = renderCluster(planCluster(parseClusterSpec(fromStackConfig(stackConfig(stack)))));
      for (const f of files.filter((f) => isRules(f.path))) assert.deepEqual(brokenRunbookUrls(f.content, anchors), [], `${stack}: ${f.path}`);
    }
    // And any rules file kept in the repository.
    const tracked = execFileSync("git", ["-C", projectRoot, "ls-files", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" }).split("\n");
    for (const f of tracked.filter((f) => isRules(f) && !f.startsWith("test/") && existsSync(join(projectRoot, f)))) {
      assert.deepEqual(brokenRunbookUrls(readFileSync(join(projectRoot, f), "utf8"), anchors), [], f);
    }
  });

  test("each seed command (seeds 000/001: service nginx_* start|stop|restart, php-fpm, certbot, PM2) has its row", () => {
    const seed = [
      ...["start", "stop", "restart"].flatMap((verb) => ["nginx_slave01", "nginx_slave02", "nginx_master"].map((s) => `service ${s} ${verb}`)),
      "service php-fpm start",
      "@daily certbot renew",
      "pm2 start",
    ];
    const table = runbook.slice(runbook.indexOf('<a id="seed-commands">'), runbook.indexOf('<a id="ci-runner">'));
    const rows = table.split("\n").filter((l) => l.startsWith("| `"));
    for (const command of seed) assert.ok(rows.some((r) => r.split("|")[1]!.includes(command)), `no row for \`${command}\``);
  });

  test("its commands name real containers, the master's real drain flag and the program's own reload", () => {
    const prod = planCluster(parseClusterSpec(fromStackConfig(stackConfig("prod"))));
    const acme = stackConfig("prod");
    acme["image-origin:certificates"] = { "star-tving": { mode: "acme", email: "ops@tving.com" } };
    const acmePlan = planCluster(parseClusterSpec(fromStackConfig(acme)));
    const names = new Set(
      [...prod.hosts, ...acmePlan.hosts].flatMap((h) => [
        h.master.name,
        h.ops.name,
        h.volumes.cache,
        ...h.slaves.map((s) => s.name),
        ...h.resizers.map((r) => r.name),
        ...(h.acme ? [h.acme.sync.name, h.acme.init.name, ...h.acme.renewers.map((r) => r.name), ...(h.acme.publisher ? [h.acme.publisher.name] : [])] : []),
      ]),
    );
    // (`--filter name=img01-certbot` is a prefix and `img01-certbot-<id>` a pattern, not names.)
    const mentioned = [...new Set([...runbook.matchAll(/(?<!name=)\bimg0[1-5]-[a-z0-9<>-]*[a-z0-9>]/g)].map((m) => m[0]))].filter((n) => !n.includes("<"));
    const known = (n: string) => names.has(n) || /^img0\d-(images|master-files|master-reload|acme)$/.test(n);
    assert.deepEqual(mentioned.filter((n) => !known(n)), []);
    const master = prod.hosts[2]!.master;
    assert.ok(runbook.includes(`docker exec ${master.name} touch ${master.paths.drainFile}`));
    assert.ok(runbook.includes(`docker exec ${master.name} rm ${master.paths.drainFile}`));
    assert.ok(runbook.includes(`docker exec ${master.name} ${nginxCheck(master.paths.config).join(" ")} && docker kill --signal HUP ${master.name}`));
  });

  test("its software VIP commands are the program's own: HAProxy's check, the state it saves, the reload signal, the real names and ports", () => {
    const config = stackConfig("prod");
    config["image-origin:vip"] = {
      address: "180.182.43.12",
      mode: "haproxy",
      haproxy: { hosts: [1, 2].map((i) => ({ name: `lb0${i}`, address: `172.18.141.6${i}`, docker: `ssh://deploy@172.18.141.6${i}` })) },
    };
    const l4 = planCluster(parseClusterSpec(fromStackConfig(config))).vip!.haproxy!.hosts[0]!;
    const h = l4.haproxy;
    const [sh, c, script, ...args] = haproxySaveState(h.paths);
    const quoted = (w: string) => `'\\''${w}'\\''`;
    assert.ok(
      runbook.includes(`docker exec ${h.name} ${haproxyCheck(h.paths.config).join(" ")} && docker exec ${h.name} ${sh} ${c} ${quoted(script!)} ${args.join(" ")} && docker kill --signal USR2 ${h.name}`),
      "the manual reload is the program's",
    );
    assert.ok(runbook.includes(`docker stop ${l4.keepalived.name}`));
    assert.ok(runbook.includes(`http://${l4.address}:${l4.haproxy.publish!.find((p) => p.service === "stats")!.port}/stats`));
  });
});
