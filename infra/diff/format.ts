// The diff report as a terminal reads it (unified diff) and as one pull-request comment
// (markdown, cut to fit with what was cut said). Pure.
import { hostLabel, HOST_PLACEHOLDER, ADDRESS_PLACEHOLDER } from "./hosts.js";
import type { DiffReport, Effect, FoldedHunk, Section, StackReport } from "./diff.js";

export interface Sides {
  /** What the base is, e.g. `origin/main (3f2a9c1)`. */
  base: string;
  /** What is compared with it, e.g. `working tree`. */
  head: string;
}

/** GitHub refuses comments over 65,536 characters; stay well below. */
export const COMMENT_BUDGET = 60_000;

/** First line of the markdown: the workflow finds its earlier comment by it and edits it. */
export const COMMENT_MARKER = "<!-- image-origin:rendered-diff -->";

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `master` for `img01-master`: the container's role on its host. */
function roleOf(e: Effect): string {
  return e.host !== undefined && e.container.startsWith(`${e.host}-`) ? e.container.slice(e.host.length + 1) : e.container;
}

/** The order effects are listed in: what interrupts first. */
const EFFECT_ORDER: readonly Effect["kind"][] = ["restart", "reload", "create", "remove"];

interface EffectLine {
  kind: Effect["kind"];
  what: string;
  reason: string;
}

/** Effects grouped as `master on img01–img05`, per kind, role and reason. */
export function effectLines(stack: StackReport): EffectLine[] {
  const groups = new Map<string, { kind: Effect["kind"]; role: string; reason: string; hosts: string[]; bare: boolean }>();
  for (const e of stack.effects) {
    const role = roleOf(e);
    const key = `${e.kind}\0${role}\0${e.reason}`;
    const g = groups.get(key) ?? { kind: e.kind, role, reason: e.reason, hosts: [], bare: e.host === undefined };
    if (e.host !== undefined) g.hosts.push(e.host);
    groups.set(key, g);
  }
  return [...groups.values()]
    .sort((a, b) => EFFECT_ORDER.indexOf(a.kind) - EFFECT_ORDER.indexOf(b.kind))
    .map((g) => ({ kind: g.kind, what: g.bare ? g.role : `${g.role} on ${hostLabel(g.hosts, stack.hostOrder)}`, reason: g.reason }));
}

/** `plan.json; master.conf on img01–img05`: the changed files, per-host ones grouped by name. */
export function fileList(stack: StackReport): string {
  const hostSet = new Set(stack.hostOrder);
  const perName = new Map<string, string[]>();
  const cluster: string[] = [];
  for (const f of stack.files) {
    const slash = f.path.indexOf("/");
    const host = slash > 0 ? f.path.slice(0, slash) : undefined;
    if (host !== undefined && hostSet.has(host)) {
      const name = f.path.slice(slash + 1);
      perName.set(name, [...(perName.get(name) ?? []), host]);
    } else cluster.push(f.path);
  }
  return [...cluster, ...[...perName].map(([name, hosts]) => `${name} on ${hostLabel(hosts, stack.hostOrder)}`)].join("; ");
}

function totals(stack: StackReport): { added: number; removed: number } {
  return stack.files.reduce((t, f) => ({ added: t.added + f.added, removed: t.removed + f.removed }), { added: 0, removed: 0 });
}

/** One sentence per stack: what changed and where. */
export function headline(stack: StackReport): string {
  if (stack.status === "unchanged") return "no change";
  const { added, removed } = totals(stack);
  const parts = [
    stack.status === "added" ? "new stack" : stack.status === "removed" ? "stack removed" : undefined,
    stack.hostOrder.length > 0 ? `${stack.hostsTouched.length} of ${plural(stack.hostOrder.length, "host")} touched${stack.hostsTouched.length > 0 ? ` (${hostLabel(stack.hostsTouched, stack.hostOrder)})` : ""}` : undefined,
    stack.hostsAdded.length > 0 && stack.status !== "added" ? `added ${hostLabel(stack.hostsAdded, stack.hostOrder)}` : undefined,
    stack.hostsRemoved.length > 0 && stack.status !== "removed" ? `removed ${hostLabel(stack.hostsRemoved, stack.hostOrder)}` : undefined,
    `${plural(stack.files.length, "file")} changed (+${added} −${removed} lines)`,
  ];
  return parts.filter((p) => p !== undefined).join(", ");
}

/** Where a hunk applies: `img01–img05`, with the placeholders it uses explained. */
function hunkLabel(fold: FoldedHunk, stack: StackReport): string {
  const where = fold.hosts.length > 0 ? hostLabel(fold.hosts, stack.hostOrder) : "";
  const status = fold.status === "added" ? "new file" : fold.status === "removed" ? "file removed" : "";
  const text = fold.hunk.lines.join("\n");
  const ph = fold.placeholders
    ? [text.includes(HOST_PLACEHOLDER) && `${HOST_PLACEHOLDER} = each host's name`, text.includes(ADDRESS_PLACEHOLDER) && `${ADDRESS_PLACEHOLDER} = its address`].filter(Boolean).join(", ")
    : "";
  return [where, status && `(${status})`, ph && `(${ph})`].filter(Boolean).join(" ");
}

function hunkText(fold: FoldedHunk, stack: StackReport): string {
  const h = fold.hunk;
  const label = hunkLabel(fold, stack);
  // As diff -u: an empty side is numbered from the line before the hunk (`-0,0`).
  const range = (start: number, lines: number) => `${lines === 0 ? start - 1 : start},${lines}`;
  return [`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@${label ? ` ${label}` : ""}`, ...h.lines].join("\n");
}

