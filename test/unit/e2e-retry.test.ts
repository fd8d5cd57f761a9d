// The end-to-end load generator's one retry (test/helpers/e2e.ts), against a raw TCP
// server that misbehaves on purpose: a kept-alive connection the server closes as it is
// reused is retried once on a new connection and counted; a new connection the server
// closes, and an answer cut short, are failures. "No failed request" in the fault tests
// means exactly that.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { agents, getRetryingClosedKeepalive, steadyLoad, type E2E } from "../helpers/e2e.js";

type Mode = "close-fresh" | "close-reused" | "cut-short";

let server: Server;
let mode: Mode = "close-reused";
/** Connections the server accepted. */
let connections = 0;

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";

before(async () => {
  server = createServer((socket: Socket) => {
    connections++;
    let requests = 0;
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      while (buffered.includes("\r\n\r\n")) {
        buffered = buffered.slice(buffered.indexOf("\r\n\r\n") + 4);
        requests++;
        if (mode === "close-fresh") return void socket.destroy();
        if (mode === "close-reused" && requests > 1) return void socket.destroy();
        if (mode === "cut-short") {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
          return void socket.destroy();
        }
        socket.write(OK);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Just what `get` reads of a running cluster: where the master listens, and a name. */
function fake(): E2E {
  const address = server.address() as { port: number };
  return {
    cluster: { host: { master: { http: { address: "127.0.0.1", port: address.port } } }, certificates: [] },
    main: { serverNames: ["image-origin.localhost"] },
  } as unknown as E2E;
}

describe("the load generator's retry", () => {
  test("a kept-alive connection closed as it is reused: retried once on a new connection, and reported", async () => {
    mode = "close-reused";
    const pool = agents(1);
    try {
      const first = await getRetryingClosedKeepalive(fake(), "/a", { agent: pool.http });
      assert.deepEqual([first.status, first.retried], [200, false]);
      const before = connections;
      const second = await getRetryingClosedKeepalive(fake(), "/b", { agent: pool.http });
      assert.deepEqual([second.status, second.retried], [200, true]);
      assert.equal(connections, before + 1, "the retry went out on one new connection");
    } finally {
      pool.destroy();
    }
  });

  test("a new connection closed before an answer is a failure, never retried", async () => {
    mode = "close-fresh";
    const before = connections;
    await assert.rejects(getRetryingClosedKeepalive(fake(), "/a", {}), /ECONNRESET/);
    assert.equal(connections, before + 1, "one connection, no second attempt");
    // Also on a keep-alive agent: its first connection is new, not reused.
    const pool = agents(1);
    try {
      await assert.rejects(getRetryingClosedKeepalive(fake(), "/a", { agent: pool.http }), /ECONNRESET/);
      assert.equal(connections, before + 2);
    } finally {
      pool.destroy();
    }
  });

  test("an answer cut short is a failure, never retried", async () => {
    mode = "cut-short";
    const before = connections;
    await assert.rejects(getRetryingClosedKeepalive(fake(), "/a", {}), /aborted|ECONNRESET/);
    assert.equal(connections, before + 1);
  });

  test("steady load counts each retry, and counts a closed new connection as a failed request", async () => {
    mode = "close-reused";
    const reused = steadyLoad(fake(), [{ path: "/x" }], { concurrency: 2 });
    await new Promise((r) => setTimeout(r, 300));
    const r1 = await reused.stop();
    assert.ok(r1.requests > 10, `${r1.requests} requests`);
    assert.equal(r1.failed.length, 0);
    assert.ok(r1.keepaliveRetries > 0 && r1.keepaliveRetries <= r1.requests, `${r1.keepaliveRetries} retries`);

    mode = "close-fresh";
    const fresh = steadyLoad(fake(), [{ path: "/x" }], { concurrency: 2, pauseMs: 20 });
    await new Promise((r) => setTimeout(r, 200));
    const r2 = await fresh.stop();
    assert.ok(r2.requests > 0);
    assert.equal(r2.failed.length, r2.requests, "every request on a new connection that closes fails");
    assert.equal(r2.keepaliveRetries, 0);
  });
});
