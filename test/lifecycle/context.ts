// Which repository files are in the resizer image's build context as docker.Image hashes it
// (its Check adds build.contextDigest over every file of the context that the ignore file
// does not exclude: pulumi-docker provider.go hashContext/getIgnorePatterns), so the model
// knows whether an edit rebuilds the image. Docker's ignore rules: patterns relative to the
// context root, `*` within a path segment, `**` across segments, `!` re-includes, the last
// matching pattern wins, and a pattern that matches a directory matches what is under it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function patternRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The ignore file docker.Image uses: `<Dockerfile>.dockerignore`, else `<context>/.dockerignore`. */
export function ignorePatterns(contextRoot: string, dockerfile: string): string[] {
  for (const file of [`${dockerfile}.dockerignore`, join(contextRoot, ".dockerignore")]) {
    if (existsSync(file)) {
      return readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => l.replace(/^\/+/, "").replace(/\/+$/, ""));
    }
  }
  return [];
}

/** Is `path` (relative to the context root) part of the context? */
export function inContext(path: string, patterns: string[]): boolean {
  const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  let excluded = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const re = patternRegex(negate ? raw.slice(1) : raw);
    if (negate ? re.test(path) : prefixes.some((p) => re.test(p))) excluded = !negate;
  }
  return !excluded;
}
