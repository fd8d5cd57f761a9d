// A small model of the Pulumi engine's step generation, fed by the provider facts
// (facts.ts). Given the state after an `up` and the resources a program registers
// (in registration order), it decides per resource: same / create / update / replace
// (create-before-delete or delete-before-replace, with the eager deletion of dependents),
// and deletes what the program no longer registers. It also answers what the provider
// would return as outputs, so a program run under mocks sees ids change, or sees unknowns
// in a preview, exactly where the engine would show them. Pure: no Pulumi, no I/O.
import {
  UNKNOWN,
  containsUnknown,
  goDurationReadBack,
  logOptsReadBack,
  memorySwapReadBack,
  nanoCpusReadBack,
  canonicalIp,
  ulimitsReadBack,
  type DaemonDefaults,
} from "./readBack.js";
import { PROVIDER_FACTS, RESOURCE_FACTS, type ProviderFact, type ResourceFact } from "./facts.js";

/** What the program tells the engine about one resource. */
export interface Goal {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** `urn::id` of the provider reference ("" for default providers and components). */
  provider: string;
  parent: string;
  inputs: Record<string, unknown>;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  deleteBeforeReplace: boolean;
  deleteBeforeReplaceDefined: boolean;
  ignoreChanges: string[];
  /** Property paths whose change the engine turns into a replacement (`triggers[*]`, `healthcheck`). */
  replaceOnChanges: string[];
  retainOnDelete: boolean;
}

/** One resource in state: its goal as last registered, and what the provider stored. */
export interface StateEntry extends Goal {
  id: string;
  outputs: Record<string, unknown>;
}

export type StepKind = "same" | "create" | "update" | "replace" | "delete";

export interface Step {
  urn: string;
  name: string;
  type: string;
  kind: StepKind;
  /**
   * register: at the resource's registration; cascade: deleted early because a resource it
   * depends on is replaced delete-before-replace; end: after every create and update.
   */
  phase: "register" | "cascade" | "end";
  /** Inputs whose change causes the step (replacing ones first). */
  keys: string[];
  deleteBeforeReplace?: boolean;
  /** For a cascade deletion (and the later re-creation): the resource whose replacement caused it. */
  cascadeRoot?: string;
  /** For a replacement at registration: the dependents it deleted first, in deletion order. */
  cascade?: string[];
}

export interface DiffResult {
  replaceKeys: string[];
  updateKeys: string[];
  /** The provider asks for delete-before-replace. */
  deleteBeforeReplace: boolean;
}

export interface EngineOptions {
  preview: boolean;
  daemon: DaemonDefaults;
}

const factsByType = new Map<string, ProviderFact[]>();
for (const f of PROVIDER_FACTS) factsByType.set(f.type, [...(factsByType.get(f.type) ?? []), f]);
const resourceFacts = new Map(RESOURCE_FACTS.map((f) => [f.type, f]));

export function resourceFact(type: string): ResourceFact | undefined {
  return resourceFacts.get(type);
}

function factFor(type: string, input: string): ProviderFact {
  const fact = factsByType.get(type)?.find((f) => f.input === input);
  if (fact === undefined) throw new Error(`no provider fact for ${type} input "${input}": add a row to infra/lifecycle/facts.ts (with its source)`);
  return fact;
}

// ---------------------------------------------------------------------------------------
// Values

/** Drop what a Terraform schema cannot tell apart from "unset": null, undefined, [] and {}. */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = prune(v);
      if (p === undefined || p === null || (Array.isArray(p) && p.length === 0) || (typeof p === "object" && p !== null && !Array.isArray(p) && Object.keys(p).length === 0)) continue;
      out[k] = p;
    }
    return out;
  }
  return value;
}

