// The lifecycle model's own rules, on small hand-made graphs: each test is one rule of the
// engine or a provider (cited in PROVIDER-FACTS.md), so a model bug shows here before it
// distorts the scenario table.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Deployment, diff, readBack, replacedOnChange, type Goal, type StateEntry } from "../../infra/lifecycle/engine.js";
import { PLAIN_DAEMON, UNKNOWN } from "../../infra/lifecycle/readBack.js";
import { COMMAND_TYPE, CONTAINER, NETWORK } from "../../infra/lifecycle/facts.js";

const urn = (type: string, name: string) => `urn:pulumi:test::image-origin::${type}::${name}`;

function goal(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<Goal> = {}): Goal {
  return {
    urn: urn(type, name),
    type,
    name,
    custom: true,
    provider: "",
    parent: "",
    inputs,
    dependencies: [],
    propertyDependencies: {},
    deleteBeforeReplace: false,
    deleteBeforeReplaceDefined: false,
    ignoreChanges: [],
    replaceOnChanges: [],
    retainOnDelete: false,
    ...extra,
  };
}

/** `up` of `goals` from nothing: the state the model keeps afterwards. */
function deploy(goals: Goal[]): StateEntry[] {
  const d = new Deployment([], { preview: false, daemon: PLAIN_DAEMON }, () => ({}));
  for (const g of goals) d.register(g);
  return d.finish().state;
}

function up(state: StateEntry[], goals: Goal[], preview = false) {
  const d = new Deployment(state, { preview, daemon: PLAIN_DAEMON }, () => ({}));
  for (const g of goals) d.register(g);
  return d.finish().steps;
}

const resizer = (cpus: string, extra: Record<string, unknown> = {}) => goal(CONTAINER, "r1", { name: "r1", image: "sha256:1", cpus, memory: 1024, ...extra });

describe("read-back decides whether a second up is a no-op", () => {
  test("cpus \"2\" is stored as \"2.0\" and, forcing replacement, replaces the container on every up", () => {
    const state = deploy([resizer("2", { memorySwap: 1024 })]);
    assert.equal(state[0]!.outputs.cpus, "2.0");
    assert.deepEqual(diff(state[0]!, resizer("2", { memorySwap: 1024 })), { replaceKeys: ["cpus"], updateKeys: [], deleteBeforeReplace: true });
  });

  test("cpus sent in the provider's own form reads back identical: nothing to do", () => {
    const state = deploy([resizer("2.0", { memorySwap: 1024 })]);
    assert.deepEqual(diff(state[0]!, resizer("2.0", { memorySwap: 1024 })), { replaceKeys: [], updateKeys: [], deleteBeforeReplace: false });
  });

  test("memory_swap left unset reads back as 2 x memory: an in-place update, once", () => {
    const state = deploy([resizer("2.0")]);
    assert.equal(state[0]!.outputs.memorySwap, 2048);
    const steps = up(state, [resizer("2.0")]);
    assert.deepEqual(steps.map((s) => [s.kind, s.keys]), [["update", ["memorySwap"]]]);
  });

  test("memory_swap sent equal to memory: no diff where the kernel accounts swap; without, one in-place update, then none", () => {
    assert.deepEqual(up(deploy([resizer("2.0", { memorySwap: 1024 })]), [resizer("2.0", { memorySwap: 1024 })]), [{ urn: urn(CONTAINER, "r1"), name: "r1", type: CONTAINER, kind: "same", phase: "register", keys: [] }]);
    const noSwap = { ...PLAIN_DAEMON, swapLimit: false };
    const d = new Deployment([], { preview: false, daemon: noSwap }, () => ({}));
    d.register(resizer("2.0", { memorySwap: 1024 }));
    const created = d.finish().state;
    assert.equal(created[0]!.outputs.memorySwap, -1);
    const second = new Deployment(created, { preview: false, daemon: noSwap }, () => ({}));
    assert.deepEqual(second.register(resizer("2.0", { memorySwap: 1024 })).step.kind, "update");
    const third = new Deployment(second.finish().state, { preview: false, daemon: noSwap }, () => ({}));
    assert.equal(third.register(resizer("2.0", { memorySwap: 1024 })).step.kind, "same");
  });

  test("ignoreChanges hides a read-back difference from a bridged provider's diff", () => {
    const state = deploy([resizer("2", { memorySwap: 1024 })]);
    assert.deepEqual(diff(state[0]!, { ...resizer("2", { memorySwap: 1024 }), ignoreChanges: ["cpus"] }).replaceKeys, []);
  });

  test("healthcheck durations read back in Go's form; the difference is an update the provider never applies, unless replaceOnChanges names it", () => {
    const hc = { tests: ["CMD", "true"], interval: "5m", timeout: "10s", retries: 1, startPeriod: "1m" };
    const state = deploy([resizer("2.0", { memorySwap: 1024, healthcheck: hc })]);
    assert.deepEqual(state[0]!.outputs.healthcheck, { tests: ["CMD", "true"], interval: "5m0s", timeout: "10s", startPeriod: "1m0s", startInterval: "0s", retries: 1 });
    assert.deepEqual(diff(state[0]!, resizer("2.0", { memorySwap: 1024, healthcheck: hc })), { replaceKeys: [], updateKeys: ["healthcheck"], deleteBeforeReplace: false });
    const replacing = { ...resizer("2.0", { memorySwap: 1024, healthcheck: hc }), replaceOnChanges: ["healthcheck", "tmpfs"] };
    assert.deepEqual(diff(state[0]!, replacing), { replaceKeys: ["healthcheck"], updateKeys: [], deleteBeforeReplace: true });
    const goForm = { ...hc, interval: "5m0s", startPeriod: "1m0s" };
    assert.deepEqual(diff(deploy([resizer("2.0", { memorySwap: 1024, healthcheck: goForm })])[0]!, { ...resizer("2.0", { memorySwap: 1024, healthcheck: goForm }), replaceOnChanges: ["healthcheck"] }), { replaceKeys: [], updateKeys: [], deleteBeforeReplace: false });
  });

  test("sets compare without order; absent and empty collections are the same", () => {
    const caps = { drops: ["ALL"], adds: ["CHOWN"] };
    const a = resizer("2.0", { memorySwap: 1024, capabilities: caps, envs: ["B=2", "A=1"], mounts: [{ type: "volume", source: "v", target: "/t" }] });
    const b = resizer("2.0", { memorySwap: 1024, capabilities: { adds: ["CHOWN"], drops: ["ALL"] }, envs: ["A=1", "B=2"], mounts: [{ type: "volume", source: "v", target: "/t", readOnly: false }] });
    assert.deepEqual(diff(deploy([a])[0]!, b), { replaceKeys: [], updateKeys: [], deleteBeforeReplace: false });
  });

  test("an input the facts table does not know is an error, not a silent no-op", () => {
    const state = deploy([resizer("2.0", { memorySwap: 1024 })]);
    assert.throws(() => diff(state[0]!, resizer("2.0", { memorySwap: 1024, deviceCgroupRules: ["c 1:1 r"] })), /no provider fact for docker:index\/container:Container input "deviceCgroupRules"/);
  });
});

