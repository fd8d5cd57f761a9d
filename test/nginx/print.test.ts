// The AST constructors and the printer: what can be written, how it is quoted, how it is
// laid out. Round trips go through test/helpers/nginx-conf.ts, a reader written from
// nginx's tokenizer independently of the printer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { block, comment, config, d, entry, expr, lit, NginxAstError, regex, section, why, wrapped, type Arg } from "../../infra/nginx/ast.js";
import { formatArg, print } from "../../infra/nginx/print.js";
import { HOSTILE } from "../helpers/hostile.js";
import { parseConf } from "../helpers/nginx-conf.js";

/** Print `x <arg>;` and read it back the way nginx would. */
function roundTrip(arg: Arg): string {
  const text = print(config([d("x", arg, "end")]));
  const [stmt, ...rest] = parseConf(text);
  assert.equal(rest.length, 0, `one statement expected from ${JSON.stringify(text)}`);
  assert.equal(stmt!.name, "x");
  assert.equal(stmt!.args.length, 2, `the argument must stay one word: ${JSON.stringify(text)}`);
  assert.equal(stmt!.args[1], "end");
  return stmt!.args[0]!;
}


describe("quoting", () => {
  it("leaves plain words bare", () => {
    for (const v of ["on", "8080", "/images", "image-origin.tving.com", "*.tving.com", "=404", "^~", "~", "1:2", "text/css", "levels=1:2"]) {
      assert.equal(formatArg(lit(v)), v);
    }
    assert.equal(formatArg(expr("$host$request_uri")), "$host$request_uri");
    assert.equal(formatArg(regex("^/thumbnail/")), "^/thumbnail/");
  });

  it("quotes what nginx would split, end or comment out", () => {
    assert.equal(formatArg(lit("")), '""');
    assert.equal(formatArg(lit("a b")), '"a b"');
    assert.equal(formatArg(lit("a;b")), '"a;b"');
    assert.equal(formatArg(lit("a{b")), '"a{b"');
    assert.equal(formatArg(lit("a}b")), '"a}b"');
    assert.equal(formatArg(lit("#x")), '"#x"');
  });

  it("picks the quote that needs no escaping, and escapes when both appear", () => {
    assert.equal(formatArg(lit('say "hi"')), `'say "hi"'`);
    assert.equal(formatArg(lit("it's")), `"it's"`);
    assert.equal(formatArg(lit(`a"b'c`)), `"a\\"b'c"`);
  });

  it("keeps regex backslashes readable and doubles only those nginx would eat", () => {
    assert.equal(formatArg(regex("\\.php$")), '"\\.php$"');
    assert.equal(roundTrip(regex("\\.php$")), "\\.php$");
    assert.equal(formatArg(lit("a\\nb")), '"a\\\\nb"');
    assert.equal(formatArg(lit("end\\")), '"end\\\\"');
  });

  it("reads back every hostile value as exactly one word, unchanged", () => {
    for (const v of HOSTILE) {
      assert.equal(roundTrip(lit(v)), v, `literal ${JSON.stringify(v)}`);
      if (v !== "") assert.equal(roundTrip(regex(v)), v, `regex ${JSON.stringify(v)}`);
    }
  });

  it("reads back expressions with variables unchanged", () => {
    for (const v of ['$remote_addr - "$request" $status', "${host}x", "'$http_user_agent'", "$request_uri;$x", "$1"]) {
      assert.equal(roundTrip(expr(v)), v);
    }
  });
});

