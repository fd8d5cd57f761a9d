// Runs a scenario through the model: the state an `up` of the base config left, then the
// changed program as `pulumi up` and as `pulumi preview`, and what an operator reads off it.
import { join } from "node:path";
import { buildContextHash } from "../../infra/components/resizerImage.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import type { Goal, StateEntry } from "../../infra/lifecycle/engine.js";
import { COMMAND_TYPE } from "../../infra/lifecycle/facts.js";
import { simulate, type Simulation } from "../../infra/lifecycle/simulate.js";
import { standInOutputs } from "../../infra/lifecycle/standIns.js";
import { planCluster, type ClusterPlan } from "../../infra/topology.js";
import { projectRoot } from "../helpers/cli.js";
import { prodWithSuppliedCertificate, stackConfig } from "../helpers/pulumi.js";
import { derive, stepsByResource, type L4Timing, type Outcome } from "./derive.js";
import { runShell } from "./shell.js";

export type Stack = "prod" | "local" | "acme";

export const PROGRAM = join(projectRoot, "infra/index.ts");

/** A stack's config as an operator runs it (prod with its real certificate pair; acme = prod with Let's Encrypt). */
export function stackInputs(stack: Stack): { config: Record<string, unknown>; secretKeys: string[] } {
  if (stack === "prod") {
    const { config, secretKeys } = prodWithSuppliedCertificate();
    return { config, secretKeys };
  }
  if (stack === "local") return { config: stackConfig("local"), secretKeys: [] };
  const config = stackConfig("prod");
  config["image-origin:certificates"] = { "star-tving": { mode: "acme", email: "ops@tving.com", renewBeforeDays: 30 } };
  delete config["image-origin:tlsPrivateKeys"];
  return { config, secretKeys: [] };
}

export const planOf = (config: Record<string, unknown>): ClusterPlan => planCluster(parseClusterSpec(fromStackConfig(config)));

/** The L4's schedule as the stack's `vip` config gives it (none: no L4, nothing to wait for). */
export function l4Of(config: Record<string, unknown>): L4Timing {
  const hc = parseClusterSpec(fromStackConfig(config)).vip?.healthCheck;
  return hc ?? { intervalSeconds: 0, timeoutSeconds: 0, rise: 0, fall: 0 };
}

/** What providers compute on create, as the mocked runs make it up. */
const computed = (goal: Goal) => standInOutputs(goal.type, goal.name, goal.inputs);

export interface Base {
  stack: Stack;
  config: Record<string, unknown>;
  secretKeys: string[];
  state: StateEntry[];
  /** What every run of this base changes in the program's registrations (a mutation of the program). */
  patch?: (goal: Goal) => Goal;
}

/** The state an operator has after `pulumi up` of the stack as it is (or as `patch` makes it). */
export async function deployed(stack: Stack, patch?: (goal: Goal) => Goal): Promise<Base> {
  const { config, secretKeys } = stackInputs(stack);
  const run = await simulate({ program: PROGRAM, config, secretKeys, state: [], computed, ...(patch && { patch }) });
  if (run.error) throw new Error(`${stack}: ${run.error}`);
  return { stack, config, secretKeys, state: run.state, ...(patch && { patch }) };
}

export interface Change {
  /** The changed stack config (the base config is not mutated). */
  config?: (config: Record<string, unknown>) => Record<string, unknown>;
  /** Program-side text the change alters (e.g. the resizer's content hash after a code edit). */
  rewrite?: [string, string][];
  /** A change to the registrations of this run only (on top of the base's patch). */
  patch?: (goal: Goal) => Goal;
}

export interface ScenarioRun {
  outcome: Outcome;
  up: Simulation;
  preview: Simulation;
}

/** `preview: false` skips the preview run (its summary is then empty). */
export async function runChange(base: Base, change: Change, options: { preview?: boolean } = {}): Promise<ScenarioRun> {
  const config = change.config ? change.config(structuredClone(base.config)) : base.config;
  const patch = base.patch && change.patch ? (g: Goal) => change.patch!(base.patch!(g)) : (change.patch ?? base.patch);
  const common = {
    program: PROGRAM,
    config,
    secretKeys: base.secretKeys,
    state: base.state,
    computed,
    ...(change.rewrite && { rewrite: change.rewrite }),
    ...(patch && { patch }),
  };
  const up = await simulate(common);
  if (up.error) throw new Error(`up: ${up.error}`);
  const preview = options.preview === false ? { ...up, steps: [] } : await simulate({ ...common, preview: true });
  if (preview.error) throw new Error(`preview: ${preview.error}`);
  const outcome = derive({ steps: up.steps, goals: up.goals, old: base.state, previewSteps: preview.steps, plans: [planOf(base.config), planOf(config)], l4: l4Of(config) });
  return { outcome: { ...outcome, freshMachineDeliveryFailures: freshMachineDeliveries(up, base.state) }, up, preview };
}

/**
 * Image deliveries this `up` runs, replayed on an operator machine whose engine holds no
 * image at all (a CI runner, a colleague's laptop), against hosts that hold what was
 * delivered to them before. The failures, as "<command>: <error>".
 */
export function freshMachineDeliveries(up: Simulation, old: StateEntry[]): string[] {
  const steps = stepsByResource(up.steps);
  const ran = (urn: string) => ["create", "replace", "update"].includes(steps.get(urn)?.kind ?? "same");
  const failures: string[] = [];
  for (const g of up.goals) {
    const create = g.inputs.create;
    if (g.type !== COMMAND_TYPE || typeof create !== "string" || !create.includes("docker save") || !ran(g.urn)) continue;
    const before = old.find((s) => s.urn === g.urn);
    const host = Array.isArray(before?.inputs.triggers) ? (before.inputs.triggers as unknown[]).map(String) : [];
    const run = runShell(create, { local: [], host });
    if (run.status !== 0) failures.push(`${g.name}: ${run.stderr.trim().split("\n")[0]}`);
  }
  return failures.sort();
}

/** The content hash in the resizer image's tag, as the program computes it from this checkout. */
export const resizerHash = (): string => buildContextHash(projectRoot);