describe("replacement order", () => {
  const net = (subnet: string) => goal(NETWORK, "n", { name: "n", ipamConfigs: [{ subnet }] }, { deleteBeforeReplace: true, deleteBeforeReplaceDefined: true });
  const onNet = (name: string, extra: Partial<Goal> = {}) =>
    goal(CONTAINER, name, { name, image: "sha256:1", networkMode: "n", memory: 64, memorySwap: 64 }, { dependencies: [urn(NETWORK, "n")], propertyDependencies: { networkMode: [urn(NETWORK, "n")] }, ...extra });
  const after = (name: string, dep: string) => goal(COMMAND_TYPE, name, { create: "true", triggers: ["x"] }, { dependencies: [urn(CONTAINER, dep)] });
  const gateOf = (name: string, dep: string) =>
    goal(COMMAND_TYPE, name, { create: "check", triggers: [`${dep}-id`] }, { dependencies: [urn(CONTAINER, dep)], propertyDependencies: { triggers: [urn(CONTAINER, dep)] } });

  test("delete-before-replace deletes, first, the dependents whose inputs come from it; dependsOn-only ones stay", () => {
    const before = [net("10.0.0.0/24"), onNet("c1"), gateOf("g1", "c1"), after("watcher", "c1")];
    const state = deploy(before);
    const steps = up(state, [net("10.0.1.0/24"), onNet("c1"), gateOf("g1", "c1"), after("watcher", "c1")]);
    const summary = steps.map((s) => `${s.kind} ${s.phase} ${s.name}`);
    // c1 takes the network's name (replace on unknown), g1 takes c1's id; the dependsOn-only watcher is left alone.
    assert.deepEqual(summary, ["delete cascade g1", "delete cascade c1", "replace register n", "replace register c1", "replace register g1", "same register watcher"]);
    assert.deepEqual(steps.find((s) => s.name === "n")!.cascade, [urn(COMMAND_TYPE, "g1"), urn(CONTAINER, "c1")]);
  });

  test("a dependent already registered in this up is not deleted by a later replacement", () => {
    const state = deploy([net("10.0.0.0/24"), onNet("c1")]);
    // c1 registers first (as if it no longer waited for n): the cascade cannot reach it.
    const steps = up(state, [onNet("c1"), net("10.0.1.0/24")]);
    assert.deepEqual(steps.map((s) => `${s.kind} ${s.phase} ${s.name}`), ["same register c1", "replace register n"]);
  });

  test("without delete-before-replace the old resource goes last, after every create and update", () => {
    const state = deploy([goal(NETWORK, "n", { name: "n", ipamConfigs: [{ subnet: "10.0.0.0/24" }] }, { deleteBeforeReplaceDefined: true })]);
    const steps = up(state, [goal(NETWORK, "n", { name: "n", ipamConfigs: [{ subnet: "10.0.1.0/24" }] }, { deleteBeforeReplaceDefined: true })]);
    assert.deepEqual(steps.map((s) => [s.kind, s.deleteBeforeReplace, s.cascade]), [["replace", false, undefined]]);
  });

  test("a container is delete-before-replace by the provider's own choice; the program can say otherwise", () => {
    const state = deploy([resizer("2.0", { memorySwap: 1024 })]);
    assert.equal(up(state, [resizer("1.0", { memorySwap: 1024 })])[0]!.deleteBeforeReplace, true);
    assert.equal(up(state, [{ ...resizer("1.0", { memorySwap: 1024 }), deleteBeforeReplaceDefined: true, deleteBeforeReplace: false }])[0]!.deleteBeforeReplace, false);
  });

  test("resources the program no longer registers are deleted at the end, dependents first", () => {
    const state = deploy([net("10.0.0.0/24"), onNet("c1"), onNet("c2")]);
    const steps = up(state, []);
    assert.deepEqual(steps.map((s) => `${s.kind} ${s.phase} ${s.name}`), ["delete end c2", "delete end c1", "delete end n"]);
  });
});