describe("what cannot be written", () => {
  it("refuses '$' in a literal: nginx has no escape for it", () => {
    for (const v of ["$host", "a$b", "cost: 5$", "${x}"]) {
      assert.throws(() => lit(v), (e: Error) => e instanceof NginxAstError && /'\$'/.test(e.message), v);
    }
  });

  it("refuses control characters, newlines included, in every kind of argument", () => {
    for (const v of ["a\nb", "a\rb", "a\tb", "\u0000", "x\u001b[31m", "del\u007f", "end\n"]) {
      assert.throws(() => lit(v), /control character/);
      assert.throws(() => expr(v), /control character/);
      assert.throws(() => regex(v), /control character/);
    }
  });

  it("refuses a '$' that starts no variable in an expression", () => {
    for (const v of ["$", "a$", "$-x", "$$host", "${}", "${host", "$ host", "$0"]) {
      assert.throws(() => expr(v), /does not start a variable name/, v);
    }
  });

  it("refuses names that are not directive names", () => {
    for (const n of ["", "Server", "a b", "x;", "{", "proxy-pass", "1x"]) {
      assert.throws(() => d(n), /not an nginx directive name/, n);
      assert.throws(() => block(n, [], []), /not an nginx directive name/, n);
    }
  });

  it("refuses control characters in comments but lets a newline start a new comment line", () => {
    assert.throws(() => comment("a\rb"), /control character/);
    assert.equal(print(config([comment("one\ntwo")])), "# one\n# two\n");
  });

  it("re-checks hand-built nodes that bypassed the constructors", () => {
    const sneaky: Arg = { kind: "literal", value: "x; user root" };
    assert.equal(formatArg(sneaky), '"x; user root"');
    assert.throws(() => formatArg({ kind: "literal", value: "$document_root" }), /'\$'/);
    assert.throws(() => formatArg({ kind: "literal", value: "a\nb" }), /control character/);
    assert.throws(() => print(config([{ type: "directive", name: "x;y", args: [] }])), /directive name/);
  });

  it("refuses numbers that are not finite", () => {
    assert.throws(() => lit(Number.NaN), /finite/);
    assert.throws(() => lit(Number.POSITIVE_INFINITY), /finite/);
  });
});

describe("layout", () => {
  it("nests blocks with four spaces and sets blocks apart by one blank line", () => {
    const text = print(
      config([
        d("worker_processes", "auto"),
        d("pid", "/tmp/nginx.pid"),
        block("events", [], [d("worker_connections", 1024)]),
        block("http", [], [
          d("sendfile", "on"),
          block("server", [], [d("listen", "127.0.0.1:8080"), block("location", ["=", "/x"], [d("return", 204)])]),
          block("server", [], []),
        ]),
      ]),
    );
    assert.equal(
      text,
      [
        "worker_processes auto;",
        "pid /tmp/nginx.pid;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        "    sendfile on;",
        "",
        "    server {",
        "        listen 127.0.0.1:8080;",
        "",
        "        location = /x {",
        "            return 204;",
        "        }",
        "    }",
        "",
        "    server {}",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("puts a comment right above its node, after a blank line", () => {
    const text = print(config([d("a", 1), why("because", d("b", 2)), d("c", 3)]));
    assert.equal(text, "a 1;\n\n# because\nb 2;\nc 3;\n");
  });

  it("prints a section as a commented paragraph at the same indentation", () => {
    const text = print(config([block("http", [], [d("a", 1), section("why these two", [d("b", 2), d("c", 3)]), d("e", 5)])]));
    assert.equal(text, "http {\n    a 1;\n\n    # why these two\n    b 2;\n    c 3;\n\n    e 5;\n}\n");
  });

  it("skips false/undefined children so renderers can write `cond && node`", () => {
    const text = print(config([d("a", 1), false, undefined, d("b", 2)]));
    assert.equal(text, "a 1;\nb 2;\n");
  });

  it("wraps long argument lists one per line when asked", () => {
    const text = print(config([wrapped(d("log_format", "main", expr("$a "), expr('"$b"')), 1)]));
    assert.equal(text, "log_format main\n    \"$a \"\n    '\"$b\"';\n");
    assert.deepEqual(parseConf(text)[0]!.args, ["main", "$a ", '"$b"']);
  });

  it("prints map entries with data keys", () => {
    const text = print(config([block("map", [expr("$http_accept"), expr("$v")], [entry("default", "jpeg"), entry(regex("~*image/avif"), "avif")])]));
    assert.equal(text, "map $http_accept $v {\n    default jpeg;\n    ~*image/avif avif;\n}\n");
  });

  it("is deterministic", () => {
    const build = () => print(config([block("http", [], [d("a", lit("x y")), section("s", [d("b", 1)])])]));
    assert.equal(build(), build());
  });
});
