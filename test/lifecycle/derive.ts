// What an operator asks of an `up`, read off the model's steps: which containers restart,
// which nginx only reloads and the preview line (infra/lifecycle/effects.ts), and how many
// hosts are out of the VIP at once.
//
// A host is out of the VIP from the moment its master is deleted (or drained), or both its
// slaves are gone at once (/healthz is proxied to them), until the L4 takes it back: when
// the L4 takes it back: at most rise x interval + timeout after it is healthy again, which
// its health gate (`<host>-healthy`) observes. Two hosts can be out together unless the
// second leaves at least that long after the first's gate passed (less what the gate
// already watched), counting only waits the engine's order guarantees: a resource's steps
// run after all its dependencies' steps; a delete-before-replace deletes its dependents (in
// order), then itself, at its registration; deletes of what the program dropped run after
// everything else; the guaranteed waits are the `-settled` pauses, the gates' watching and
// the drains (read off their shell text, shell.ts), everything else may take no time.
import type { ClusterPlan } from "../../infra/topology.js";
import { containerEffects, previewSummary, stepsByResource } from "../../infra/lifecycle/effects.js";
import { COMMAND_TYPE } from "../../infra/lifecycle/facts.js";
import type { Goal, StateEntry, Step, StepKind } from "../../infra/lifecycle/engine.js";
import { gateBehaviour, runShell, secondsSleptAfter } from "./shell.js";

/** The L4's health-check schedule, as the `vip` config gives it. */
export interface L4Timing {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Consecutive good checks before a host is taken back. */
  rise: number;
  /** Consecutive failed checks before a host is taken out. */
  fall: number;
}

export interface Outcome {
  /** Every resource whose step is not `same`, by name. */
  steps: Record<string, StepKind>;
  /** Long-running containers stopped and started again. */
  restarts: string[];
  /** Long-running containers started for the first time, or stopped for good. */
  started: string[];
  stopped: string[];
  /** nginx instances that reload their configuration in place. */
  reloads: string[];
  /** The most hosts out of the VIP at the same time, and one such set. */
  maxHostsOut: number;
  hostsOutTogether: string[];
  /** Masters deleted while the L4 may still send them new connections (no drain first). */
  undrainedMasters: string[];
  /** The preview's summary line (counts by resource, as `pulumi preview` prints them). */
  preview: string;
  /** Image deliveries of this `up` that fail on an operator machine that never built or pulled the images (run.ts). */
  freshMachineDeliveryFailures: string[];
}

export { previewSummary, stepsByResource };

interface Events {
  /** Successors of every event, with the least time between them (seconds). */
  next: Map<string, Map<string, number>>;
}

function edge(ev: Events, from: string, to: string, seconds = 0) {
  if (!ev.next.has(from)) ev.next.set(from, new Map());
  const m = ev.next.get(from)!;
  m.set(to, Math.max(m.get(to) ?? 0, seconds));
}

/** Longest (guaranteed) delay from `a` to every event after it; absent = not ordered after `a`. */
function delaysFrom(ev: Events, a: string): Map<string, number> {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const m of ev.next.get(n)?.keys() ?? []) visit(m);
    order.push(n);
  };
  visit(a);
  const dist = new Map<string, number>([[a, 0]]);
  for (const n of order.reverse()) {
    const d = dist.get(n);
    if (d === undefined) continue;
    for (const [m, w] of ev.next.get(n) ?? []) dist.set(m, Math.max(dist.get(m) ?? -Infinity, d + w));
  }
  return dist;
}

export interface DeriveInput {
  steps: Step[];
  goals: Goal[];
  old: StateEntry[];
  previewSteps: Step[];
  /** Plans of the program before and after (hosts, their master and slaves, the drain flag). */
  plans: ClusterPlan[];
  l4: L4Timing;
}

