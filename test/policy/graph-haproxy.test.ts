// prod behind the software VIP passes every rule of the policy pack, keepalived and HAProxy
// through their named exceptions (policy/rules.ts EXCEPTIONS) and nothing more: a
// lookalike container, an extra capability, a stats port on every address, or the same
// containers in a stack whose VIP is hardware, are refused.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { EXCEPTIONS, policies, type PolicyContext } from "../../policy/rules.js";
import { analyzerArgs, contextOf, graphViolations, violationsOf } from "../helpers/policy.js";
import { ofType, prodWithHaproxy, runProgram, type ProgramRun, type Registered } from "../helpers/pulumi.js";

const { config, secretKeys } = prodWithHaproxy();
const ctx = contextOf(config);
let run: ProgramRun;
before(async () => {
  run = await runProgram(config, secretKeys);
  if (run.error) throw run.error;
});

const byName = (name: string): Registered => {
  const r = ofType(run, "Container").find((c) => c.inputs.name === name);
  assert.ok(r, `no container ${name}`);
  return r;
};
const variant = (name: string, change: (inputs: Record<string, any>) => void): Registered => {
  const r = structuredClone(byName(name));
  change(r.inputs);
  return r;
};
const violations = (rule: string, r: Registered, context: PolicyContext = ctx) =>
  violationsOf(policies(context).find((p) => p.name === rule)!, analyzerArgs(r, run));

describe("prod with vip.mode haproxy and the policy pack", () => {
  test("every resource passes every rule", () => {
    assert.equal(ofType(run, "Container").length, 60 + 2 * 4, "prod's 60 (an ops agent per host included) and the L4 hosts'");
    assert.deepEqual(graphViolations(run, ctx), []);
  });

  test("the exceptions are named, give their reason, and list the rules they touch", () => {
    for (const [name, e] of Object.entries(EXCEPTIONS)) {
      assert.ok(e.reason.length > 80, `${name} says why`);
      for (const rule of e.rules) assert.ok(policies(ctx).some((p) => p.name === rule && p.enforcementLevel === "mandatory"), `${name}: ${rule}`);
    }
    assert.match(EXCEPTIONS["vip-keepalived"].reason, /NET_ADMIN and NET_RAW only, networkMode host/);
  });

  test("keepalived's exception allows the host's network, root and NET_ADMIN/NET_RAW, nothing more", () => {
    const more = variant("lb01-keepalived", (i) => i.capabilities.adds.push("SYS_ADMIN"));
    assert.deepEqual(violations("capabilities-dropped", more), ["capabilities.adds SYS_ADMIN: not allowed for this container"]);
    const pid = variant("lb01-keepalived", (i) => (i.pidMode = "host"));
    assert.equal(violations("no-host-namespaces", pid).length, 1);
    const writable = variant("lb01-keepalived", (i) => delete i.readOnly);
    assert.equal(violations("read-only-root-filesystem", writable).length, 1);
  });

  test("an image host's container named like keepalived gets no exception, nor do the L4 containers of a stack whose VIP is hardware", () => {
    const lookalike = variant("lb01-keepalived", (i) => (i.name = "img01-keepalived"));
    assert.equal(violations("no-host-namespaces", lookalike).length, 1);
    assert.equal(violations("serving-containers-non-root", lookalike).length, 1);
    assert.equal(violations("capabilities-dropped", lookalike).length, 1);
    const hardware = contextOf({ ...config, "image-origin:vip": { address: "180.182.43.12", mode: "hardware" } });
    assert.equal(violations("no-host-namespaces", byName("lb01-keepalived"), hardware).length, 1);
    assert.equal(violations("ports-only-masters-on-host-address", byName("lb01-haproxy"), hardware).length, 1);
  });

  test("HAProxy's exception: only its VIP listeners on every address; the stats port on every address, or on another host's address, is refused", () => {
    const stats = (ip: string) =>
      variant("lb02-haproxy", (i) => (i.ports = i.ports.map((p: { internal: number }) => (p.internal === 8404 ? { ...p, ip } : p))));
    assert.deepEqual(violations("ports-only-masters-on-host-address", stats("0.0.0.0")), [
      "port 8404 (inside 8404) is published on every address: only HAProxy's VIP listeners go on every address, the rest on lb02's address 172.18.141.62",
    ]);
    assert.equal(violations("ports-only-masters-on-host-address", stats("172.18.141.61")).length, 1);
    assert.deepEqual(violations("ports-only-masters-on-host-address", byName("lb02-haproxy")), []);
    // HAProxy gets no other exception: root or a capability is refused as for any container.
    assert.equal(violations("serving-containers-non-root", variant("lb02-haproxy", (i) => (i.user = "0:0"))).length, 1);
    assert.equal(violations("capabilities-dropped", variant("lb02-haproxy", (i) => (i.capabilities = { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] }))).length, 1);
  });
});
