// A reader of nginx configuration text for tests, written from nginx's own tokenizer
// (ngx_conf_read_token in src/core/ngx_conf_file.c) and independent of infra/nginx/print.ts:
// tests assert on what nginx would read from the rendered text, not on the AST that
// produced it, so a printer bug shows up as a failing rule.

export interface Stmt {
  name: string;
  args: string[];
  /** Present for blocks (`http { ... }`), even when empty. */
  block?: Stmt[];
  line: number;
}

export class ConfSyntaxError extends Error {
  override name = "ConfSyntaxError";
}

/** nginx's unescaping of a token: \" \' \\ become the character, \t \r \n control characters. */
function unescape(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\" && i + 1 < raw.length) {
      const n = raw[i + 1]!;
      if (n === '"' || n === "'" || n === "\\") {
        out += n;
        i++;
        continue;
      }
      if (n === "t" || n === "r" || n === "n") {
        out += n === "t" ? "\t" : n === "r" ? "\r" : "\n";
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

interface Token {
  kind: "word" | ";" | "{" | "}";
  value: string;
  line: number;
}

function* tokens(text: string): Generator<Token> {
  let i = 0;
  let line = 1;
  const n = text.length;
  const isSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") line++;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === ";" || c === "{" || c === "}") {
      yield { kind: c, value: c, line };
      i++;
      continue;
    }
    const start = line;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let raw = "";
      for (;;) {
        if (j >= n) throw new ConfSyntaxError(`line ${start}: unterminated ${c}-quoted string`);
        const ch = text[j]!;
        if (ch === "\n") line++;
        if (ch === "\\" && j + 1 < n) {
          raw += ch + text[j + 1]!;
          j += 2;
          continue;
        }
        if (ch === c) break;
        raw += ch;
        j++;
      }
      i = j + 1;
      const after = text[i];
      if (after !== undefined && !isSpace(after) && after !== ";" && after !== "{" && after !== ")") {
        throw new ConfSyntaxError(`line ${line}: unexpected ${JSON.stringify(after)} after a quoted string`);
      }
      yield { kind: "word", value: unescape(raw), line: start };
      continue;
    }
    let raw = "";
    let variable = false;
    while (i < n) {
      const ch = text[i]!;
      if (ch === "\\" && i + 1 < n) {
        raw += ch + text[i + 1]!;
        i += 2;
        variable = false;
        continue;
      }
      if (ch === "{" && variable) {
        raw += ch;
        i++;
        variable = false;
        continue;
      }
      if (isSpace(ch) || ch === ";" || ch === "{") break;
      variable = ch === "$";
      raw += ch;
      i++;
    }
    yield { kind: "word", value: unescape(raw), line: start };
  }
}

/** Parse a whole file into statements; throws ConfSyntaxError where nginx would fail to parse. */
export function parseConf(text: string): Stmt[] {
  const stack: Stmt[][] = [[]];
  let words: { value: string; line: number }[] = [];
  for (const t of tokens(text)) {
    if (t.kind === "word") {
      words.push(t);
      continue;
    }
    if (t.kind === "}") {
      if (words.length > 0) throw new ConfSyntaxError(`line ${t.line}: unexpected "}" after ${words.map((w) => w.value).join(" ")}`);
      if (stack.length === 1) throw new ConfSyntaxError(`line ${t.line}: unexpected "}"`);
      stack.pop();
      continue;
    }
    const [head, ...rest] = words;
    if (head === undefined) throw new ConfSyntaxError(`line ${t.line}: unexpected "${t.kind}"`);
    const stmt: Stmt = { name: head.value, args: rest.map((w) => w.value), line: head.line };
    stack[stack.length - 1]!.push(stmt);
    if (t.kind === "{") {
      stmt.block = [];
      stack.push(stmt.block);
    }
    words = [];
  }
  if (words.length > 0) throw new ConfSyntaxError(`unexpected end of file, expecting ";" or "}"`);
  if (stack.length !== 1) throw new ConfSyntaxError("unexpected end of file, expecting \"}\"");
  return stack[0]!;
}

// ---------------------------------------------------------------------------------------
// Queries

type Scope = Stmt[] | Stmt;
const body = (s: Scope): Stmt[] => (Array.isArray(s) ? s : (s.block ?? []));

/** Statements named `name` directly in `scope` whose arguments start with `args`. */
export function all(scope: Scope, name: string, ...args: string[]): Stmt[] {
  return body(scope).filter((s) => s.name === name && args.every((a, i) => s.args[i] === a));
}

