// Runs a scenario through the model: the state an `up` of the base config left, then the
// changed program as `pulumi up` and as `pulumi preview`, and what an operator reads off it.
import { join } from "node:path";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { buildContextHash } from "../../infra/components/resizerImage.js";
import { planCluster, type ClusterPlan } from "../../infra/topology.js";
import { projectRoot } from "../helpers/cli.js";
import { prodWithSuppliedCertificate, stackConfig } from "../helpers/pulumi.js";
import { ignorePatterns, inContext } from "./context.js";
import { derive, stepsByResource, type L4Timing, type Outcome } from "./derive.js";
import type { Goal, StateEntry } from "./engine.js";
import { COMMAND_TYPE, IMAGE, REMOTE_IMAGE } from "./provider-facts.js";
import { runShell } from "./shell.js";
import { simulate, type Simulation } from "./simulate.js";

export type Stack = "prod" | "local" | "acme";

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

/**
 * The L4's schedule: interval and timeout from the stack's `vip` config; rise and fall are not
 * configurable yet, so the model takes HAProxy's defaults (rise 2, fall 3; haproxy
 * doc/configuration.txt, `rise`/`fall`), the software VIP this project also targets.
 */
export const ASSUMED_L4 = { rise: 2, fall: 3 } as const;
export function l4Of(config: Record<string, unknown>): L4Timing {
  const spec = parseClusterSpec(fromStackConfig(config));
  const hc = spec.vip?.healthCheck ?? { intervalSeconds: 5, timeoutSeconds: 3 };
  return { intervalSeconds: hc.intervalSeconds, timeoutSeconds: hc.timeoutSeconds, ...ASSUMED_L4 };
}

/** The resizer image's ref as the program computes it from the files of this checkout. */
export const resizerRef = (): string => `image-origin/resizer:${buildContextHash(projectRoot)}`;

/** Check's build.contextDigest stand-in: changes exactly when an edited file is in the context. */
export function contextDigest(edits: string[]): string {
  const patterns = ignorePatterns(projectRoot, join(projectRoot, "resizer/Dockerfile"));
  const touched = edits.filter((f) => inContext(f, patterns));
  return touched.length === 0 ? "context-as-deployed" : `context-with:${touched.sort().join(",")}`;
}

export interface Base {
  stack: Stack;
  config: Record<string, unknown>;
  secretKeys: string[];
  state: StateEntry[];
  /** What every run of this base changes in the program's registrations (guards emulating a fix). */
  patch?: (goal: Goal) => Goal;
}

/** The state an operator has after `pulumi up` of the stack as it is (or as `patch` makes it). */
export async function deployed(stack: Stack, patch?: (goal: Goal) => Goal): Promise<Base> {
  const { config, secretKeys } = stackInputs(stack);
  const run = await simulate({ config, secretKeys, state: [], contextDigest: contextDigest([]), ...(patch && { patch }) });
  if (run.error) throw new Error(`${stack}: ${run.error}`);
  return { stack, config, secretKeys, state: run.state, ...(patch && { patch }) };
}

export interface Change {
  /** The changed stack config (the base config is not mutated). */
  config?: (config: Record<string, unknown>) => Record<string, unknown>;
  /** Files the change edits (stack files, sources): decides whether the resizer image rebuilds. */
  edits?: string[];
  /** Program-side text the change alters (e.g. the resizer's content hash). */
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
    config,
    secretKeys: base.secretKeys,
    state: base.state,
    contextDigest: contextDigest(change.edits ?? []),
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
 * Image deliveries this `up` runs, replayed on an operator machine that has only what this
 * `up` itself pulls (RemoteImage created or replaced) or builds (Image created or updated),
 * against hosts that have what was delivered before. The failures, as "<command>: <error>".
 */
export function freshMachineDeliveries(up: Simulation, old: StateEntry[]): string[] {
  const steps = stepsByResource(up.steps);
  const ran = (urn: string) => ["create", "replace", "update"].includes(steps.get(urn)?.kind ?? "same");
  const local = [
    ...up.goals.filter((g) => g.type === REMOTE_IMAGE && ran(g.urn)).map((g) => String(g.inputs.name)),
    ...up.goals.filter((g) => g.type === IMAGE && ran(g.urn)).map((g) => String(g.inputs.imageName)),
  ];
  const failures: string[] = [];
  for (const g of up.goals) {
    const create = g.inputs.create;
    if (g.type !== COMMAND_TYPE || typeof create !== "string" || !create.includes("docker save") || !ran(g.urn)) continue;
    const before = old.find((s) => s.urn === g.urn);
    const host = Array.isArray(before?.inputs.triggers) ? (before.inputs.triggers as unknown[]).map(String) : [];
    const run = runShell(create, { local, host });
    if (run.status !== 0) failures.push(`${g.name}: ${run.stderr.trim().split("\n")[0]}`);
  }
  return failures.sort();
}
