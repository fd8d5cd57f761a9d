// An in-process resizer on loopback with its own images tree, for the service tests.
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { createResizerService, type ResizerService } from "../../resizer/src/server.js";
import type { z } from "zod";
import { serviceSchema } from "../../resizer/src/settings.js";
import { writeFixtures } from "./images.js";

export interface TestResizer {
  base: string;
  root: string;
  resizer: ResizerService;
  /** Parsed JSON log lines, in order. */
  logs: Record<string, unknown>[];
  /** Follows redirects unless told `manual` (canonical URLs: see resizer/src/canonical.ts). */
  get(pathAndQuery: string, headers?: Record<string, string>, redirect?: "follow" | "manual"): Promise<Response & { bytes: Buffer }>;
  close(): Promise<void>;
}

/** A temporary images tree with the standard fixtures (see images.ts). */
export async function fixtureTree(): Promise<{ dir: string; root: string; outside: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "resizer-test-"));
  const root = path.join(dir, "images");
  const outside = path.join(dir, "outside");
  await writeFixtures(root, outside);
  return { dir, root, outside };
}

export async function startResizer(overrides: z.input<typeof serviceSchema> = {}, tree?: { dir: string; root: string }, signingKeys: string[] = []): Promise<TestResizer> {
  const owned = tree === undefined;
  const { dir, root } = tree ?? (await fixtureTree());
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const settings = { ...serviceSchema.parse(overrides), host: "127.0.0.1", port: 0, root, signingKeys };
  const resizer = await createResizerService(settings, pino({ base: null }, sink));
  resizer.server.listen(0, "127.0.0.1");
  await once(resizer.server, "listening");
  const { port } = resizer.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    root,
    resizer,
    logs,
    async get(pathAndQuery, headers = {}, redirect: "follow" | "manual" = "follow") {
      const res = await fetch(base + pathAndQuery, { headers, redirect });
      return Object.assign(res, { bytes: Buffer.from(await res.arrayBuffer()) });
    },
    async close() {
      await resizer.close();
      if (owned) await rm(dir, { recursive: true, force: true });
    },
  };
}