/** Exactly one such statement (fails with what was there otherwise). */
export function one(scope: Scope, name: string, ...args: string[]): Stmt {
  const found = all(scope, name, ...args);
  if (found.length !== 1) {
    const here = body(scope)
      .map((s) => `${s.name} ${s.args.join(" ")}`.trim())
      .join("\n  ");
    throw new Error(`expected one "${[name, ...args].join(" ")}", found ${found.length} among:\n  ${here}`);
  }
  return found[0]!;
}

/**
 * The `server` blocks that serve clients: every one but the private stub_status listener
 * the ops agent asks (infra/nginx/observability.ts).
 */
export function servingServers(http: Scope): Stmt[] {
  return all(http, "server").filter((s) => deep(s, "stub_status").length === 0);
}

/** The only serving `server` (fails with what was there otherwise). */
export function oneServing(http: Scope): Stmt {
  const found = servingServers(http);
  if (found.length !== 1) throw new Error(`expected one serving server, found ${found.length}`);
  return found[0]!;
}

/** The arguments of the only `name` directive in `scope`, or undefined when absent. */
export function argsOf(scope: Scope, name: string): string[] | undefined {
  const found = all(scope, name);
  if (found.length > 1) throw new Error(`"${name}" appears ${found.length} times`);
  return found[0]?.args;
}

/**
 * The value nginx uses for `name` in the innermost scope of `path` (outermost first): the
 * nearest scope that sets it, as for inherited directives such as proxy_set_header (which
 * nginx inherits only when the inner scope sets none of them).
 */
export function effective(path: Scope[], name: string): Stmt[] {
  for (let i = path.length - 1; i >= 0; i--) {
    const found = all(path[i]!, name);
    if (found.length > 0) return found;
  }
  return [];
}

/** Every statement named `name` anywhere below `scope`. */
export function deep(scope: Scope, name: string): Stmt[] {
  const out: Stmt[] = [];
  const walk = (list: Stmt[]) => {
    for (const s of list) {
      if (s.name === name) out.push(s);
      if (s.block) walk(s.block);
    }
  };
  walk(body(scope));
  return out;
}

// ---------------------------------------------------------------------------------------
// nginx semantics the tests evaluate on the parsed text

/** A location's regex (`~` case-sensitive, `~*` not) as a JS RegExp (same syntax for what we use). */
function locationRegex(loc: Stmt): RegExp | undefined {
  const [mod, pattern] = loc.args;
  if ((mod === "~" || mod === "~*") && pattern !== undefined) return new RegExp(pattern, mod === "~*" ? "i" : "");
  return undefined;
}

/**
 * The location nginx picks for `uri` among a server's top-level locations: an exact `=`
 * match; else the longest prefix, which wins outright when it is `^~`; else the first
 * regex (in order) that matches; else that longest prefix.
 */
export function matchLocation(server: Stmt, uri: string): Stmt | undefined {
  const locations = all(server, "location");
  const exact = locations.find((l) => l.args[0] === "=" && l.args[1] === uri);
  if (exact) return exact;
  let best: Stmt | undefined;
  let bestLen = -1;
  for (const l of locations) {
    const [a, b] = l.args;
    const prefix = a === "^~" ? b : a !== "=" && a !== "~" && a !== "~*" && a !== undefined && !a.startsWith("@") ? a : undefined;
    if (prefix !== undefined && uri.startsWith(prefix) && prefix.length > bestLen) {
      best = l;
      bestLen = prefix.length;
    }
  }
  if (best?.args[0] === "^~") return best;
  for (const l of locations) {
    const re = locationRegex(l);
    if (re?.test(uri)) return l;
  }
  return best;
}

/**
 * What a `map $src $dst { ... }` block yields for `input`: exact string keys first (nginx
 * hashes them), then regex keys (`~`, `~*`) in order, then `default` ("" without one).
 * Values naming a variable are returned as written (`$other`).
 */
export function mapValue(map: Stmt, input: string): string {
  const entries = map.block ?? [];
  const exact = entries.find((e) => !e.name.startsWith("~") && e.name !== "default" && e.name === input);
  if (exact) return exact.args[0] ?? "";
  for (const e of entries) {
    if (!e.name.startsWith("~")) continue;
    const insensitive = e.name.startsWith("~*");
    const re = new RegExp(e.name.slice(insensitive ? 2 : 1), insensitive ? "i" : "");
    if (re.test(input)) return e.args[0] ?? "";
  }
  return entries.find((e) => e.name === "default")?.args[0] ?? "";
}
