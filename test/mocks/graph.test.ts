// Every stack registers the graph pinned in test/fixtures/graph/: the same URNs (or aliases
// that map the new ones to them) and the same inputs, so a refactor of the program moves no
// resource in a real `pulumi up`. Regenerate the fixtures only for a deliberate change
// (`npm run fixtures:graph`), and review their diff.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { SCENARIOS, compareGraphs, readFixture, resolveAliases, runScenario, snapshot, type Graph, type LiveGraph } from "../helpers/graph.js";
import type { Registered } from "../helpers/pulumi.js";

const live = new Map<string, LiveGraph>();
before(async () => {
  const runs = await Promise.all(Object.keys(SCENARIOS).map(async (s) => [s, snapshot(await runScenario(s))] as const));
  for (const [s, g] of runs) live.set(s, g);
});

describe("the registered graph matches the fixture", () => {
  for (const scenario of Object.keys(SCENARIOS)) {
    test(`${scenario}: same URNs (or aliases to them), inputs, secrets, providers and dependencies`, () => {
      const { problems } = compareGraphs(readFixture(scenario), live.get(scenario)!);
      assert.deepEqual(problems, [], `${scenario} differs from test/fixtures/graph/${scenario}.json (npm run fixtures:graph after a deliberate change)`);
    });
  }
});

// The comparison itself, on a small graph.
const URN = (type: string, name: string) => `urn:pulumi:test::image-origin::${type}::${name}`;
const resource = (r: Partial<Registered> & Pick<Registered, "urn" | "type" | "name">): Registered => ({
  custom: true,
  inputs: {},
  secretPaths: [],
  provider: "",
  parent: "",
  dependencies: [],
  deleteBeforeReplace: false,
  deleteBeforeReplaceDefined: false,
  retainOnDelete: false,
  propertyDependencies: {},
  ignoreChanges: [],
  replaceOnChanges: [],
  state: {},
  aliases: [],
  ...r,
});
const host = resource({ urn: URN("image-origin:cluster:ImageHost", "h1"), type: "image-origin:cluster:ImageHost", name: "h1", custom: false });
const provider = resource({ urn: URN("image-origin:cluster:ImageHost$pulumi:providers:docker", "h1-docker"), type: "pulumi:providers:docker", name: "h1-docker", parent: host.urn, inputs: { host: "unix:///x" } });
const volume = resource({ urn: URN("image-origin:cluster:ImageHost$docker:index/volume:Volume", "h1-cache"), type: "docker:index/volume:Volume", name: "h1-cache", parent: host.urn, provider: `${provider.urn}::h1-docker-id`, inputs: { name: "h1-cache" } });
const before_: Graph = snapshot({ resources: [host, provider, volume], outputs: {} });

/** The provider moved into a new component under the host, with or without an alias. */
function moved(aliased: boolean, inputs = provider.inputs): LiveGraph {
  const engine = resource({ urn: URN("image-origin:cluster:ImageHost$image-origin:cluster:DockerEngine", "h1-engine"), type: "image-origin:cluster:DockerEngine", name: "h1-engine", parent: host.urn, custom: false });
  const p = resource({
    ...provider,
    urn: URN("image-origin:cluster:DockerEngine$pulumi:providers:docker", "h1-docker"),
    parent: engine.urn,
    inputs,
    aliases: aliased ? [{ spec: { name: "", type: "", stack: "", project: "", parentUrn: host.urn, noParent: false } }] : [],
  });
  return snapshot({ resources: [host, engine, p, { ...volume, provider: `${p.urn}::h1-docker-id` }], outputs: {} });
}

describe("the graph comparison", () => {
  test("a resource moved under a new component with an alias to its old parent is the same resource", () => {
    const result = compareGraphs(before_, moved(true));
    assert.deepEqual(result.problems, []);
    assert.deepEqual([...result.moved.values()], [provider.urn]);
    assert.deepEqual(result.addedComponents, [URN("image-origin:cluster:ImageHost$image-origin:cluster:DockerEngine", "h1-engine")]);
  });

  test("without the alias the old resource is gone and a new one appears (a real up would replace it)", () => {
    const { problems } = compareGraphs(before_, moved(false));
    assert.ok(problems.some((p) => /is gone/.test(p)), problems.join("\n"));
    assert.ok(problems.some((p) => /new resource .*h1-docker/.test(p)), problems.join("\n"));
  });

  test("a changed input is reported by path", () => {
    const { problems } = compareGraphs(before_, moved(true, { host: "ssh://x@y" }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /host: "unix:\/\/\/x" -> "ssh:\/\/x@y"/);
  });

  test("a parent's alias carries over to its children (as the engine multiplies them out)", () => {
    const renamed = resource({ ...host, urn: URN("image-origin:cluster:ImageHost", "h2"), name: "h2", aliases: [{ urn: host.urn }] });
    const child = resource({ ...volume, urn: URN("image-origin:cluster:ImageHost$docker:index/volume:Volume", "h2-cache"), name: "h2-cache", parent: renamed.urn });
    assert.deepEqual(resolveAliases([renamed, child]).get(child.urn), [volume.urn]);
  });
});
