// Which files of a build context the Docker CLI sends, by the rules of `.dockerignore` as the
// legacy builder applies them (moby/patternmatcher patternmatcher.go MatchesOrParentMatches,
// which docker's archive.TarWithOptions calls for every file): patterns in order, each
// relative to the context root; `*` and `?` stay within a path segment, `**` spans segments;
// a pattern matches a file or any of its parent directories; `!` marks an exception that
// takes a matched file back in; the last pattern that applies wins.
import { readFileSync } from "node:fs";

function patternRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") i++;
      re += i + 1 >= pattern.length ? ".*" : "(.*/)?";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** A `.dockerignore` file's patterns, cleaned as the CLI reads them (comments and blank lines dropped). */
export function readIgnoreFile(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => (l.startsWith("!") ? `!${l.slice(1).trim().replace(/^\/+/, "").replace(/\/+$/, "")}` : l.replace(/^\/+/, "").replace(/\/+$/, "")));
}

/** Whether the CLI sends `path` (relative to the context root, a file) with these patterns. */
export function sentInContext(path: string, patterns: readonly string[]): boolean {
  const parts = path.split("/");
  const parents = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
  let excluded = false;
  for (const raw of patterns) {
    const exception = raw.startsWith("!");
    // Only an exception can take an excluded file back, only an exclusion can drop one.
    if (exception !== excluded) continue;
    const re = patternRegex(exception ? raw.slice(1) : raw);
    if (re.test(path) || parents.some((p) => re.test(p))) excluded = !exception;
  }
  return !excluded;
}