/** Canonical text; `sets` sorts every array (TypeSet elements and the sets inside them). */
function canonical(value: unknown, sets: boolean): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(walk);
      return sets ? items.map((i) => JSON.stringify(i)).sort().map((s) => JSON.parse(s)) : items;
    }
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, walk((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(walk(prune(value)));
}

function withDefaults(fact: ProviderFact, value: unknown): unknown {
  const d = fact.defaults;
  if (d === undefined || value === undefined) return value;
  if ("value" in d) return value;
  const fill = (v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? { ...d, ...prune(v) as object } : v);
  return Array.isArray(value) ? value.map(fill) : fill(value);
}

function isZero(fact: ProviderFact, value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return true;
  if (fact.defaults !== undefined && "value" in fact.defaults && value === fact.defaults.value) return true;
  const text = canonical(value, false);
  return text === undefined || text === "{}" || text === "[]";
}

/** Does `path` (a Pulumi property path such as `cpus` or `healthcheck.interval`) cover `key`? */
function ignored(ignoreChanges: string[], key: string): boolean {
  return ignoreChanges.some((p) => p === key || p.startsWith(`${key}.`) || p.startsWith(`${key}[`));
}

const segments = (path: string): string[] => path.replace(/\[([^\]]*)\]/g, ".$1").split(".").filter((x) => x !== "");

/**
 * `replaceOnChanges` as the engine applies it to a diff's paths (step_generator.go
 * applyReplaceOnChanges, PropertyPath.Contains): a path is covered when a listed path is
 * a prefix of it, `*` standing for any key or index. `triggers[*]` covers `triggers[0]`
 * but not `triggers` as a whole.
 */
export function replacedOnChange(replaceOnChanges: string[], path: string): boolean {
  const target = segments(path);
  return replaceOnChanges.some((p) => {
    const pattern = segments(p);
    return pattern.length <= target.length && pattern.every((seg, i) => seg === "*" || seg === target[i]);
  });
}

// ---------------------------------------------------------------------------------------
// Read-back: what a bridged provider stores after create

export function readBack(type: string, inputs: Record<string, unknown>, daemon: DaemonDefaults): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const facts = factsByType.get(type) ?? [];
  for (const [key, value] of Object.entries(inputs)) {
    if (!resourceFacts.has(type)) {
      out[key] = value;
      continue;
    }
    const fact = factFor(type, key);
    out[key] = readBackValue(fact, value, inputs, daemon);
  }
  // Attributes the program does not send but the provider reads back anyway.
  for (const fact of facts) {
    if (!(fact.input in inputs) && fact.readBack === "memorySwapDaemonDefault") {
      const v = memorySwapReadBack(undefined, inputs.memory as number | undefined, daemon);
      if (v !== undefined) out[fact.input] = v;
    }
  }
  return out;
}

function readBackValue(fact: ProviderFact, value: unknown, inputs: Record<string, unknown>, daemon: DaemonDefaults): unknown {
  if (containsUnknown(value)) return value;
  switch (fact.readBack) {
    case "asSent":
    case "notReadBack":
      return value;
    case "nanoCpus":
      return nanoCpusReadBack(String(value));
    case "healthcheckDurations": {
      const h = value as Record<string, unknown>;
      const d = (k: string) => goDurationReadBack(String(h[k] ?? "0s"));
      return { tests: h.tests, interval: d("interval"), timeout: d("timeout"), startPeriod: d("startPeriod"), startInterval: d("startInterval"), retries: h.retries ?? 0 };
    }
    case "memorySwapDaemonDefault":
      return memorySwapReadBack(value as number, inputs.memory as number | undefined, daemon);
    case "portBindings":
      return (value as Record<string, unknown>[])
        .map((p) => ({ internal: p.internal, external: p.external, ip: canonicalIp(String(p.ip ?? "0.0.0.0") || "0.0.0.0"), protocol: p.protocol ?? "tcp" }))
        .sort((a, b) => Number(a.internal) - Number(b.internal) || String(a.protocol).localeCompare(String(b.protocol)));
    case "ulimitsDaemonMerged":
      return ulimitsReadBack(value as { name: string; soft: number; hard: number }[], daemon);
    case "logOptsDaemonMerged":
      return logOptsReadBack(inputs.logDriver as string | undefined, value as Record<string, string>, daemon);
  }
}

// ---------------------------------------------------------------------------------------
// Diff, per provider kind

