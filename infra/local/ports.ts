// Ports of a local cluster: which are free, and a remap of a stack's ports onto free
// loopback ports (the local target's `port` function). Not pure: binds sockets to ask.
import { createServer, type Server } from "node:net";

/** `count` distinct ports free on `host` right now (the kernel picks them). */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** Why `port` cannot be bound on `host` (e.g. "EADDRINUSE"), or undefined when it can. */
export function portProblem(port: number, host = "127.0.0.1"): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Every port in `ports` mapped to a distinct port free on `host` now. Throws for a port
 * outside the list, so a plan can never silently use an unmapped stack port.
 */
export async function freePortMap(ports: number[], host = "127.0.0.1"): Promise<(stackPort: number) => number> {
  const unique = [...new Set(ports)].sort((a, b) => a - b);
  const free = await freePorts(unique.length, host);
  const map = new Map(unique.map((p, i) => [p, free[i]!]));
  return (p) => {
    const local = map.get(p);
    if (local === undefined) throw new Error(`port ${p} is not a port of this stack`);
    return local;
  };
}
