// An L4 host's HAProxy: one frontend per VIP port in front of a backend of every host's
// master, balanced and health-checked as the `vip` plan says (the same plan a hardware L4
// is registered from), and a private ops listener for stats, metrics and keepalived's
// question "can you serve?". Pure: VipPlan + one L4 host in, haproxy.cfg text out.
import { hostPort } from "../address.js";
import { HEALTH, VIP_NAMES, VIP_OPS, type HaproxyPlan, type VipHostPlan, type VipPlan, type VipServicePlan } from "../topology.js";
import { comment, config, line, section, why, type Line } from "./ast.js";
import { printHaproxy } from "./print.js";

/** HAProxy's name for each balancing algorithm of the `vip` config. */
export const HAPROXY_BALANCE: Record<VipPlan["algorithm"], string> = {
  round_robin: "roundrobin",
  least_connections: "leastconn",
  source_hash: "source",
};

/** `1500` -> `1500ms`, `30000` -> `30s`: HAProxy's time format. */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function bind(address: string, port: number, namespace: string | undefined, ...options: string[]): Line {
  return line("bind", hostPort(address, port), ...options, ...(namespace !== undefined ? ["namespace", namespace] : []));
}

function frontend(service: VipServicePlan, host: VipHostPlan): ReturnType<typeof section> {
  const listen = host.haproxy.listen.find((l) => l.service === service.name)!.listen;
  const http = service.mode === "http";
  return why(
    http
      ? `Port ${service.port} of the VIP: HTTP, so every request is balanced (and a failed GET retried) on its own.`
      : `Port ${service.port} of the VIP: TLS ends at the masters, as behind the hardware L4: connections are balanced.`,
    section(
      ["frontend", VIP_NAMES.frontend(service.name)],
      [
        line("mode", service.mode),
        // Not `transparent`: in a container HAProxy binds its own address, the host publishes.
        bind(listen.address, listen.port, host.haproxy.namespace),
        line("option", http ? "httplog" : "tcplog"),
        http && why("The masters see HAProxy's address; the client's is in this header.", line("option", "forwardfor")),
        line("default_backend", VIP_NAMES.backend(service.name)),
      ],
    ),
  );
}

function backend(vip: VipPlan, service: VipServicePlan): ReturnType<typeof section> {
  const http = service.mode === "http";
  return why(
    `Every host's master on ${service.checkTls ? "HTTPS" : "HTTP"}, checked as the hardware L4 would: GET ${HEALTH.path} expecting ${HEALTH.status}\n` +
      `(503 while a host is drained), every ${vip.healthCheck.intervalSeconds}s; out after ${vip.healthCheck.fall} failures, back after ${vip.healthCheck.rise} passes.`,
    section(
      ["backend", VIP_NAMES.backend(service.name)],
      [
        line("mode", service.mode),
        line("balance", HAPROXY_BALANCE[vip.algorithm]),
        line("option", "httpchk"),
        line("http-check", "send", "meth", "GET", "uri", vip.healthCheck.path),
        line("http-check", "expect", "status", vip.healthCheck.expectStatus),
        http &&
          why(
            "A request no master answered (refused, reset, closed before any byte) is sent to another\n" +
              "host, but only a GET or HEAD: anything else may have had an effect.",
            line("retry-on", "conn-failure", "empty-response", "junk-response"),
          ),
        http && line("http-request", "disable-l7-retry", "unless", "METH_GET"),
        ...service.members.map((m) =>
          line("server", m.host, hostPort(m.address, m.port), "check", ...(service.checkTls ? ["check-ssl", "verify", "none"] : [])),
        ),
      ],
    ),
  );
}

function ops(plan: HaproxyPlan, host: VipHostPlan): ReturnType<typeof section> {
  const stats = host.haproxy.stats;
  // This host itself: its own address, and in a container the network's gateway (what a
  // connection from the host to a published port comes from).
  const allowed = [...new Set(["127.0.0.0/8", host.address, ...(host.network ? [host.network.gateway] : []), ...plan.statsAllow])];
  const anyBackendEmpty = plan.services.flatMap((s, i) => [...(i > 0 ? ["||"] : []), "{", `nbsrv(${VIP_NAMES.backend(s.name)})`, "lt", "1", "}"]);
  return why(
    "The private ops side: on this host's own address, never on the VIP.",
    section(
      ["frontend", VIP_NAMES.opsFrontend],
      [
        line("mode", "http"),
        bind(stats.address, stats.port, host.haproxy.namespace),
        why(
          `keepalived asks ${VIP_OPS.health} (answered here before any rule): 503 once this HAProxy has no host\n` +
            "to send to, and no answer once it is gone; either way the VIP moves to the next L4 host.",
          line("monitor-uri", VIP_OPS.health),
        ),
        line("monitor", "fail", "if", ...anyBackendEmpty),
        why("Stats and metrics for monitoring networks only.", line("http-request", "deny", "unless", "{", "src", ...allowed, "}")),
        line("http-request", "use-service", "prometheus-exporter", "if", "{", "path", VIP_OPS.metrics, "}"),
        line("stats", "enable"),
        line("stats", "uri", VIP_OPS.stats),
        line("stats", "refresh", "5s"),
      ],
    ),
  );
}

export function renderHaproxy(vip: VipPlan, host: VipHostPlan): string {
  const plan = vip.haproxy;
  if (plan === undefined) throw new Error("renderHaproxy: the VIP plan has no haproxy part (vip.mode is not haproxy)");
  const t = plan.timeouts;
  const hc = vip.healthCheck;
  return printHaproxy(
    config([
      comment(
        `${host.haproxy.name}: HAProxy of L4 host ${host.name} for the VIP ${vip.address}, rendered from the stack config by infra/vip.\n` +
          "Do not edit: change Pulumi.<stack>.yaml and run `npm run render`.",
      ),
      section(
        ["global"],
        [
          why("To stdout: the container's log driver (or the local launcher's log file) keeps it.", line("log", "stdout", "format", "raw", "local0", "info")),
          why(
            "The reload saves the hosts' states here first (`show servers state`), so a reload never\nsends traffic to a host that was down or drained.",
            line("stats", "socket", host.haproxy.paths.socket, "mode", "600", "level", "admin"),
          ),
          line("server-state-file", host.haproxy.paths.stateFile),
          why("Old processes finish their connections after a reload or on stop, then go.", line("hard-stop-after", duration(t.hardStopMs))),
        ],
      ),
      section(
        ["defaults"],
        [
          line("log", "global"),
          line("option", "dontlognull"),
          line("timeout", "connect", duration(t.connectMs)),
          line("timeout", "client", duration(t.clientMs)),
          why("Longer than a master may take (its own retries over its resizers), so the master answers first.", line("timeout", "server", duration(t.serverMs))),
          line("timeout", "http-request", duration(t.httpRequestMs)),
          line("timeout", "http-keep-alive", duration(t.httpKeepAliveMs)),
          line("timeout", "check", duration(t.checkMs)),
          why("A failed connect is tried again, each time on another host.", line("retries", plan.retries)),
          line("option", "redispatch", "1"),
          line("load-server-state-from-file", "global"),
          line("default-server", "inter", `${hc.intervalSeconds}s`, "rise", hc.rise, "fall", hc.fall),
        ],
      ),
      ...plan.services.flatMap((s) => [frontend(s, host), backend(vip, s)]),
      ops(plan, host),
    ]),
  );
}