export function diff(old: StateEntry, goal: Goal): DiffResult {
  const fact = resourceFacts.get(goal.type);
  if (!goal.custom || fact === undefined) {
    if (goal.custom) throw new Error(`no resource fact for ${goal.type}: add it to test/lifecycle/provider-facts.ts`);
    // Components: the engine compares inputs itself (step_generator.go diff, no provider).
    const same = canonical(old.inputs, false) === canonical(goal.inputs, false);
    return { replaceKeys: [], updateKeys: same ? [] : ["(inputs)"], deleteBeforeReplace: false };
  }
  const replaceKeys: string[] = [];
  const updateKeys: string[] = [];
  // A change at `path` (the input itself, or one element of it): the provider's kind for
  // it, then the program's replaceOnChanges.
  const mark = (f: ProviderFact, key: string, paths: string[] = [key]) => {
    const replace = paths.some((path) => (path === key ? f.change : (f.elements ?? f.change)) === "replace" || replacedOnChange(goal.replaceOnChanges ?? [], path));
    (replace ? replaceKeys : updateKeys).push(key);
  };
  if (fact.diff === "bridged") {
    // State (read-back) against the new config, attribute by attribute.
    const keys = new Set([...Object.keys(goal.inputs), ...(factsByType.get(goal.type) ?? []).filter((f) => f.unset === "compare" && old.outputs[f.input] !== undefined).map((f) => f.input)]);
    for (const key of keys) {
      if (ignored(goal.ignoreChanges, key)) continue;
      const f = factFor(goal.type, key);
      const config = goal.inputs[key];
      const stored = old.outputs[key];
      let changed: boolean;
      if (config === undefined) changed = f.unset === "compare" && !isZero(f, stored);
      else if (containsUnknown(config)) changed = true;
      else changed = canonical(withDefaults(f, stored), f.set === true) !== canonical(withDefaults(f, config), f.set === true);
      if (changed) mark(f, key);
    }
  } else {
    // Old inputs against new inputs (native providers and provider configuration).
    const keys = new Set([...Object.keys(old.inputs), ...Object.keys(goal.inputs)]);
    for (const key of keys) {
      if (ignored(goal.ignoreChanges, key)) continue;
      const f = factFor(goal.type, key);
      const now = goal.inputs[key];
      const before = old.inputs[key];
      if (!containsUnknown(now) && canonical(before, false) === canonical(now, false)) continue;
      // The detailed diff names changed elements of a list (`triggers[0]`), or the whole
      // input when it is unknown, new or gone (pulumi resource.ObjectDiff).
      if (Array.isArray(before) && Array.isArray(now)) {
        const changed = Array.from({ length: Math.max(before.length, now.length) }, (_, i) => i).filter((i) => containsUnknown(now[i]) || canonical(before[i], false) !== canonical(now[i], false));
        mark(f, key, changed.map((i) => `${key}[${i}]`));
      } else mark(f, key);
    }
  }
  return { replaceKeys, updateKeys, deleteBeforeReplace: replaceKeys.length > 0 && fact.deleteBeforeReplace };
}

// ---------------------------------------------------------------------------------------
// The deployment

export interface Registration {
  step: Step;
  /** What the provider answers: outputs (UNKNOWN where a preview cannot know) and the id. */
  outputs: Record<string, unknown>;
  id: string;
}

/**
 * Feeds registrations in order (`register`) and then `finish`es: the steps and the state an
 * `up` leaves. `computed(goal)` supplies the values a provider computes on create (a
 * command's stdout, an image id), taken from the mocks.
 */
export class Deployment {
  private readonly old: Map<string, StateEntry>;
  /** Old state in its stored (topological) order: the graph the DBR cascade walks. */
  private readonly oldOrder: StateEntry[];
  private readonly steps: Step[] = [];
  private readonly registered = new Map<string, Goal>();
  private readonly newState = new Map<string, StateEntry>();
  private readonly deleted = new Set<string>();
  private readonly replaced = new Set<string>();