export function derive(input: DeriveInput): Outcome {
  const { steps, goals, old, plans, l4 } = input;
  // Custom resources by name (a component may share its container's name).
  const all = [...old, ...goals];
  const byName = new Map<string, Goal | StateEntry>(all.filter((r) => r.custom).map((r) => [r.name, r] as const));
  const final = stepsByResource(steps);

  const changed: Record<string, StepKind> = {};
  for (const s of final.values()) if (s.kind !== "same") changed[s.name] = s.kind;

  const effects = containerEffects(steps, goals, old);
  const names = (list: { container: string }[]) => list.map((e) => e.container);

  // ---- events, their order and the least time between them
  const ev: Events = { next: new Map() };
  const reg = (urn: string) => `reg ${urn}`;
  const done = (urn: string) => `done ${urn}`;
  const del = (urn: string) => `del ${urn}`;
  const urns = new Set(goals.map((g) => g.urn));
  const ran = (urn: string) => ["create", "replace", "update"].includes(final.get(urn)?.kind ?? "same");
  // Guaranteed waits: a settle pause and a gate take at least what their shell text sleeps.
  const gateWatch = new Map<string, number>();
  const minSeconds = (g: Goal): number => {
    if (g.type !== COMMAND_TYPE || !ran(g.urn) || typeof g.inputs.create !== "string") return 0;
    if (g.name.endsWith("-settled")) return secondsSleptAfter(runShell(g.inputs.create, { local: [], host: [] }), () => true);
    if (g.name.endsWith("-healthy")) {
      const watched = gateBehaviour(g.inputs.create).watchedSeconds;
      gateWatch.set(g.urn, watched);
      return watched;
    }
    return 0;
  };
  for (const g of goals) {
    edge(ev, reg(g.urn), done(g.urn), minSeconds(g));
    for (const d of g.dependencies) if (urns.has(d)) edge(ev, done(d), reg(g.urn));
    edge(ev, done(g.urn), "end");
  }
  // A drain's delete sets the flag, then waits: what follows it in its chain waits as long.
  const drainWait = (r: Goal | StateEntry, drainFile: string) =>
    typeof r.inputs.delete === "string" ? secondsSleptAfter(runShell(r.inputs.delete, { local: [], host: [] }), (c) => c.args.some((a) => a.includes(drainFile))) : 0;
  const drainFiles = plans.flatMap((p) => p.hosts.map((h) => ({ master: h.master.name, file: h.master.paths.drainFile })));
  const drainOf = (r: Goal | StateEntry) =>
    r.type === COMMAND_TYPE && typeof r.inputs.delete === "string" ? drainFiles.find((d) => (r.inputs.delete as string).includes(d.file) && (r.inputs.delete as string).includes(d.master)) : undefined;
  const oldByUrn = new Map(old.map((s) => [s.urn, s]));
  const waitAfterDelete = (urn: string) => {
    const r = oldByUrn.get(urn);
    const d = r && drainOf(r);
    return r && d ? drainWait(r, d.file) : 0;
  };
  for (const s of steps.filter((x) => x.phase === "register" && x.kind === "replace" && x.deleteBeforeReplace && x.cascadeRoot === undefined)) {
    // The serial chain at the root's registration: dependents (in order), the root, then its creation.
    const chain = [reg(s.urn), ...(s.cascade ?? []).map(del), del(s.urn), done(s.urn)];
    for (let i = 1; i < chain.length; i++) edge(ev, chain[i - 1]!, chain[i]!, chain[i - 1]!.startsWith("del ") ? waitAfterDelete(chain[i - 1]!.slice(4)) : 0);
  }
  for (const s of steps.filter((x) => x.phase === "cascade")) {
    // A dependent deleted early is created again when it registers.
    if (urns.has(s.urn)) edge(ev, del(s.urn), reg(s.urn));
  }
  // Deletes after everything: old halves of create-before-delete replacements and dropped
  // resources, dependents first.
  const endDeletes = [
    ...steps.filter((x) => x.phase === "end").map((x) => x.urn),
    ...steps.filter((x) => x.phase === "register" && x.kind === "replace" && !x.deleteBeforeReplace).map((x) => x.urn),
  ];
  for (const u of endDeletes) {
    edge(ev, "end", `end ${del(u)}`);
    for (const dep of oldByUrn.get(u)?.dependencies ?? []) if (endDeletes.includes(dep)) edge(ev, `end ${del(u)}`, `end ${del(dep)}`, waitAfterDelete(u));
  }
  const deletionOf = (urn: string): string | undefined => {
    const s = steps.find((x) => x.urn === urn && (x.kind === "delete" || (x.kind === "replace" && x.phase === "register")));
    if (s === undefined) return undefined;
    if (s.phase === "cascade") return del(urn);
    if (s.phase === "end" || (s.kind === "replace" && !s.deleteBeforeReplace)) return `end ${del(urn)}`;
    return del(urn);
  };
  const delays = new Map<string, Map<string, number>>();
  const delay = (a: string, b: string): number | undefined => {
    if (!delays.has(a)) delays.set(a, delaysFrom(ev, a));
    return delays.get(a)!.get(b);
  };
  const hb = (a: string, b: string) => a !== b && delay(a, b) !== undefined;

  // ---- hosts out of the VIP
  const hostNames = [...new Set(plans.flatMap((p) => p.hosts.map((h) => h.name)))];
  const hostPlan = (name: string) => plans.map((p) => p.hosts.find((h) => h.name === name)).find((h) => h !== undefined)!;
  const urnOf = (name: string) => byName.get(name)?.urn;
  const drainNeeded = l4.fall * l4.intervalSeconds + l4.timeoutSeconds;
  const readmission = l4.rise * l4.intervalSeconds + l4.timeoutSeconds;
  const undrainedMasters: string[] = [];
  const intervals: { host: string; start: string; end: string | undefined; residual: number }[] = [];

  for (const host of hostNames) {
    const plan = hostPlan(host);
    const masterUrn = urnOf(plan.master.name);
    const starts: string[] = [];
    const masterDeletion = masterUrn === undefined ? undefined : deletionOf(masterUrn);
    if (masterDeletion !== undefined) {
      // Drained first: a Command whose delete sets this master's drain flag, deleted before it, waiting long enough.
      const drain = [...byName.values()].find((r) => drainOf(r)?.master === plan.master.name);
      const drainDeletion = drain && deletionOf(drain.urn);
      if (drain && drainDeletion !== undefined && hb(drainDeletion, masterDeletion) && drainWait(drain, plan.master.paths.drainFile) >= drainNeeded) {
        starts.push(drainDeletion);
      } else {
        undrainedMasters.push(plan.master.name);
        starts.push(masterDeletion);
      }
    }
    // Both slaves gone at once (/healthz is proxied to them).
    const slaveGaps = plan.slaves
      .map((s) => urnOf(s.name))
      .filter((u): u is string => u !== undefined)
      .map((u) => ({ gone: deletionOf(u), back: urns.has(u) && ran(u) ? done(u) : undefined }))
      .filter((g): g is { gone: string; back: string | undefined } => g.gone !== undefined);
    if (plan.slaves.length > 0 && slaveGaps.length === plan.slaves.length) {
      const together = slaveGaps.every((a) => slaveGaps.every((b) => a === b || !((a.back && hb(a.back, b.gone)) || (b.back && hb(b.back, a.gone)))));
      if (together) starts.push(...slaveGaps.map((g) => g.gone));
    }
    if (starts.length === 0) continue;
    const start = starts.find((s) => starts.every((t) => t === s || !hb(t, s))) ?? starts[0]!;
    // Back once the L4 re-admits it: what its gate watched counts toward rise x interval.
    const gate = goals.find((g) => g.name === `${host}-healthy`);
    const back = gate !== undefined && ran(gate.urn) ? done(gate.urn) : undefined;
    intervals.push({ host, start, end: back, residual: Math.max(0, readmission - (gate ? (gateWatch.get(gate.urn) ?? 0) : 0)) });
  }

  // Largest set of hosts that may be out at the same time.
  const apart = (a: (typeof intervals)[number], b: (typeof intervals)[number]) => {
    if (a.end === undefined) return false;
    const d = delay(a.end, b.start);
    return d !== undefined && d >= a.residual;
  };
  const overlap = (a: (typeof intervals)[number], b: (typeof intervals)[number]) => !apart(a, b) && !apart(b, a);
  let best: string[] = [];
  const n = intervals.length;
  for (let mask = 1; mask < 1 << n; mask++) {
    const set = intervals.filter((_, i) => mask & (1 << i));
    if (set.length <= best.length) continue;
    if (set.every((a) => set.every((b) => a === b || overlap(a, b)))) best = set.map((i) => i.host);
  }

  const sorted = (xs: string[]) => [...xs].sort();
  return {
    steps: changed,
    restarts: names(effects.restarts),
    started: names(effects.started),
    stopped: names(effects.stopped),
    reloads: names(effects.reloads),
    maxHostsOut: best.length,
    hostsOutTogether: sorted(best),
    undrainedMasters: sorted(undrainedMasters),
    preview: previewSummary(input.previewSteps),
    freshMachineDeliveryFailures: [],
  };
}
