// The README's config reference cannot drift from the schema: it is the schema's own
// keys, types and defaults with the descriptions written at their definitions, and every
// key a parsed stack config holds is in it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { configKeys, withConfigReference } from "../../infra/configDocs.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { projectRoot } from "../helpers/cli.js";
import { stackConfig } from "../helpers/pulumi.js";
import { parse as parseYaml } from "yaml";

const readme = readFileSync(join(projectRoot, "README.md"), "utf8");

/** Every leaf of a parsed config as the reference writes it (`hosts[].name`, `certificates.<id>.mode`). */
function leafPaths(value: unknown, path: string, out: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    out.add(path);
    for (const v of value) if (v !== null && typeof v === "object") leafPaths(v, `${path}[]`, out);
  } else if (value !== null && typeof value === "object") {
    // Maps by id or name: their keys are the operator's.
    const key = path === "certificates" ? "<id>" : path === "resizer.presets" ? "<name>" : undefined;
    for (const [k, v] of Object.entries(value)) leafPaths(v, `${path === "" ? "" : `${path}.`}${key ?? k}`, out);
  } else {
    out.add(path);
  }
  return out;
}

describe("config reference", () => {
  it("README.md's table is the one the schema generates (run `npm run docs:config` after changing the schema)", () => {
    assert.equal(readme, withConfigReference(readme));
  });

  it("every key has a description, written at its definition in the schema", () => {
    assert.deepEqual(configKeys().filter((k) => k.description.trim() === "").map((k) => k.key), []);
  });

  it("every key a parsed stack config holds is documented, with the default parsing applies", () => {
    const documented = new Map(configKeys().map((k) => [k.key, k]));
    const config = stackConfig("prod");
    config["image-origin:resizer"] = { ...(config["image-origin:resizer"] as object), presets: { thumb: { w: 320, h: 180, fit: "cover", position: "centre", fmt: "auto", q: 80, enlarge: false } } };
    config["image-origin:vip"] = { address: "180.182.43.12" };
    config["image-origin:upstream"] = { balance: { method: "hash", key: "$request_uri", consistent: true } };
    const spec = parseClusterSpec(fromStackConfig(config));
    assert.deepEqual([...leafPaths(spec, "", new Set())].filter((k) => !documented.has(k)), []);

    // Writing a documented default into a config that sets nothing changes nothing, and
    // leaving it out gives it (for the keys a minimal config reaches).
    const minimal = () => ({ hosts: [{ name: "h1", address: "10.0.0.1", docker: "unix:///var/run/docker.sock" }], domains: [{ id: "main", serverNames: ["a.example.com"] }] }) as Record<string, any>;
    const valueAt = (cfg: unknown, key: string): unknown => key.split(".").reduce<any>((v, k) => v?.[k], cfg);
    const withValue = (key: string, value: unknown) => {
      const cfg = minimal();
      const parts = key.split(".");
      let at = cfg;
      for (const p of parts.slice(0, -1)) at = at[p] ??= {};
      at[parts.at(-1)!] = value;
      return cfg;
    };
    const defaults = parseClusterSpec(minimal());
    let checked = 0;
    for (const row of configKeys()) {
      // Keys in lists, maps, unions and optional sections are reached by no minimal config.
      if (!row.default.startsWith("`") || /[[\]<]/.test(row.key) || row.key.startsWith("upstream.balance.") || valueAt(defaults, row.key) === undefined) continue;
      const text = row.default.slice(1, -1);
      const written = typeof valueAt(defaults, row.key) === "string" ? text : parseYaml(text);
      assert.deepEqual(valueAt(parseClusterSpec(withValue(row.key, written)), row.key), valueAt(defaults, row.key), row.key);
      checked++;
    }
    assert.ok(checked > 50, `checked ${checked} defaults`);
  });
});
