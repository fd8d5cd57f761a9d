// The master's config with one HIT-path setting taken out, for
// the benchmark's per-setting rows: the same AST the renderer built, edited node by node
// and printed by the same printer, so a variant differs from the real config in exactly
// that setting. Pure.
import type { Config, Directive, Node } from "../../infra/nginx/ast.js";

/** Every directive, in blocks and sections too, passed through `edit` (undefined drops it). */
export function editDirectives(cfg: Config, edit: (d: Directive) => Directive | undefined): Config {
  const walk = (nodes: readonly Node[]): Node[] =>
    nodes.flatMap((n): Node[] => {
      if (n.type === "directive") {
        const out = edit(n);
        return out === undefined ? [] : [out];
      }
      if (n.type === "block" || n.type === "section") return [{ ...n, body: walk(n.body) }];
      return [n];
    });
  return { body: walk(cfg.body) };
}

const drop = (match: (d: Directive) => boolean) => (cfg: Config) => editDirectives(cfg, (x) => (match(x) ? undefined : x));
const firstArg = (x: Directive) => x.args[0]?.value;

export interface HitVariant {
  /** Row id suffix and label. */
  id: string;
  label: string;
  /** What the variant changes, for the report. */
  what: string;
  apply(cfg: Config): Config;
}

/** One row per setting of the HIT path: the master as rendered, less that setting. */
export const HIT_VARIANTS: readonly HitVariant[] = [
  {
    id: "unbuffered-log",
    label: "master, cache HIT, access log unbuffered",
    what: "`access_log` without `buffer=`/`flush=`: one write per request",
    apply: (cfg) => editDirectives(cfg, (x) => (x.name === "access_log" ? { ...x, args: x.args.filter((a) => !/^(buffer|flush)=/.test(a.value)) } : x)),
  },
  {
    id: "no-open-file-cache",
    label: "master, cache HIT, no open_file_cache",
    what: "without `open_file_cache`: every HIT opens, fstat-s and closes its cache file",
    apply: drop((x) => x.name === "open_file_cache"),
  },
  {
    id: "no-status-header",
    label: "master, cache HIT, no X-Cache-Status",
    what: "without `add_header X-Cache-Status $upstream_cache_status always`",
    apply: drop((x) => x.name === "add_header" && firstArg(x) === "X-Cache-Status"),
  },
  {
    id: "request-id-replayed",
    label: "master, cache HIT, X-Request-Id replayed",
    what: "without `proxy_hide_header X-Request-Id`: the cached id goes out with every HIT (one header more)",
    apply: drop((x) => x.name === "proxy_hide_header" && firstArg(x) === "X-Request-Id"),
  },
  {
    id: "no-pcre-jit",
    label: "master, cache HIT, no pcre_jit",
    what: "without `pcre_jit on`: the Accept and key maps' regular expressions interpreted on every request",
    apply: drop((x) => x.name === "pcre_jit"),
  },
];
