// npm run fixtures:graph [-- <scenario>...]
// Rewrites test/fixtures/graph/<scenario>.json from the current program (see
// test/helpers/graph.ts). Run it only for a deliberate change to what the program
// registers; review the diff of the fixtures like any other change.
import { mkdirSync, writeFileSync } from "node:fs";
import { FIXTURE_DIR, SCENARIOS, fixturePath, fixtureText, runScenario, snapshot } from "../test/helpers/graph.js";

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((s) => !(s in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(", ")} (known: ${Object.keys(SCENARIOS).join(", ")})`);
  mkdirSync(FIXTURE_DIR, { recursive: true });
  for (const scenario of wanted.length > 0 ? wanted : Object.keys(SCENARIOS)) {
    const graph = snapshot(await runScenario(scenario));
    writeFileSync(fixturePath(scenario), fixtureText(graph));
    process.stdout.write(`${fixturePath(scenario)}: ${graph.resources.length} resources\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