function sectionTitle(section: Section, stack: StackReport): string {
  return `${stack.stack}/${section.file}`;
}

function sectionCounts(section: Section): string {
  const lines = section.hunks.flatMap((f) => f.hunk.lines);
  return `+${lines.filter((l) => l.startsWith("+")).length} −${lines.filter((l) => l.startsWith("-")).length}`;
}

// ---------------------------------------------------------------------------------------
// Text

export function formatText(report: DiffReport, sides: Sides): string {
  const out: string[] = [`rendered config: ${sides.base} -> ${sides.head}`, ""];
  for (const stack of report.stacks) {
    out.push(`stack ${stack.stack}: ${headline(stack)}`);
    if (stack.status === "unchanged") continue;
    out.push(`  files:   ${fileList(stack)}`);
    const effects = effectLines(stack);
    for (const kind of EFFECT_ORDER) {
      const lines = effects.filter((e) => e.kind === kind);
      if (lines.length === 0 && (kind === "create" || kind === "remove")) continue;
      out.push(`  ${`${kind}:`.padEnd(8)} ${lines.length === 0 ? "none" : lines.map((l) => `${l.what} (${l.reason})`).join("; ")}`);
    }
    out.push(`  note:    restart/reload ${stack.effectsSource}`);
  }
  for (const stack of report.stacks) {
    for (const section of stack.sections) {
      out.push("", `--- ${sectionTitle(section, stack)} (${sides.base})`, `+++ ${sectionTitle(section, stack)} (${sides.head})`);
      for (const fold of section.hunks) out.push(hunkText(fold, stack));
    }
  }
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------
// Markdown (one pull-request comment)

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A fence longer than any run of backticks in the text, so content cannot close it. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** A section larger than this many lines starts collapsed. */
const OPEN_SECTION_LINES = 60;

function summaryMarkdown(report: DiffReport, sides: Sides): string {
  const out: string[] = [COMMENT_MARKER, `### Rendered config: \`${sides.base}\` → ${sides.head}`, ""];
  for (const stack of report.stacks) {
    out.push(`**${stack.stack}**: ${headline(stack)}`, "");
    if (stack.status === "unchanged") continue;
    out.push(`Files: ${fileList(stack)}`, "");
    const effects = effectLines(stack);
    out.push("| effect | containers | why |", "|---|---|---|");
    for (const kind of EFFECT_ORDER) {
      const lines = effects.filter((e) => e.kind === kind);
      if (lines.length === 0 && (kind === "restart" || kind === "reload")) out.push(`| ${kind} | none | |`);
      for (const e of lines) out.push(`| ${e.kind} | ${cell(e.what)} | ${cell(e.reason)} |`);
    }
    out.push("", `<sub>Restart/reload ${cell(stack.effectsSource)}</sub>`, "");
  }
  return out.join("\n");
}

interface Piece {
  stack: StackReport;
  section: Section;
  fold: FoldedHunk;
}

export function formatMarkdown(report: DiffReport, sides: Sides, budget = COMMENT_BUDGET): string {
  const summary = summaryMarkdown(report, sides);
  // Room kept for the note that says what was cut.
  const reserve = 1_500;
  let used = summary.length;
  const blocks: string[] = [];
  const cut: Piece[] = [];
  for (const stack of report.stacks) {
    for (const section of stack.sections) {
      const lines = section.hunks.reduce((n, f) => n + f.hunk.lines.length + 1, 0);
      const open = lines <= OPEN_SECTION_LINES ? " open" : "";
      const head = `<details${open}><summary><code>${sectionTitle(section, stack)}</code> (${sectionCounts(section)})</summary>\n\n`;
      const tail = "\n</details>\n";
      const shown: string[] = [];
      for (const fold of section.hunks) {
        if (cut.length > 0) {
          cut.push({ stack, section, fold });
          continue;
        }
        const text = hunkText(fold, stack);
        const candidate = fenced([...shown, text].join("\n"), "diff");
        if (used + head.length + candidate.length + tail.length + reserve > budget) {
          cut.push({ stack, section, fold });
          continue;
        }
        shown.push(text);
      }
      if (shown.length > 0) {
        const block = `${head}${fenced(shown.join("\n"), "diff")}${tail}`;
        blocks.push(block);
        used += block.length;
      }
    }
  }
  const out = [summary, ...blocks];
  if (cut.length > 0) out.push(cutNote(cut, budget));
  return `${out.join("\n")}\n`;
}

function cutNote(cut: Piece[], budget: number): string {
  const byFile = new Map<string, number>();
  for (const p of cut) {
    const key = sectionTitle(p.section, p.stack);
    byFile.set(key, (byFile.get(key) ?? 0) + 1);
  }
  const lines = cut.reduce((n, p) => n + p.fold.hunk.lines.length, 0);
  const listed = [...byFile].slice(0, 20).map(([file, n]) => `\`${file}\` (${plural(n, "hunk")})`);
  const more = byFile.size > listed.length ? `, and ${byFile.size - listed.length} more files` : "";
  return [
    `> **Cut to fit one comment** (${budget.toLocaleString("en-US")} characters): ${plural(cut.length, "hunk")} (${plural(lines, "line")}) in ${plural(byFile.size, "file")} not shown: ${listed.join(", ")}${more}.`,
    "> The summary above covers everything. The full diff: `npm run diff -- --base <base>` locally, or this run's `rendered-diff` artifact.",
  ].join("\n");
}
