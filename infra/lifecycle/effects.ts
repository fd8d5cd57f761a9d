// What an operator reads off the model's steps for one `up`: which long-running containers
// restart (are replaced), start or stop for good, which nginx instances only reload, and
// the summary line `pulumi preview` prints. Pure.
import type { Goal, StateEntry, Step, StepKind } from "./engine.js";
import { COMMAND_TYPE, CONTAINER } from "./facts.js";

/** One step per resource, as the summary counts it. */
export function stepsByResource(steps: Step[]): Map<string, Step> {
  const out = new Map<string, Step>();
  for (const s of steps) {
    const prev = out.get(s.urn);
    // A cascade deletion followed by the re-creation is one replacement.
    if (prev === undefined || prev.kind === "same" || (prev.phase === "cascade" && s.kind === "replace")) out.set(s.urn, s);
  }
  return out;
}

/** The counts `pulumi preview` prints under its resource list. */
export function previewSummary(steps: Step[]): string {
  const counts: Record<StepKind, number> = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
  for (const s of stepsByResource(steps).values()) counts[s.kind]++;
  const parts = [
    counts.create && `+ ${counts.create} to create`,
    counts.update && `~ ${counts.update} to update`,
    counts.replace && `+- ${counts.replace} to replace`,
    counts.delete && `- ${counts.delete} to delete`,
    `${counts.same} unchanged`,
  ].filter(Boolean);
  return parts.join(", ");
}

/** A container that keeps running (not a one-shot that exits after its work). */
const isLongRunning = (r: { type: string; inputs: Record<string, unknown> }) => r.type === CONTAINER && r.inputs.attach !== true;

/** The suffix of the command that reloads an nginx instance in place (nginxInstance.ts). */
export const RELOAD_SUFFIX = "-reload";

export interface ContainerEffect {
  container: string;
  /** The inputs whose change causes it (a restart), or the command that reloads (a reload). */
  why: string[];
}

export interface ContainerEffects {
  /** Replaced: stopped, then started again as a new container. */
  restarts: ContainerEffect[];
  /** Created by this `up`. */
  started: ContainerEffect[];
  /** Deleted for good. */
  stopped: ContainerEffect[];
  /** nginx instances that reload their files in place (their container stays). */
  reloads: ContainerEffect[];
}

/**
 * Effects on long-running containers of an `up` whose steps are `steps`, `goals` what the
 * program registered and `old` the state before. A reload of a container this `up` creates
 * or replaces is part of its start, not a reload.
 */
export function containerEffects(steps: Step[], goals: Goal[], old: StateEntry[]): ContainerEffects {
  const byUrn = new Map<string, Goal | StateEntry>([...old, ...goals].map((r) => [r.urn, r] as const));
  const final = stepsByResource(steps);
  const effects: ContainerEffects = { restarts: [], started: [], stopped: [], reloads: [] };
  const nameOf = (r: Goal | StateEntry) => String(r.inputs.name ?? r.name);
  for (const s of final.values()) {
    const r = byUrn.get(s.urn);
    if (r === undefined || !isLongRunning(r)) continue;
    if (s.kind === "replace") effects.restarts.push({ container: nameOf(r), why: s.keys });
    if (s.kind === "create") effects.started.push({ container: nameOf(r), why: [] });
    if (s.kind === "delete") effects.stopped.push({ container: nameOf(r), why: [] });
  }
  const containers = new Map(goals.filter((g) => g.custom && g.type === CONTAINER).map((g) => [nameOf(g), g]));
  for (const g of goals) {
    if (g.type !== COMMAND_TYPE || !g.name.endsWith(RELOAD_SUFFIX)) continue;
    const kind = final.get(g.urn)?.kind ?? "same";
    if (!["create", "replace", "update"].includes(kind)) continue;
    const instance = containers.get(g.name.slice(0, -RELOAD_SUFFIX.length));
    const containerKind = instance === undefined ? undefined : (final.get(instance.urn)?.kind ?? "same");
    if (instance !== undefined && (containerKind === "same" || containerKind === "update")) effects.reloads.push({ container: nameOf(instance), why: [g.name] });
  }
  const byName = (a: ContainerEffect, b: ContainerEffect) => a.container.localeCompare(b.container);
  for (const list of Object.values(effects)) list.sort(byName);
  return effects;
}