  constructor(
    old: StateEntry[],
    private readonly opts: EngineOptions,
    private readonly computed: (goal: Goal) => Record<string, unknown>,
  ) {
    this.oldOrder = old;
    this.old = new Map(old.map((s) => [s.urn, s]));
  }

  register(goal: Goal): Registration {
    if (this.registered.has(goal.urn)) throw new Error(`duplicate URN ${goal.urn}`);
    this.registered.set(goal.urn, goal);
    const old = this.old.get(goal.urn);
    let step: Step;
    if (old !== undefined && this.deleted.has(goal.urn)) {
      // Deleted earlier as a dependent of a delete-before-replace: re-created as a replacement.
      const first = this.steps.find((s) => s.urn === goal.urn && s.phase === "cascade")!;
      step = { ...this.base(goal), kind: "replace", phase: "register", keys: first.keys, deleteBeforeReplace: true, cascadeRoot: first.cascadeRoot };
      this.replaced.add(goal.urn);
    } else if (old === undefined) {
      step = { ...this.base(goal), kind: "create", phase: "register", keys: [] };
    } else {
      const d = this.diffWithProvider(old, goal);
      if (d.replaceKeys.length > 0) {
        const dbr = goal.deleteBeforeReplaceDefined ? goal.deleteBeforeReplace : d.deleteBeforeReplace;
        step = { ...this.base(goal), kind: "replace", phase: "register", keys: [...d.replaceKeys, ...d.updateKeys], deleteBeforeReplace: dbr };
        this.replaced.add(goal.urn);
        if (dbr) {
          const dependents = this.dependentReplacements(old);
          for (let i = dependents.length - 1; i >= 0; i--) {
            const dep = dependents[i]!;
            if (this.deleted.has(dep.entry.urn)) continue;
            this.deleted.add(dep.entry.urn);
            this.steps.push({ urn: dep.entry.urn, name: dep.entry.name, type: dep.entry.type, kind: "delete", phase: "cascade", keys: dep.keys, cascadeRoot: goal.urn });
          }
          step.cascade = dependents.map((x) => x.entry.urn).reverse().filter((u) => this.steps.some((s) => s.urn === u && s.cascadeRoot === goal.urn));
          this.deleted.add(goal.urn);
        }
      } else if (d.updateKeys.length > 0) {
        step = { ...this.base(goal), kind: "update", phase: "register", keys: d.updateKeys };
      } else {
        step = { ...this.base(goal), kind: "same", phase: "register", keys: [] };
      }
    }
    this.steps.push(step);
    const answer = this.answer(goal, old, step);
    this.newState.set(goal.urn, { ...goal, id: answer.id, outputs: answer.outputs });
    return { step, ...answer };
  }

  /** Deletes of what the program no longer registers, and old halves of create-before-delete replacements. */
  finish(): { steps: Step[]; state: StateEntry[] } {
    const gone = this.oldOrder.filter((s) => !this.registered.has(s.urn) && !this.deleted.has(s.urn));
    // Reverse dependency order: a resource goes before what it depends on.
    for (const s of [...gone].reverse()) this.steps.push({ urn: s.urn, name: s.name, type: s.type, kind: "delete", phase: "end", keys: [] });
    const state = [...this.newState.values()];
    return { steps: this.steps, state };
  }

  private base(goal: Goal) {
    return { urn: goal.urn, name: goal.name, type: goal.type };
  }

  private diffWithProvider(old: StateEntry, goal: Goal): DiffResult {
    // A changed provider reference replaces the resource (step_generator.go providerChanged).
    if (old.provider !== "" && goal.provider !== "" && old.provider.split("::").slice(0, -1).join("::") !== goal.provider.split("::").slice(0, -1).join("::")) {
      return { replaceKeys: ["provider"], updateKeys: [], deleteBeforeReplace: resourceFacts.get(goal.type)?.deleteBeforeReplace ?? false };
    }
    if (old.provider !== "" && this.replaced.has(old.provider.split("::").slice(0, -1).join("::"))) {
      return { replaceKeys: ["provider"], updateKeys: [], deleteBeforeReplace: resourceFacts.get(goal.type)?.deleteBeforeReplace ?? false };
    }
    return diff(old, goal);
  }

