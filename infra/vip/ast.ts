// A small typed AST of the two configs of an L4 host: HAProxy's (sections of keyword lines)
// and keepalived's (keyword lines and `{}` blocks). Renderers build trees of these nodes;
// only print.ts turns them into text. Pure: no I/O.
//
// Every word is checked where it is made: neither config has an escape that a renderer
// should ever need, so a word that could end a token, start a comment, open a quoted
// string or name a variable (whitespace, `#`, `!`, quotes, backslash, `$`, control
// characters) is refused instead of quoted. No value of the stack config can add a
// keyword or an argument to either file. `{`, `}` are words of their own (HAProxy's
// anonymous ACLs, keepalived's blocks), never parts of one.

export class VipAstError extends Error {
  override name = "VipAstError";
}

/** One token of a line. */
export interface Word {
  readonly kind: "word";
  readonly value: string;
}

/** `keyword arg ...` */
export interface Line {
  readonly type: "line";
  readonly words: readonly Word[];
  readonly comment?: readonly string[];
}

/** keepalived: `name arg ... { body }` (nested). */
export interface Block {
  readonly type: "block";
  readonly head: readonly Word[];
  readonly body: readonly Node[];
  readonly comment?: readonly string[];
}

/** HAProxy: `global`, `defaults`, `frontend <name>`, `backend <name>` and their lines (top level only). */
export interface Section {
  readonly type: "section";
  readonly head: readonly Word[];
  readonly body: readonly Line[];
  readonly comment?: readonly string[];
}

/** A comment on its own (a file header). */
export interface Comment {
  readonly type: "comment";
  readonly lines: readonly string[];
}

export type Node = Line | Block | Section | Comment;

export interface Config {
  readonly body: readonly Node[];
}

const FORBIDDEN = /[\s#!"'\\$\u0000-\u001f\u007f]/;

function describe(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** A token; numbers are written as they are. Refuses what could break out of it (see above). */
export function word(value: string | number): Word {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new VipAstError(`word ${value} is not a finite number`);
    return { kind: "word", value: String(value) };
  }
  if (value === "") throw new VipAstError("empty word: neither config can write one without quotes");
  const bad = FORBIDDEN.exec(value);
  if (bad) throw new VipAstError(`word ${describe(value)} contains ${JSON.stringify(bad[0])}: it cannot be written as one token`);
  if (/[{}]/.test(value) && value.length > 1) {
    throw new VipAstError(`word ${describe(value)}: braces are words of their own`);
  }
  return { kind: "word", value };
}

/** Re-checks a word whatever built it (the printers call this, so a hand-built node cannot print unsafe text). */
export function checkWord(w: Word): string {
  if (w.kind !== "word") throw new VipAstError(`unknown token kind ${JSON.stringify((w as { kind: unknown }).kind)}`);
  return word(w.value).value;
}

export function checkComment(lines: readonly string[]): void {
  for (const line of lines) {
    if (/[\u0000-\u001f\u007f]/.test(line)) throw new VipAstError(`comment ${describe(line)} contains a control character`);
  }
}

type WordLike = Word | string | number;
const toWord = (w: WordLike): Word => (typeof w === "object" ? w : word(w));

function commentLines(text: string | undefined): readonly string[] | undefined {
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  checkComment(lines);
  return lines;
}

function compact<T>(body: readonly (T | false | undefined)[]): T[] {
  return body.filter((n): n is T => n !== false && n !== undefined);
}

/** A keyword line; plain strings and numbers are words. */
export function line(...words: WordLike[]): Line {
  if (words.length === 0) throw new VipAstError("a line needs a keyword");
  return { type: "line", words: words.map(toWord) };
}

export function block(head: readonly WordLike[], body: readonly (Node | false | undefined)[]): Block {
  if (head.length === 0) throw new VipAstError("a block needs a name");
  return { type: "block", head: head.map(toWord), body: compact(body) };
}

export function section(head: readonly WordLike[], body: readonly (Line | false | undefined)[]): Section {
  if (head.length === 0) throw new VipAstError("a section needs a keyword");
  return { type: "section", head: head.map(toWord), body: compact(body) };
}

export function comment(text: string): Comment {
  return { type: "comment", lines: commentLines(text) ?? [] };
}

/** The same node with a comment above it saying why. */
export function why<T extends Line | Block | Section>(text: string, node: T): T {
  return { ...node, comment: commentLines(text) };
}

export function config(body: readonly (Node | false | undefined)[]): Config {
  return { body: compact(body) };
}
