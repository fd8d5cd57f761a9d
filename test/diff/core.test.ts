// The pure core of `npm run diff`: render outputs in, folded hunks, a summary and the
// restart/reload estimate out; then the text and the one-comment markdown.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClusterSpecInput } from "../../infra/config.js";
import { diffStack, diffStacks, estimateBecause, LIFECYCLE_SOURCE, lifecycleClassifier, PLAN_HOST_FILE, type EffectClassifier, type Tree } from "../../infra/diff/diff.js";
import { renderedFilesEstimate } from "../../infra/diff/effects.js";
import { COMMENT_MARKER, formatMarkdown, formatText } from "../../infra/diff/format.js";
import { hostLabel, withPlaceholders } from "../../infra/diff/hosts.js";
import { renderCluster } from "../../infra/render.js";
import { spec } from "../helpers/specs.js";
import { planCluster } from "../../infra/topology.js";

const FIVE: ClusterSpecInput["hosts"] = [1, 2, 3, 4, 5].map((i) => ({ name: `img0${i}`, address: `172.18.141.5${i}`, docker: `ssh://deploy@172.18.141.5${i}` }));

/** The render output of a small stack, exactly as `npm run render` writes it. */
function tree(overrides: Partial<ClusterSpecInput> = {}): Tree {
  return new Map(renderCluster(planCluster(spec({ hosts: FIVE, ...overrides }))).map((f) => [f.path, f.content]));
}

const sides = { base: "main (abc123)", head: "working tree" };

describe("host labels", () => {
  const order = ["img01", "img02", "img03", "img04", "img05"];
  test("three or more neighbours are a range; pairs and gaps are listed", () => {
    assert.equal(hostLabel(order, order), "img01–img05");
    assert.equal(hostLabel(["img01", "img02"], order), "img01, img02");
    assert.equal(hostLabel(["img05", "img01", "img02", "img03"], order), "img01–img03, img05");
    assert.equal(hostLabel(["img06", "img02"], order), "img02, img06");
  });

  test("a host's own name and address become placeholders only where they stand alone", () => {
    const host = { name: "img01", address: "172.18.141.51" };
    assert.equal(withPlaceholders("img01-master img010 172.18.141.51:80 172.18.141.510", host), "{host}-master img010 {address}:80 172.18.141.510");
  });
});

