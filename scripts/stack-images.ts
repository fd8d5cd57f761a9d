// Prints the nginx image every stack file pins (one per line, deduplicated), as the
// program itself reads it: the container tests need a local stand-in under that tag.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { specFromStackYaml } from "../infra/stack.js";

const root = join(__dirname, "..");
const refs = new Set<string>();
for (const file of readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))) {
  refs.add(specFromStackYaml(readFileSync(join(root, file), "utf8"), file).images.nginx);
}
process.stdout.write([...refs].sort().map((r) => `${r}\n`).join(""));
