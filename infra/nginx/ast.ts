// A small typed AST of an nginx configuration. Renderers build trees of these nodes; only
// print.ts turns them into text. Pure: no I/O.
//
// Arguments come in three kinds, because nginx has no escape for `$` inside a string:
//  - literal: plain text (a path, a server name, a number); it can never contain `$`, so no
//    value from the config can smuggle a variable reference into the output;
//  - expression: text with nginx variables (`$host$request_uri`), written by the renderer
//    itself; every `$` must start a well-formed variable name;
//  - regex: a PCRE pattern (location and map keys), where `$` is an anchor.
// Control characters (newlines included) are refused in all three: there is no way to
// write them safely in a config, and no legitimate value needs them.

export type ArgKind = "literal" | "expression" | "regex";

export interface Arg {
  readonly kind: ArgKind;
  readonly value: string;
}

/** `name arg ...;` */
export interface Directive {
  readonly type: "directive";
  readonly name: string;
  readonly args: readonly Arg[];
  /** Comment lines printed above the directive. */
  readonly comment?: readonly string[];
  /** Print only this many arguments on the first line, then one per line (log_format). */
  readonly inlineArgs?: number;
}

/** `name arg ... { body }` */
export interface Block {
  readonly type: "block";
  readonly name: string;
  readonly args: readonly Arg[];
  readonly body: readonly Node[];
  readonly comment?: readonly string[];
}

/** `key value;` inside `map` and `types` blocks, where the first word is data, not a name. */
export interface Entry {
  readonly type: "entry";
  readonly key: Arg;
  readonly args: readonly Arg[];
  readonly comment?: readonly string[];
}

/**
 * A paragraph of related directives with one comment saying why: printed flat at the
 * parent's indentation, set off by blank lines.
 */
export interface Section {
  readonly type: "section";
  readonly body: readonly Node[];
  readonly comment?: readonly string[];
}

/** A comment on its own (a file header). */
export interface Comment {
  readonly type: "comment";
  readonly lines: readonly string[];
}

export type Node = Directive | Block | Entry | Section | Comment;

/** A whole file: the top-level (main context) nodes. */
export interface Config {
  readonly body: readonly Node[];
}

// ---------------------------------------------------------------------------------------
// Validation shared by the constructors

export class NginxAstError extends Error {
  override name = "NginxAstError";
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const NAME = /^[a-z_][a-z0-9_]*$/;
/** `$name`, `${name}` or a regex capture `$1`..`$9`. */
const VARIABLE = /\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\}|[1-9])/y;

function describe(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

function noControl(value: string, what: string): void {
  const m = CONTROL.exec(value);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).padStart(2, "0");
    throw new NginxAstError(`${what} ${describe(value)} contains control character \\x${code}: it cannot be written in an nginx config`);
  }
}

function checkName(name: string, what: string): void {
  if (!NAME.test(name)) throw new NginxAstError(`${what} name ${describe(name)} is not an nginx directive name`);
}

// ---------------------------------------------------------------------------------------
// Arguments

export type ArgLike = Arg | string | number;

/** Plain text. Refuses `$` (nginx would read a variable) and control characters. */
export function lit(value: string | number): Arg {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new NginxAstError(`literal ${value} is not a finite number`);
    return { kind: "literal", value: String(value) };
  }
  noControl(value, "literal");
  if (value.includes("$")) {
    throw new NginxAstError(`literal ${describe(value)} contains '$', which nginx would read as a variable (use expr() for an nginx expression)`);
  }
  return { kind: "literal", value };
}

/** An nginx expression with variables, e.g. `$host$request_uri`. Every `$` must start a variable name. */
export function expr(value: string): Arg {
  noControl(value, "expression");
  for (let i = value.indexOf("$"); i >= 0; i = value.indexOf("$", i + 1)) {
    VARIABLE.lastIndex = i;
    if (!VARIABLE.test(value)) {
      throw new NginxAstError(`expression ${describe(value)}: '$' at ${i} does not start a variable name`);
    }
  }
  return { kind: "expression", value };
}

/** A PCRE pattern (location `~`, map keys); `$` is an anchor here. */
export function regex(value: string): Arg {
  noControl(value, "regex");
  if (value === "") throw new NginxAstError("empty regex");
  return { kind: "regex", value };
}

/**
 * Re-checks an argument whatever built it (the printer calls this too, so an object
 * literal that bypassed the constructors cannot print unsafe text).
 */
export function checkArg(arg: Arg): Arg {
  switch (arg.kind) {
    case "literal":
      return lit(arg.value);
    case "expression":
      return expr(arg.value);
    case "regex":
      return regex(arg.value);
    default:
      throw new NginxAstError(`unknown argument kind ${JSON.stringify((arg as { kind: unknown }).kind)}`);
  }
}

/** Re-checks a directive or block name. */
export function checkDirectiveName(name: string): void {
  checkName(name, "directive");
}

/** Re-checks comment lines. */
export function checkCommentLines(lines: readonly string[]): void {
  for (const line of lines) noControl(line, "comment");
}

function toArg(a: ArgLike): Arg {
  return typeof a === "object" ? a : lit(a);
}

// ---------------------------------------------------------------------------------------
// Nodes

function commentLines(text: string | undefined): readonly string[] | undefined {
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  for (const line of lines) noControl(line, "comment");
  return lines;
}

/** A directive; plain strings and numbers are literals. */
export function d(name: string, ...args: ArgLike[]): Directive {
  checkName(name, "directive");
  return { type: "directive", name, args: args.map(toArg) };
}

/** A block with arguments (`location = /x { ... }`, `upstream name { ... }`). */
export function block(name: string, args: readonly ArgLike[], body: readonly (Node | false | undefined)[]): Block {
  checkName(name, "block");
  return { type: "block", name, args: args.map(toArg), body: compact(body) };
}

/** `key value;` in a map or types block. */
export function entry(key: ArgLike, ...args: ArgLike[]): Entry {
  return { type: "entry", key: toArg(key), args: args.map(toArg) };
}

/** Related directives under one comment (the comment is optional). */
export function section(comment: string | undefined, body: readonly (Node | false | undefined)[]): Section {
  const lines = commentLines(comment);
  return { type: "section", body: compact(body), ...(lines && { comment: lines }) };
}

export function comment(text: string): Comment {
  return { type: "comment", lines: commentLines(text) ?? [] };
}

/** The same node with a comment above it saying why. */
export function why<T extends Directive | Block | Entry>(text: string, node: T): T {
  return { ...node, comment: commentLines(text) };
}

/** The same directive printed with its first `n` arguments inline and the rest one per line. */
export function wrapped(node: Directive, inlineArgs: number): Directive {
  return { ...node, inlineArgs };
}

export function config(body: readonly (Node | false | undefined)[]): Config {
  return { body: compact(body) };
}

/** Lets renderers write `cond && node` in a body. */
function compact(body: readonly (Node | false | undefined)[]): Node[] {
  return body.filter((n): n is Node => n !== false && n !== undefined);
}