describe("diffing two render outputs", () => {
  test("the same render twice is no change: no section, no effect", () => {
    const r = diffStacks([{ stack: "prod", base: tree(), head: tree() }]);
    assert.equal(r.changed, false);
    assert.equal(r.stacks[0]!.status, "unchanged");
    assert.deepEqual(r.stacks[0]!.sections, []);
    assert.deepEqual(r.stacks[0]!.effects, []);
    assert.match(formatText(r, sides), /stack prod: no change/);
  });

  test("a weight on slave01 is one master.conf hunk labelled img01–img05, and each master reloads", () => {
    const r = diffStack({ stack: "prod", base: tree(), head: tree({ slaves: [{ port: 8001, weight: 3 }, { port: 8002 }] }) });
    assert.equal(r.status, "changed");
    assert.deepEqual(r.hostsTouched, ["img01", "img02", "img03", "img04", "img05"]);
    const conf = r.sections.find((s) => s.file === "master.conf")!;
    assert.equal(conf.hunks.length, 1);
    assert.deepEqual(conf.hunks[0]!.hosts, r.hostsTouched);
    assert.equal(conf.hunks[0]!.placeholders, false);
    assert.deepEqual(conf.hunks[0]!.hunk.lines.filter((l) => /^[-+]/.test(l)).map((l) => l.replace(/\s+/g, " ")), ["- server 10.213.0.11:8001;", "+ server 10.213.0.11:8001 weight=3;"]);
    // Six files: plan.json once, master.conf on each host.
    assert.deepEqual(r.files.map((f) => f.path).sort(), ["img01/master.conf", "img02/master.conf", "img03/master.conf", "img04/master.conf", "img05/master.conf", "plan.json"]);
    assert.deepEqual(
      r.effects.map((e) => `${e.kind} ${e.container}`),
      r.hostsTouched.map((h) => `reload ${h}-master`),
    );
    const text = formatText({ stacks: [r], changed: true }, sides);
    assert.match(text, /^@@ -\d+,7 \+\d+,7 @@ img01–img05$/m);
    assert.match(text, /reload:\s+master on img01–img05 \(master.conf changed\)/);
    assert.match(text, /restart: none/);
  });

  test("a change on one host only is shown for that host alone", () => {
    const r = diffStack({
      stack: "prod",
      base: tree(),
      head: tree({ hosts: FIVE.map((h) => (h.name === "img03" ? { ...h, nginx: { keepaliveRequests: 500 } } : h)) }),
    });
    assert.deepEqual(r.hostsTouched, ["img03"]);
    for (const s of r.sections) for (const h of s.hunks) assert.deepEqual(h.hosts, ["img03"]);
    assert.deepEqual(r.effects.map((e) => `${e.kind} ${e.container}`).sort(), ["reload img03-master", "reload img03-slave01", "reload img03-slave02"]);
  });

  test("hunks that differ only by each host's own name fold into one, shown with {host}", () => {
    const base = tree();
    const head = new Map([...base].map(([p, c]) => [p, p.endsWith("/slave01.conf") ? c.replace(/^# (\S+): nginx slave 01,/m, "# $1: static slave 01,") : c]));
    const r = diffStack({ stack: "prod", base, head });
    const conf = r.sections.find((s) => s.file === "slave01.conf")!;
    assert.equal(conf.hunks.length, 1);
    assert.equal(conf.hunks[0]!.placeholders, true);
    assert.deepEqual(conf.hunks[0]!.hunk.lines.slice(0, 2), ["-# {host}-slave01: nginx slave 01, rendered from the stack config by infra/nginx.", "+# {host}-slave01: static slave 01, rendered from the stack config by infra/nginx."]);
    assert.match(formatText({ stacks: [r], changed: true }, sides), /@@ img01–img05 \(\{host\} = each host's name\)/);
  });

  test("plan.json is diffed per host, so a resizer limit is one hunk for all hosts, and the resizers restart", () => {
    const r = diffStack({ stack: "prod", base: tree(), head: tree({ resizer: { memoryMb: 768 } }) });
    const hosts = r.sections.find((s) => s.file === PLAN_HOST_FILE)!;
    assert.ok(hosts.hunks.every((h) => h.hosts.length === 5), JSON.stringify(hosts.hunks.map((h) => h.hosts)));
    assert.deepEqual(new Set(r.effects.map((e) => `${e.kind} ${e.container.replace(/^img0\d-/, "")}`)), new Set(["restart resizer01", "restart resizer02"]));
    // The memory limit and the transform budget derived from it (RESIZER_MEMORY_BUDGET_MB).
    assert.ok(r.effects.every((e) => e.reason === "plan.json: env, memoryMb changed"), JSON.stringify(r.effects));
  });

  test("a new published port restarts the masters (container input), a new config only reloads", () => {
    const r = diffStack({ stack: "prod", base: tree(), head: tree({ master: { httpPort: 8080 } }) });
    assert.deepEqual(
      r.effects.map((e) => `${e.kind} ${e.container}: ${e.reason}`),
      FIVE.map((h) => `restart ${h.name}-master: plan.json: publish changed`),
    );
  });

  test("a new nginx image restarts every nginx container; the resizers stay", () => {
    const r = diffStack({ stack: "prod", base: tree(), head: tree({ images: { nginx: "nginx:1.28.1-bookworm" } }) });
    assert.deepEqual(new Set(r.effects.map((e) => e.container.replace(/^img0\d-/, ""))), new Set(["master", "slave01", "slave02"]));
    assert.ok(r.effects.every((e) => e.kind === "restart" && /images\.nginx/.test(e.reason)));
  });

  test("a new host: its files are new, its containers created, the VIP block changes", () => {
    const six = [...FIVE, { name: "img06", address: "172.18.141.56", docker: "ssh://deploy@172.18.141.56" }];
    const r = diffStack({ stack: "prod", base: tree(), head: tree({ hosts: six, vip: { address: "180.182.43.12" } }) });
    assert.deepEqual(r.hostsAdded, ["img06"]);
    assert.ok(r.files.filter((f) => f.path.startsWith("img06/")).every((f) => f.status === "added" && f.removed === 0));
    assert.ok(r.effects.filter((e) => e.host === "img06").every((e) => e.kind === "create" && e.reason === "new host"));
    assert.ok(r.effects.some((e) => e.container === "img06-master"));
    assert.match(formatText({ stacks: [r], changed: true }, sides), /@@ -0,0 \+1,\d+ @@ img06 \(new file\)/);
  });

  test("behind the software VIP: a new member reloads each L4 host's HAProxy (never keepalived), a new L4 host is created", () => {
    const lb = (n: number) => ({ name: `lb0${n}`, address: `172.18.141.6${n}`, docker: `ssh://deploy@172.18.141.6${n}` });
    const vip = (hosts: ReturnType<typeof lb>[]) => ({ address: "180.182.43.12", mode: "haproxy" as const, haproxy: { hosts } });
    const six = [...FIVE, { name: "img06", address: "172.18.141.56", docker: "ssh://deploy@172.18.141.56" }];
    const member = diffStack({ stack: "prod", base: tree({ vip: vip([lb(1), lb(2)]) }), head: tree({ hosts: six, vip: vip([lb(1), lb(2)]) }) });
    const l4 = member.effects.filter((e) => e.host?.startsWith("lb"));
    assert.deepEqual(l4.map((e) => `${e.kind} ${e.container}: ${e.reason}`).sort(), ["reload lb01-haproxy: haproxy.cfg changed", "reload lb02-haproxy: haproxy.cfg changed"]);
    const added = diffStack({ stack: "prod", base: tree({ vip: vip([lb(1)]) }), head: tree({ vip: vip([lb(1), lb(2)]) }) });
    assert.deepEqual(
      added.effects.filter((e) => e.host?.startsWith("lb")).map((e) => `${e.kind} ${e.container}`).sort(),
      ["create lb02-haproxy", "create lb02-keepalived", "reload lb01-keepalived"],
      "lb01's keepalived gets its new peer by a reload",
    );
  });

  test("ACME scripts are container arguments: a new email restarts the renewer", () => {
    const acme = (email: string): Partial<ClusterSpecInput> => ({
      domains: [{ id: "main", serverNames: ["img.example.com"], certificate: "le" }],
      certificates: { le: { mode: "acme", email } },
    });
    const r = diffStack({ stack: "prod", base: tree(acme("a@example.com")), head: tree(acme("b@example.com")) });
    assert.deepEqual(
      r.effects.map((e) => `${e.kind} ${e.container}`),
      ["restart img01-certbot-le"],
    );
  });

  test("switching to ACME: the masters restart (a new volume), the ACME containers are created, the issuer's ops agent restarts (it reads the renewers' results), slaves and resizers stay", () => {
    const acme = { domains: [{ id: "main", serverNames: ["img.example.com"], certificate: "le" }], certificates: { le: { mode: "acme" as const, email: "a@example.com" } } };
    const selfSigned = { domains: acme.domains, certificates: { le: { mode: "selfSigned" as const } } };
    const r = diffStack({ stack: "prod", base: tree(selfSigned), head: tree(acme) });
    const byKind = (kind: string) => r.effects.filter((e) => e.kind === kind).map((e) => e.container.replace(/^img0\d-/, ""));
    assert.deepEqual(new Set(byKind("restart")), new Set(["master", "ops"]));
    const restarts = r.effects.filter((e) => e.kind === "restart");
    assert.ok(restarts.filter((e) => e.container.endsWith("-master")).every((e) => e.reason === "plan.json: volumes changed"));
    assert.deepEqual(restarts.filter((e) => e.container.endsWith("-ops")).map((e) => `${e.container}: ${e.reason}`), ["img01-ops: plan.json: ops.acmeDir, ops.config changed"]);
    assert.deepEqual(new Set(byKind("create")), new Set(["acme-init", "tls-sync", "certbot-le", "tls-publish"]));
    assert.deepEqual(byKind("reload"), []);
  });

  test("a stack only the working tree has is all new; one only the base had is all removed", () => {
    const added = diffStack({ stack: "new", head: tree() });
    assert.equal(added.status, "added");
    assert.ok(added.files.every((f) => f.status === "added"));
    const removed = diffStack({ stack: "old", base: tree() });
    assert.equal(removed.status, "removed");
    assert.ok(removed.effects.every((e) => e.kind === "remove"));
  });

  test("the restart/reload classifier is pluggable and its source is shown", () => {
    const model: EffectClassifier = {
      source: "from the lifecycle model",
      classify: (change) => [{ kind: "restart", host: "img01", container: "img01-master", reason: `${change.changedFiles.length} files` }],
    };
    const r = diffStack({ stack: "prod", base: tree(), head: tree({ slaves: [{ port: 8001, weight: 2 }, { port: 8002 }] }) }, model);
    assert.deepEqual(r.effects, [{ kind: "restart", host: "img01", container: "img01-master", reason: "6 files" }]);
    assert.match(formatText({ stacks: [r], changed: true }, sides), /note:\s+restart\/reload from the lifecycle model/);
    assert.notEqual(renderedFilesEstimate.source, model.source);
  });
});

describe("the lifecycle model's answer", () => {
  const head = () => tree({ slaves: [{ port: 8001, weight: 2 }, { port: 8002 }] });

  test("places each container on its host, keeps the rendered files' reason where they agree, and gives the model's own where they do not", () => {
    const model = {
      restarts: [{ container: "img02-resizer01", why: ["image"] }],
      reloads: [{ container: "img01-master", why: ["img01-master-reload"] }],
      started: [],
      stopped: [],
    };
    const r = diffStack({ stack: "prod", base: tree(), head: head() }, lifecycleClassifier(model));
    assert.deepEqual(r.effects, [
      { kind: "reload", host: "img01", container: "img01-master", reason: "master.conf changed" },
      { kind: "restart", host: "img02", container: "img02-resizer01", reason: "replaced: image changed" },
    ]);
    assert.equal(r.effectsSource, LIFECYCLE_SOURCE);
  });

  test("per stack: the model where it answered, the estimate (saying why) where it did not", () => {
    const r = diffStacks(
      [
        { stack: "prod", base: tree(), head: head() },
        { stack: "local", base: tree(), head: head() },
      ],
      (stack) => (stack === "prod" ? lifecycleClassifier({ restarts: [], reloads: [], started: [], stopped: [] }) : estimateBecause("no runnable program at main")),
    );
    assert.deepEqual(r.stacks[0]!.effects, []);
    assert.equal(r.stacks[1]!.effects.filter((e) => e.kind === "reload").length, 5);
    assert.match(formatText(r, sides), /note:\s+restart\/reload estimated from the rendered files.*The lifecycle model could not answer: no runnable program at main/);
  });
});

describe("markdown: one pull-request comment", () => {
  const big = () => {
    // Ten new hosts, each tuned its own way (so nothing folds): far beyond one comment.
    const many = Array.from({ length: 10 }, (_, i) => ({ name: `new${i}`, address: `10.9.0.${i + 1}`, docker: `ssh://deploy@10.9.0.${i + 1}`, nginx: { keepaliveRequests: 1000 + i } }));
    return diffStacks([{ stack: "prod", base: tree(), head: tree({ hosts: [...FIVE, ...many] }) }]);
  };

  test("opens with the marker the workflow edits by, then the summary table", () => {
    const md = formatMarkdown(diffStacks([{ stack: "prod", base: tree(), head: tree({ slaves: [{ port: 8001, weight: 3 }, { port: 8002 }] }) }]), sides);
    assert.equal(md.split("\n")[0], COMMENT_MARKER);
    assert.match(md, /^\| reload \| master on img01–img05 \| master.conf changed \|$/m);
    assert.match(md, /^\| restart \| none \| \|$/m);
    assert.match(md, /```diff\n@@ -\d+,7 \+\d+,7 @@ img01–img05\n/);
    assert.doesNotMatch(md, /Cut to fit/);
  });

  test("a change too large for one comment is cut below the budget, saying what was cut", () => {
    const report = big();
    const full = formatMarkdown(report, sides, Number.MAX_SAFE_INTEGER);
    assert.ok(full.length > 60_000, `the uncut diff is ${full.length} characters`);
    for (const budget of [60_000, 8_000]) {
      const md = formatMarkdown(report, sides, budget);
      assert.ok(md.length <= budget, `${md.length} <= ${budget}`);
      const note = /Cut to fit one comment\*\* \(([\d,]+) characters\): (\d+) hunks? \(\d+ lines?\) in (\d+) files? not shown: (.*)/.exec(md);
      assert.ok(note, md.slice(-800));
      assert.equal(note[1], budget.toLocaleString("en-US"));
      // Shown plus cut is every hunk.
      const shown = (md.match(/^@@ /gm) ?? []).length;
      const total = report.stacks[0]!.sections.reduce((n, s) => n + s.hunks.length, 0);
      assert.equal(shown + Number(note[2]), total);
      // The summary is never cut.
      assert.match(md, /added new0–new9/);
    }
  });

  test("content with backticks cannot close the code fence", () => {
    const base = tree();
    const head = new Map([...base].map(([p, c]) => [p, p === "img01/master.conf" ? c.replace("# img01-master:", "# ```\n# img01-master:") : c]));
    const md = formatMarkdown(diffStacks([{ stack: "prod", base, head }]), sides);
    assert.match(md, /^````diff$/m);
  });
});
