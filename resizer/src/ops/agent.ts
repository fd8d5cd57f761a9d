// The ops agent of one host: nginx's access logs arrive as syslog datagrams and become
// request metrics; every scrape asks each nginx instance's stub_status and the master's
// TLS certificates, and reads the ACME renewer's results; `/metrics/<replica>` passes a
// resizer's own metrics through. One private HTTP listener, allow-listed, for Prometheus
// and `npm run status`. Not pure: sockets and files.
import { createSocket, type Socket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BlockList, isIP } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Logger } from "pino";
import { OPS_PATHS, type OpsConfig } from "./config.js";
import { createOpsMetrics, type OpsMetrics } from "./metrics.js";
import { cacheLabel, parseAccessLog, parseRenewerResult, parseStubStatus, parseSyslog, statusClass, type AccessLogEntry } from "./parse.js";

export interface OpsAgent {
  server: Server;
  syslog: Socket;
  metrics: OpsMetrics;
  /** Binds the HTTP listener and the syslog socket. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

/** Loopback (the container's own health check) plus the configured monitoring networks. */
export function allowList(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  list.addSubnet("127.0.0.0", 8, "ipv4");
  list.addAddress("::1", "ipv6");
  for (const c of cidrs) {
    const [addr = "", len] = c.split("/");
    const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
    if (len === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(len), type);
  }
  return (address) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const a = v4 ?? address;
    return isIP(a) !== 0 && list.check(a, isIP(a) === 6 ? "ipv6" : "ipv4");
  };
}

/** Counts one access log line into the metrics. */
export function record(metrics: OpsMetrics, role: string, entry: AccessLogEntry, members: ReadonlyMap<string, { upstream: string; member: string }>): void {
  const route = entry.route === "" ? "other" : entry.route;
  metrics.responses.inc({ role, route, status_class: statusClass(entry.status), cache_status: cacheLabel(entry.cache) });
  metrics.responseBytes.inc({ role, route }, entry.bytes);
  metrics.requestDuration.observe({ role, route }, entry.requestTime);
  for (const t of entry.tries) {
    // No member could be tried at all: nginx logs the upstream's name in place of an address.
    const known = members.get(t.address);
    const upstream = known?.upstream ?? ([...members.values()].some((m) => m.upstream === t.address) ? t.address : "other");
    const member = known?.member ?? "none";
    metrics.upstreamTries.inc({ role, upstream, member, status_class: t.status === undefined ? "5xx" : statusClass(t.status) });
    if (t.seconds !== undefined) metrics.upstreamDuration.observe({ role, upstream }, t.seconds);
  }
}

async function fetchText(url: string, timeoutMs: number): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, type: res.headers.get("content-type") ?? "text/plain", body: await res.text() };
}

/** notAfter of the certificate `host:port` serves for `servername` (not verified: only read). */
function certificateExpiry(host: string, port: number, servername: string, timeoutMs: number): Promise<Date> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, servername, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      if (cert?.valid_to) resolve(new Date(cert.valid_to));
      else reject(new Error("no peer certificate"));
    });
    socket.once("timeout", () => socket.destroy(new Error(`no handshake within ${timeoutMs} ms`)));
    socket.once("error", reject);
  });
}

