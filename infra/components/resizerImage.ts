// The resizer image, built on the operator's engine from resizer/Dockerfile when a delivery
// needs it (dockerEngine.ts) and tagged by the content of its build inputs, so the tag (and
// every host's container) changes exactly when the code or the lockfile does.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";

const DOCKERFILE = "resizer/Dockerfile";
const SKIP = new Set(["node_modules", "dist"]);

/** The context paths a Dockerfile copies (`COPY src... dest`, not `--from` stage copies). */
export function copySources(dockerfile: string): string[] {
  const sources = new Set<string>();
  for (const line of dockerfile.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "COPY" || words.some((w) => w.startsWith("--from="))) continue;
    for (const src of words.slice(1, -1).filter((w) => !w.startsWith("--"))) sources.add(src.replace(/\/+$/, ""));
  }
  return [...sources].sort();
}

function* files(root: string, path: string): Generator<string> {
  const full = join(root, path);
  if (statSync(full).isDirectory()) {
    for (const entry of readdirSync(full).sort()) if (!SKIP.has(entry)) yield* files(root, join(path, entry));
  } else {
    yield path;
  }
}

/**
 * sha256 over the Dockerfile and exactly what it copies from the context (relative paths
 * and bytes); the first 16 hex digits. A docs-only change makes no new image. `root` is the
 * build context, `dockerfile` a path inside it.
 */
export function buildContextHash(root: string, dockerfile = DOCKERFILE): string {
  const hash = createHash("sha256");
  const inputs = [dockerfile, ...copySources(readFileSync(join(root, dockerfile), "utf8"))];
  for (const input of inputs) {
    for (const file of files(root, input)) {
      hash.update(relative(root, join(root, file))).update("\0").update(readFileSync(join(root, file))).update("\0");
    }
  }
  return hash.digest("hex").slice(0, 16);
}

export const RESIZER_REPOSITORY = "image-origin/resizer";

/** The resizer image's ref: its repository, tagged by the content of its build inputs. */
export function resizerImageRef(root: string): string {
  return `${RESIZER_REPOSITORY}:${buildContextHash(root)}`;
}

/**
 * How the operator's engine builds it: `docker build -f resizer/Dockerfile <repository root>`,
 * relative to the program's directory (`main: infra/` in Pulumi.yaml), where the engine
 * runs every command (remote.ts ImageOrigin): the same text on every operator's machine.
 * .dockerignore limits the context to what the Dockerfile copies (a test keeps them equal).
 */
export const PROGRAM_DIR = "infra";
const ROOT_FROM_PROGRAM_DIR = posix.relative(PROGRAM_DIR, ".");
export const RESIZER_BUILD = { dockerfile: posix.join(ROOT_FROM_PROGRAM_DIR, DOCKERFILE), context: ROOT_FROM_PROGRAM_DIR } as const;
