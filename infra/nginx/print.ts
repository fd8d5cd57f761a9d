// The only code that produces nginx configuration text: indentation, blank lines,
// comments and quoting. Pure.
//
// Layout: four spaces per level; one blank line around every block and section and before
// every commented node, none elsewhere, so a diff of two renders shows only what changed.
//
// Quoting follows nginx's own tokenizer (ngx_conf_read_token):
//  - an argument is quoted when it is empty or holds whitespace, ';', '{', '}', '#', a quote
//    or a backslash; double quotes unless the value holds '"' and no "'";
//  - inside or outside quotes nginx turns \" \' \\ \n \r \t into one character and keeps any
//    other backslash; so a backslash is doubled exactly when it precedes one of those
//    characters or ends the value, and the quote character is escaped. `\.` in a regex stays
//    `\.`.
//  - control characters cannot be written at all: the AST refuses them, and the printer
//    re-checks every argument so a hand-built node cannot slip past.
import {
  checkArg,
  checkCommentLines,
  checkDirectiveName,
  type Arg,
  type Config,
  type Node,
} from "./ast.js";

const INDENT = "    ";

/** One argument as nginx must read it back. */
export function formatArg(arg: Arg): string {
  const { value } = checkArg(arg);
  if (value !== "" && !/[\s;{}#"'\\]/.test(value)) return value;
  const quote = value.includes('"') && !value.includes("'") ? "'" : '"';
  const escaped = value.replace(/\\(?=["'\\nrt]|$)/g, "\\\\").split(quote).join(`\\${quote}`);
  return `${quote}${escaped}${quote}`;
}

function commentText(lines: readonly string[], indent: string): string[] {
  checkCommentLines(lines);
  return lines.map((line) => (line === "" ? `${indent}#` : `${indent}# ${line}`));
}

/** Whether a blank line separates `prev` and `next` in the same body. */
function blankBetween(prev: Node, next: Node): boolean {
  const standsApart = (n: Node) => n.type === "block" || n.type === "section" || n.type === "comment";
  if (standsApart(prev) || standsApart(next)) return true;
  return next.comment !== undefined;
}

function printBody(body: readonly Node[], depth: number, out: string[]): void {
  let prev: Node | undefined;
  for (const node of body) {
    if (node.type === "section" && node.body.length === 0 && node.comment === undefined) continue;
    if (prev !== undefined && blankBetween(prev, node)) out.push("");
    printNode(node, depth, out);
    prev = node;
  }
}

function printNode(node: Node, depth: number, out: string[]): void {
  const indent = INDENT.repeat(depth);
  switch (node.type) {
    case "comment":
      out.push(...commentText(node.lines, indent));
      return;
    case "section":
      if (node.comment) out.push(...commentText(node.comment, indent));
      printBody(node.body, depth, out);
      return;
    case "entry":
      if (node.comment) out.push(...commentText(node.comment, indent));
      out.push(`${indent}${[node.key, ...node.args].map(formatArg).join(" ")};`);
      return;
    case "directive": {
      checkDirectiveName(node.name);
      if (node.comment) out.push(...commentText(node.comment, indent));
      const args = node.args.map(formatArg);
      const inline = node.inlineArgs ?? args.length;
      if (inline >= args.length) {
        out.push(`${indent}${[node.name, ...args].join(" ")};`);
      } else {
        out.push(`${indent}${[node.name, ...args.slice(0, inline)].join(" ")}`);
        const rest = args.slice(inline);
        rest.forEach((a, i) => out.push(`${indent}${INDENT}${a}${i === rest.length - 1 ? ";" : ""}`));
      }
      return;
    }
    case "block": {
      checkDirectiveName(node.name);
      if (node.comment) out.push(...commentText(node.comment, indent));
      const head = [node.name, ...node.args.map(formatArg)].join(" ");
      if (node.body.length === 0) {
        out.push(`${indent}${head} {}`);
        return;
      }
      out.push(`${indent}${head} {`);
      printBody(node.body, depth + 1, out);
      out.push(`${indent}}`);
      return;
    }
    default:
      throw new Error(`unknown node type ${JSON.stringify((node as { type: unknown }).type)}`);
  }
}

/** A whole configuration file, ending with a newline. */
export function print(config: Config): string {
  const out: string[] = [];
  printBody(config.body, 0, out);
  return `${out.join("\n")}\n`;
}