  /**
   * calculateDependentReplacements: transitive dependents (old graph, any kind of edge) that
   * are not registered yet and that the provider would replace once the inputs computed from
   * a replaced resource are unknown.
   */
  private dependentReplacements(root: StateEntry): { entry: StateEntry; keys: string[] }[] {
    const replaceSet = new Set([root.urn]);
    const dependentSet = new Set([root.urn]);
    const out: { entry: StateEntry; keys: string[] }[] = [];
    const start = this.oldOrder.indexOf(root);
    for (const candidate of this.oldOrder.slice(start + 1)) {
      if (this.registered.has(candidate.urn)) continue;
      const providerUrn = candidate.provider.split("::").slice(0, -1).join("::");
      const depends = candidate.dependencies.some((d) => dependentSet.has(d)) || Object.values(candidate.propertyDependencies).some((ds) => ds.some((d) => dependentSet.has(d))) || dependentSet.has(providerUrn);
      if (!depends) continue;
      dependentSet.add(candidate.urn);
      if (!candidate.custom) continue;
      if (replaceSet.has(providerUrn)) {
        replaceSet.add(candidate.urn);
        out.push({ entry: candidate, keys: ["provider"] });
        continue;
      }
      const inputs: Record<string, unknown> = {};
      let touched = false;
      for (const [k, v] of Object.entries(candidate.inputs)) {
        const hit = (candidate.propertyDependencies[k] ?? []).some((d) => replaceSet.has(d));
        touched ||= hit;
        inputs[k] = hit ? UNKNOWN : v;
      }
      if (!touched) continue;
      const d = diff(candidate, { ...candidate, inputs });
      if (d.replaceKeys.length > 0) {
        replaceSet.add(candidate.urn);
        out.push({ entry: candidate, keys: d.replaceKeys });
      }
    }
    return out;
  }

  private answer(goal: Goal, old: StateEntry | undefined, step: Step): { outputs: Record<string, unknown>; id: string } {
    const fact = resourceFacts.get(goal.type);
    const computedNames = fact?.computed ?? [];
    if (step.kind === "same") return { outputs: old!.outputs, id: old!.id };
    if (this.opts.preview) {
      if (step.kind === "update") {
        const unknown = Object.fromEntries((fact?.unknownAfterUpdate ?? []).map((k) => [k, UNKNOWN]));
        return { outputs: { ...old!.outputs, ...goal.inputs, ...unknown }, id: old!.id };
      }
      // create / replace: the provider has not run; every computed output is unknown.
      return { outputs: { ...goal.inputs, ...Object.fromEntries(computedNames.filter((k) => k !== "id").map((k) => [k, UNKNOWN])) }, id: "" };
    }
    const made = this.computed(goal);
    const fresh = Object.fromEntries(Object.entries(made).filter(([k]) => computedNames.includes(k)));
    if (step.kind === "update") {
      // The provider's update does not read back: state holds the config (and what update recomputed).
      const kept = Object.fromEntries(Object.entries(old!.outputs).filter(([k]) => computedNames.includes(k)));
      return { outputs: { ...kept, ...goal.inputs, ...(fact?.diff === "inputs" ? fresh : {}) }, id: old!.id };
    }
    const stored = fact?.readAfterCreate ? readBack(goal.type, goal.inputs, this.opts.daemon) : { ...goal.inputs };
    const id = goal.custom ? nextId(goal.name, old?.id) : "";
    // What the mocks do not make up (a CSR's PEM, a container's exit code) still exists and
    // is new with every creation.
    const placeholders = Object.fromEntries(computedNames.filter((k) => k !== "id" && !(k in fresh) && !(k in stored)).map((k) => [k, `${id}/${k}`]));
    return { outputs: { ...stored, ...placeholders, ...fresh }, id };
  }
}

function nextId(name: string, previous: string | undefined): string {
  if (previous === undefined) return `${name}-id`;
  const m = /@(\d+)$/.exec(previous);
  return `${name}-id@${m ? Number(m[1]) + 1 : 2}`;
}