describe("commands and previews", () => {
  const cmd = (create: string, triggers: unknown[]) => goal(COMMAND_TYPE, "deliver", { create, triggers });

  test("a changed trigger element updates a command unless replaceOnChanges covers it; a changed script updates it (create runs again either way)", () => {
    const state = deploy([cmd("save a", ["a"])]);
    assert.equal(up(state, [cmd("save a", ["b"])])[0]!.kind, "update");
    assert.equal(up(state, [{ ...cmd("save a", ["b"]), replaceOnChanges: ["triggers[*]"] }])[0]!.kind, "replace");
    assert.equal(up(state, [cmd("save b", ["a"])])[0]!.kind, "update");
  });

  test("triggers unknown as a whole (a delete-before-replace cascade) replace a command by the provider's own schema", () => {
    const state = deploy([cmd("save a", ["a"])]);
    assert.deepEqual(diff(state[0]!, cmd("save a", UNKNOWN as unknown as unknown[])).replaceKeys, ["triggers"]);
  });

  test("replaceOnChanges paths cover what they prefix, * standing for any element", () => {
    assert.equal(replacedOnChange(["triggers[*]"], "triggers[0]"), true);
    assert.equal(replacedOnChange(["triggers[*]"], "triggers"), false);
    assert.equal(replacedOnChange(["healthcheck"], "healthcheck.interval"), true);
    assert.equal(replacedOnChange(["healthcheck"], "tmpfs"), false);
  });

  test("an input unknown in preview replaces when it forces replacement, updates otherwise", () => {
    const state = deploy([resizer("2.0", { memorySwap: 1024 })]);
    assert.deepEqual(up(state, [resizer("2.0", { memorySwap: 1024, image: UNKNOWN })], true).map((s) => s.kind), ["replace"]);
    assert.deepEqual(up(state, [resizer("2.0", { memorySwap: 1024, memory: UNKNOWN })], true).map((s) => s.kind), ["update"]);
  });

  test("a preview answers unknown for what a command prints when it runs again", () => {
    const state = deploy([cmd("save a", ["a"])]);
    const d = new Deployment(state, { preview: true, daemon: PLAIN_DAEMON }, () => ({ stdout: "sha256:a" }));
    assert.equal(d.register(cmd("save a", ["b"])).outputs.stdout, UNKNOWN);
    const same = new Deployment(state, { preview: true, daemon: PLAIN_DAEMON }, () => ({ stdout: "sha256:a" }));
    assert.notEqual(same.register(cmd("save a", ["a"])).outputs.stdout, UNKNOWN);
  });

  test("read-back keeps what the provider does not read (envs, uploads, networks)", () => {
    const inputs = { envs: ["A=1"], uploads: [{ file: "/x", content: "y" }], networksAdvanced: [{ name: "n", ipv4Address: "10.0.0.2" }] };
    const out = readBack(CONTAINER, inputs, PLAIN_DAEMON);
    assert.deepEqual({ envs: out.envs, uploads: out.uploads, networksAdvanced: out.networksAdvanced }, inputs);
  });
});