export function createOpsAgent(config: OpsConfig, logger: Logger): OpsAgent {
  const metrics = createOpsMetrics();
  const allowed = allowList(config.allow);
  const roles = new Set(config.nginx.map((n) => n.role));
  const sources = new Set(config.syslog.sources);
  const members = new Map(config.upstreams.map((u) => [u.address, { upstream: u.upstream, member: u.member }]));
  const resizers = new Map(config.resizers.map((r) => [OPS_PATHS.resizerMetrics(r.role), r.metrics]));

  const syslog = createSocket({ type: isIP(config.syslog.host) === 6 ? "udp6" : "udp4", recvBufferSize: 4 * 1024 * 1024 });
  syslog.on("message", (msg, rinfo) => {
    const from = rinfo.address.replace(/^::ffff:/i, "");
    if (!sources.has(from)) {
      metrics.logMessages.inc({ result: "refused" });
      return;
    }
    const parsed = parseSyslog(msg.toString("utf8"));
    const entry = parsed && roles.has(parsed.tag) ? parseAccessLog(parsed.message) : undefined;
    if (parsed === undefined || entry === undefined) {
      metrics.logMessages.inc({ result: parsed !== undefined && !roles.has(parsed.tag) ? "refused" : "malformed" });
      return;
    }
    metrics.logMessages.inc({ result: "counted" });
    record(metrics, parsed.tag, entry, members);
  });
  syslog.on("error", (err) => logger.error({ err }, "syslog socket"));

  /** stub_status, TLS and ACME, read fresh at every scrape. */
  async function refresh(): Promise<void> {
    const stub = await Promise.all(
      config.nginx.map(async (n) => {
        try {
          const res = await fetchText(n.status, config.timeoutMs);
          return { role: n.role, status: res.status === 200 ? parseStubStatus(res.body) : undefined };
        } catch {
          return { role: n.role, status: undefined };
        }
      }),
    );
    for (const counter of [metrics.connectionsAccepted, metrics.connectionsHandled, metrics.requests]) counter.reset();
    for (const gauge of [metrics.connectionsActive, metrics.connectionsReading, metrics.connectionsWriting, metrics.connectionsWaiting]) gauge.reset();
    for (const { role, status } of stub) {
      metrics.nginxUp.set({ role }, status === undefined ? 0 : 1);
      if (status === undefined) continue;
      metrics.connectionsActive.set({ role }, status.active);
      metrics.connectionsReading.set({ role }, status.reading);
      metrics.connectionsWriting.set({ role }, status.writing);
      metrics.connectionsWaiting.set({ role }, status.waiting);
      metrics.connectionsAccepted.inc({ role }, status.accepted);
      metrics.connectionsHandled.inc({ role }, status.handled);
      metrics.requests.inc({ role }, status.requests);
    }

    await Promise.all(
      config.tls.map(async (t) => {
        const labels = { certificate: t.certificate, server_name: t.serverName };
        try {
          const notAfter = await certificateExpiry(t.host, t.port, t.serverName, config.timeoutMs);
          metrics.tlsExpiry.set(labels, Math.floor(notAfter.getTime() / 1000));
          metrics.tlsUp.set(labels, 1);
        } catch {
          metrics.tlsUp.set(labels, 0);
        }
      }),
    );

    if (config.acme !== undefined) {
      const dir = config.acme.statusDir;
      await Promise.all(
        config.acme.certificates.map(async (id) => {
          const result = parseRenewerResult(await readFile(`${dir}/${id}`, "utf8").catch(() => ""));
          if (result === undefined) return; // no result yet
          metrics.acmeSuccess.set({ certificate: id }, result.ok ? 1 : 0);
          metrics.acmeLastCheck.set({ certificate: id }, Math.floor(result.at.getTime() / 1000));
        }),
      );
    }
  }

  function send(res: ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = req.socket.remoteAddress ?? "";
    if (!allowed(remote)) {
      send(res, 403, "text/plain", "forbidden: not on this ops listener's allow-list\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain", "only GET\n");
      return;
    }
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === OPS_PATHS.health) {
      send(res, 200, "application/json", '{"status":"ok"}');
    } else if (path === OPS_PATHS.metrics) {
      await refresh();
      send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
    } else if (resizers.has(path)) {
      try {
        const r = await fetchText(resizers.get(path)!, config.timeoutMs);
        send(res, r.status === 200 ? 200 : 502, r.type, r.body);
      } catch (err) {
        send(res, 502, "text/plain", `the replica did not answer: ${(err as Error).message}\n`);
      }
    } else {
      send(res, 404, "text/plain", `no such path; try ${OPS_PATHS.metrics}, ${[...resizers.keys()].join(", ")}\n`);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, "ops request failed");
      if (!res.headersSent) send(res, 500, "text/plain", "internal error\n");
    });
  });
  server.keepAliveTimeout = 5_000;

  return {
    server,
    syslog,
    metrics,
    async listen() {
      await new Promise<void>((resolve, reject) => {
        syslog.once("error", reject);
        syslog.bind(config.syslog.port, config.syslog.host, () => (syslog.off("error", reject), resolve()));
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.listen.port, config.listen.host, () => (server.off("error", reject), resolve()));
      });
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => syslog.close(() => resolve()));
    },
  };
}
