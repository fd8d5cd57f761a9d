// The rendered-config diff of `npm run diff`: two render outputs per stack (base and working
// tree) -> unified-diff hunks per file, a hunk that is the same on several hosts kept once
// and labelled with those hosts, and a summary (hosts touched, files changed, restarts and
// reloads). Pure: text in, a report out; the command does the git and the rendering.
import { structuredPatch } from "diff";
import { renderedFilesEstimate, type Effect, type EffectClassifier, type Tree } from "./effects.js";
import { withPlaceholders } from "./hosts.js";

export type { Effect, EffectClassifier, Tree } from "./effects.js";
export { LIFECYCLE_SOURCE, estimateBecause, lifecycleClassifier } from "./effects.js";

/** Lines of context around each change, as `diff -u`. */
export const CONTEXT_LINES = 3;

/** plan.json is diffed as its cluster part plus one entry per host, so per-host changes fold. */
export const PLAN_FILE = "plan.json";
export const PLAN_HOST_FILE = "plan.json hosts[]";

export interface StackInput {
  stack: string;
  /** Render output at the base; absent when the stack did not exist there. */
  base?: Tree;
  /** Render output of the working tree; absent when the stack was deleted. */
  head?: Tree;
}

export type FileStatus = "added" | "removed" | "modified";

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Lines with their ` `, `-`, `+` (or `\`) prefix, as in a unified diff. */
  lines: string[];
}

/** One hunk as shown: once for every host where it is the same. */
export interface FoldedHunk {
  /** Hosts with exactly this hunk, in the stack's order (empty: a cluster-wide file). */
  hosts: string[];
  status: FileStatus;
  hunk: Hunk;
  /**
   * True when the hosts' texts differed only by their own name or address, shown as
   * `{host}` / `{address}`.
   */
  placeholders: boolean;
}

/** Every change to one file name, across hosts. */
export interface Section {
  /** `plan.json`, `plan.json hosts[]`, `master.conf`, `acme/init.sh`, ... */
  file: string;
  /** Per-host files live in each host's directory; cluster files once per stack. */
  perHost: boolean;
  hunks: FoldedHunk[];
}

export interface ChangedFile {
  /** Path in the render output. */
  path: string;
  status: FileStatus;
  added: number;
  removed: number;
}

export interface StackReport {
  stack: string;
  status: "unchanged" | "changed" | "added" | "removed";
  /** The stack's hosts, working tree first then hosts only the base had. */
  hostOrder: string[];
  hostsTouched: string[];
  hostsAdded: string[];
  hostsRemoved: string[];
  files: ChangedFile[];
  sections: Section[];
  effects: Effect[];
  effectsSource: string;
}

export interface DiffReport {
  stacks: StackReport[];
  changed: boolean;
}

interface HostInfo {
  name: string;
  address?: string;
}

/** A diffable piece of a render output: a whole file, or a part of plan.json. */
interface Unit {
  file: string;
  host?: string;
  /** The render output file it belongs to (for the file count). */
  path: string;
  content: string;
}

function hostsOf(tree: Tree | undefined): HostInfo[] {
  const text = tree?.get(PLAN_FILE);
  if (text === undefined) return [];
  try {
    const plan = JSON.parse(text) as { hosts?: { name: string; address?: string }[] };
    return (plan.hosts ?? []).map((h) => ({ name: h.name, ...(h.address !== undefined && { address: h.address }) }));
  } catch {
    return [];
  }
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Splits a render output into units; `hostNames` are the host directories of either side. */
function unitsOf(tree: Tree | undefined, hostNames: ReadonlySet<string>): Map<string, Unit> {
  const units = new Map<string, Unit>();
  const put = (u: Unit) => units.set(`${u.host ?? ""}\0${u.file}`, u);
  for (const [path, content] of tree ?? []) {
    if (path === PLAN_FILE) {
      let plan: { hosts?: { name: string }[] } | undefined;
      try {
        plan = JSON.parse(content) as { hosts?: { name: string }[] };
      } catch {
        plan = undefined;
      }
      if (plan === undefined || !Array.isArray(plan.hosts)) {
        put({ file: PLAN_FILE, path, content });
        continue;
      }
      put({ file: PLAN_FILE, path, content: json({ ...plan, hosts: plan.hosts.map((h) => h.name) }) });
      for (const h of plan.hosts) put({ file: PLAN_HOST_FILE, host: h.name, path, content: json(h) });
      continue;
    }
    const slash = path.indexOf("/");
    const first = slash > 0 ? path.slice(0, slash) : undefined;
    if (first !== undefined && hostNames.has(first)) put({ file: path.slice(slash + 1), host: first, path, content });
    else put({ file: path, path, content });
  }
  return units;
}

function hunksOf(before: string, after: string): Hunk[] {
  const patch = structuredPatch("a", "b", before, after, undefined, undefined, { context: CONTEXT_LINES });
  return patch.hunks.map((h) => ({ oldStart: h.oldStart, oldLines: h.oldLines, newStart: h.newStart, newLines: h.newLines, lines: h.lines }));
}

const count = (hunks: Hunk[], sign: "+" | "-") => hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith(sign)).length, 0);

/** Diffs one stack's two render outputs. */
export function diffStack(input: StackInput, classifier: EffectClassifier = renderedFilesEstimate): StackReport {
  const baseHosts = hostsOf(input.base);
  const headHosts = hostsOf(input.head);
  const hostOrder = [...headHosts.map((h) => h.name), ...baseHosts.map((h) => h.name).filter((n) => !headHosts.some((h) => h.name === n))];
  const info = new Map([...baseHosts, ...headHosts].map((h) => [h.name, h]));
  const names = new Set(hostOrder);
  const before = unitsOf(input.base, names);
  const after = unitsOf(input.head, names);

  // Unit changes, in the working tree's file order, then what only the base had.
  const keys = [...after.keys(), ...[...before.keys()].filter((k) => !after.has(k))];
  const changes: { unit: Unit; status: FileStatus; hunks: Hunk[] }[] = [];
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    if (a?.content === b?.content) continue;
    const status: FileStatus = a === undefined ? "added" : b === undefined ? "removed" : "modified";
    changes.push({ unit: (b ?? a)!, status, hunks: hunksOf(a?.content ?? "", b?.content ?? "") });
  }

  // Files changed, by their path in the render output (plan.json once).
  const files = new Map<string, ChangedFile>();
  const inTree = (tree: Tree | undefined, path: string) => tree?.has(path) ?? false;
  for (const c of changes) {
    const f = files.get(c.unit.path) ?? {
      path: c.unit.path,
      status: !inTree(input.base, c.unit.path) ? "added" : !inTree(input.head, c.unit.path) ? "removed" : "modified",
      added: 0,
      removed: 0,
    };
    f.added += count(c.hunks, "+");
    f.removed += count(c.hunks, "-");
    files.set(c.unit.path, f);
  }

  // Sections: per file name, hunks that read the same on several hosts folded into one
  // (compared with each host's own name and address set aside).
  const hostIndex = (h: string | undefined) => (h === undefined ? -1 : hostOrder.indexOf(h));
  const folds = new Map<string, Map<string, FoldedHunk & { raws: Set<string> }>>();
  for (const c of changes) {
    const section = folds.get(c.unit.file) ?? new Map<string, FoldedHunk & { raws: Set<string> }>();
    folds.set(c.unit.file, section);
    const host = c.unit.host;
    for (const hunk of c.hunks) {
      const raw = JSON.stringify(hunk);
      const key = `${c.status}\0${host === undefined ? raw : withPlaceholders(raw, info.get(host) ?? { name: host })}`;
      const fold = section.get(key);
      if (fold === undefined) {
        section.set(key, { hosts: host === undefined ? [] : [host], status: c.status, hunk, placeholders: false, raws: new Set([raw]) });
      } else if (host !== undefined) {
        fold.hosts.push(host);
        fold.raws.add(raw);
      }
    }
  }
  const sections: Section[] = [];
  for (const [file, section] of folds) {
    const hunks = [...section.entries()].map(([key, { raws, ...fold }]): FoldedHunk => {
      if (raws.size === 1) return fold;
      // The hosts differ only by their own name or address: show the placeholder text.
      return { ...fold, placeholders: true, hunk: JSON.parse(key.slice(key.indexOf("\0") + 1)) as Hunk };
    });
    hunks.sort((x, y) => x.hunk.oldStart - y.hunk.oldStart || x.hunk.newStart - y.hunk.newStart || hostIndex(x.hosts[0]) - hostIndex(y.hosts[0]));
    sections.push({ file, perHost: hunks.some((h) => h.hosts.length > 0), hunks });
  }
  const rank = fileRank([...headPlanHosts(input.head), ...headPlanHosts(input.base)]);
  sections.sort((x, y) => rank(x) - rank(y) || x.file.localeCompare(y.file));

  const hostsTouched = hostOrder.filter((h) => changes.some((c) => c.unit.host === h));
  const status: StackReport["status"] =
    input.base === undefined ? "added" : input.head === undefined ? "removed" : changes.length === 0 ? "unchanged" : "changed";
  const effects = changes.length === 0 ? [] : classifier.classify({ stack: input.stack, ...(input.base && { base: input.base }), ...(input.head && { head: input.head }), changedFiles: [...files.keys()] });
  return {
    stack: input.stack,
    status,
    hostOrder,
    hostsTouched,
    hostsAdded: headHosts.map((h) => h.name).filter((n) => !baseHosts.some((h) => h.name === n)),
    hostsRemoved: baseHosts.map((h) => h.name).filter((n) => !headHosts.some((h) => h.name === n)),
    files: [...files.values()],
    sections,
    effects: effects.sort((a, b) => hostIndex(a.host) - hostIndex(b.host) || a.container.localeCompare(b.container)),
    effectsSource: classifier.source,
  };
}

function headPlanHosts(tree: Tree | undefined): { master?: { file?: string }; slaves?: { file?: string }[] }[] {
  try {
    return (JSON.parse(tree?.get(PLAN_FILE) ?? "{}") as { hosts?: [] }).hosts ?? [];
  } catch {
    return [];
  }
}

/**
 * The order reviewers read: plan.json (cluster, then hosts), the master's config, the
 * slaves' configs in order, the other per-host files, then other cluster files.
 */
function fileRank(hosts: { master?: { file?: string }; slaves?: { file?: string }[] }[]): (s: Section) => number {
  const configs = [...new Set(hosts.flatMap((h) => [h.master?.file, ...(h.slaves ?? []).map((s) => s.file)]).filter((f): f is string => f !== undefined))];
  return (s) => {
    if (s.file === PLAN_FILE) return 0;
    if (s.file === PLAN_HOST_FILE) return 1;
    const config = configs.indexOf(s.file);
    if (config >= 0) return 2 + config / (configs.length + 1);
    return s.perHost ? 3 : 4;
  };
}

/** Diffs every stack; `changed` decides the exit status (0 same, 1 changed). */
export function diffStacks(inputs: StackInput[], classifier?: EffectClassifier | ((stack: string) => EffectClassifier)): DiffReport {
  const stacks = inputs.map((i) => diffStack(i, typeof classifier === "function" ? classifier(i.stack) : classifier));
  return { stacks, changed: stacks.some((s) => s.status !== "unchanged") };
}
