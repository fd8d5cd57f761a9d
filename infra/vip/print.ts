// The only code that produces HAProxy and keepalived configuration text. Pure.
//
// Layout, as infra/nginx's printer: four spaces per level; a blank line around every
// section and block and before every commented line, none elsewhere, so a diff of two
// renders shows only what changed. Words are never quoted: the AST refuses any word that
// would need it (ast.ts), and both printers check every word again.
import { VipAstError, checkComment, checkWord, type Config, type Node } from "./ast.js";

const INDENT = "    ";

function commentText(lines: readonly string[], indent: string): string[] {
  checkComment(lines);
  return lines.map((l) => (l === "" ? `${indent}#` : `${indent}# ${l}`));
}

const standsApart = (n: Node) => n.type === "block" || n.type === "section" || n.type === "comment";

function printBody(body: readonly Node[], depth: number, out: string[], allow: (n: Node) => void): void {
  let prev: Node | undefined;
  for (const node of body) {
    allow(node);
    const commented = node.type !== "comment" && node.comment !== undefined;
    if (prev !== undefined && (standsApart(prev) || standsApart(node) || commented)) out.push("");
    const indent = INDENT.repeat(depth);
    switch (node.type) {
      case "comment":
        out.push(...commentText(node.lines, indent));
        break;
      case "line":
        if (node.comment) out.push(...commentText(node.comment, indent));
        out.push(`${indent}${node.words.map(checkWord).join(" ")}`);
        break;
      case "section":
        if (node.comment) out.push(...commentText(node.comment, indent));
        out.push(`${indent}${node.head.map(checkWord).join(" ")}`);
        printBody(node.body, depth + 1, out, (n) => {
          if (n.type !== "line") throw new VipAstError("a HAProxy section holds lines only");
        });
        break;
      case "block":
        if (node.comment) out.push(...commentText(node.comment, indent));
        out.push(`${indent}${node.head.map(checkWord).join(" ")} {`);
        printBody(node.body, depth + 1, out, allow);
        out.push(`${indent}}`);
        break;
      default:
        throw new VipAstError(`unknown node type ${JSON.stringify((node as { type: unknown }).type)}`);
    }
    prev = node;
  }
}

/** A HAProxy configuration: comments and sections at the top, lines inside sections. */
export function printHaproxy(config: Config): string {
  const out: string[] = [];
  printBody(config.body, 0, out, (n) => {
    if (n.type === "block") throw new VipAstError("HAProxy has no braced blocks: use sections");
    if (n.type === "line") throw new VipAstError("a HAProxy line belongs in a section");
  });
  return `${out.join("\n")}\n`;
}

/** A keepalived configuration: lines and nested blocks. */
export function printKeepalived(config: Config): string {
  const out: string[] = [];
  const allow = (n: Node) => {
    if (n.type === "section") throw new VipAstError("keepalived has no sections: use blocks");
  };
  printBody(config.body, 0, out, allow);
  return `${out.join("\n")}\n`;
}

