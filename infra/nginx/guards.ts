// What every nginx instance that serves the images tree (master and slaves) refuses,
// whichever location a request would reach: methods other than GET and HEAD, request
// bodies, hidden and backup files, and symlinks inside the tree. Checked at server level,
// before a location is chosen, so a new location cannot forget them. Pure.
import { HIDDEN_PATH } from "../../resizer/src/params.js";
import { MAX_CLIENT_HEADER_BYTES } from "../../resizer/src/settings.js";
import { block, d, entry, expr, regex, section, why, type Node } from "./ast.js";

/** Variables the guards define with `map` (http level) and test in every server. */
export const GUARD_VARIABLES = {
  /** 1 for a path that must not be served (hidden and backup files), else 0. */
  hidden: "hidden_path",
  /** 1 when the request announces a body (Content-Length above 0, or chunked), else 0. */
  body: "request_has_body",
  /** `Allow` for a refused method (empty, so not sent, for GET and HEAD). */
  allow: "allow_methods",
} as const;

const v = (name: string) => `$${name}`;

/** What `large_client_header_buffers` allows: the request line and every header line fit. */
export const HEADER_BUFFERS = { count: 4, bytes: MAX_CLIENT_HEADER_BYTES / 4 } as const;

/**
 * http level: the two maps the server guards read. `served` are URI prefixes that start
 * with a dot but are served on purpose (the master's ACME http-01 webroot).
 */
export function guardMaps(served: readonly string[]): Node[] {
  const prefix = (p: string) => `^${p.replace(/[.\\/]/g, (c) => (c === "/" ? "/" : `\\${c}`))}`;
  return [
    why(
      "Hidden and backup files are never served, whatever location a path reaches: any\n" +
        "segment starting with a dot (.git/, .env, .htaccess) and backup copies (x.jpg~, .bak,\n" +
        "...), the resizer's own rule (resizer/src/params.ts HIDDEN_PATH).",
      block("map", [expr("$uri"), expr(v(GUARD_VARIABLES.hidden))], [
        entry("default", 0),
        ...served.map((p) => entry(regex(`~${prefix(p)}`), 0)),
        entry(regex(`~*${HIDDEN_PATH}`), 1),
      ]),
    ),
    block("map", [expr("$request_method"), expr(v(GUARD_VARIABLES.allow))], [entry("default", "GET, HEAD"), entry("GET", ""), entry("HEAD", "")]),
    why(
      "A GET or HEAD service takes no request body: an announced one is refused before a\n" +
        "byte of it is read, so bodies never fill the temp directory.",
      block("map", [expr("$http_content_length:$http_transfer_encoding"), expr(v(GUARD_VARIABLES.body))], [
        entry("default", 1),
        entry(":", 0),
        entry("0:", 0),
      ]),
    ),
  ];
}

/** http level: request size limits (bodies never reach memory buffers or disk). */
export function requestLimits(): Node {
  return section(
    "Bodies: refused at server level (see the guards); these only bound what a client could\n" +
      "still send before that answer. Headers: the request line and each header line fit one\n" +
      "of the large buffers; the resizers accept at least as much (resizer/src/settings.ts\n" +
      "MAX_CLIENT_HEADER_BYTES), so nothing nginx accepts is refused upstream with 431.",
    [
      d("client_max_body_size", "1k"),
      d("client_body_buffer_size", "1k"),
      d("large_client_header_buffers", HEADER_BUFFERS.count, `${HEADER_BUFFERS.bytes / 1024}k`),
    ],
  );
}

/** server level: the guards, first in every server block. */
export function serverGuards(): Node {
  return section(
    "Refused before any location: methods other than GET and HEAD (405), request bodies\n" +
      "(413), hidden and backup files (404, as if absent). Symlinks inside the tree are not\n" +
      "followed: nginx cannot tell one leading out of the tree (to /etc/passwd, a TLS key)\n" +
      "from one inside it, and an owner check (if_not_owner) passes when one user, often\n" +
      "root, owns both the tree and the files it points at. Only the root itself may be a link.",
    [
      block("if", ["(", expr("$request_method"), "!~", regex("^(GET|HEAD)$"), ")"], [d("return", 405)]),
      // Answers made here take the server's headers; locations that add their own never see a 405.
      d("add_header", "Allow", expr(v(GUARD_VARIABLES.allow)), "always"),
      block("if", ["(", expr(v(GUARD_VARIABLES.body)), ")"], [d("return", 413)]),
      block("if", ["(", expr(v(GUARD_VARIABLES.hidden)), ")"], [d("return", 404)]),
      d("disable_symlinks", "on", expr("from=$document_root")),
    ],
  );
}
