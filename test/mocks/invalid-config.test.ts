// An invalid stack config fails the run before a single resource is registered, with
// every problem listed by path.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runProgram, stackConfig } from "../helpers/pulumi.js";

test("an invalid config registers zero resources and names each problem", async () => {
  const config = stackConfig("local");
  config["image-origin:hosts"] = [
    { name: "local", address: "127.0.0.1", docker: "unix:///var/run/docker.sock" },
    { name: "local", address: "300.1.1.1", docker: "unix:///var/run/docker.sock" },
  ];
  config["image-origin:slaves"] = [{ port: 8001 }, { port: 8001 }];
  const run = await runProgram(config);
  assert.equal(run.resources.length, 0, run.resources.map((r) => r.name).join());
  assert.ok(run.error);
  for (const path of ["hosts[1].name", "hosts[1].address", "slaves[1].port"]) {
    assert.match(run.error.message, new RegExp(`\\n  ${path.replace(/[[\].]/g, "\\$&")}: `));
  }
});
