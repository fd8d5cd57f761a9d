// The VIP plan (topology/vip.ts) for both targets, the commands the L4 containers run
// (remote.ts), HAProxy's `show stat` as the launcher reads it, and the local fleet's VIP
// spec: pure functions, pinned by what an operator or a test relies on.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseClusterSpec } from "../../infra/config.js";
import { installScript } from "../../infra/install.js";
import { localVipSpec } from "../../infra/local/fleet.js";
import { parseShowStat } from "../../infra/local/vip.js";
import { haproxySaveState, haproxyServe, keepalivedServe } from "../../infra/remote.js";
import { CONTAINER, planCluster } from "../../infra/topology.js";

const base = (vip: Record<string, unknown> | undefined) =>
  parseClusterSpec({
    hosts: [
      { name: "img01", address: "172.18.141.51", docker: "ssh://deploy@172.18.141.51" },
      { name: "img02", address: "172.18.141.52", docker: "ssh://deploy@172.18.141.52" },
    ],
    domains: [{ id: "main", serverNames: ["img.example.com"], certificate: "cert" }],
    certificates: { cert: { mode: "selfSigned" } },
    ...(vip && { vip }),
  });
const l4 = [
  { name: "lb01", address: "172.18.141.61", docker: "ssh://deploy@172.18.141.61" },
  { name: "lb02", address: "172.18.141.62", docker: "ssh://deploy@172.18.141.62", interface: "bond0" },
];
const haproxySpec = base({ address: "180.182.43.12", mode: "haproxy", haproxy: { hosts: l4 } });

describe("the VIP plan", () => {
  test("hardware: the registration block only, saying its mode", () => {
    const vip = planCluster(base({ address: "180.182.43.12" })).vip!;
    assert.equal(vip.mode, "hardware");
    assert.equal(vip.haproxy, undefined);
    assert.deepEqual(vip.members, [
      { host: "img01", address: "172.18.141.51", ports: [80, 443] },
      { host: "img02", address: "172.18.141.52", ports: [80, 443] },
    ]);
  });

  test("haproxy in containers: a service per VIP port over the hosts' published ports; per L4 host its priority, peers, network, listeners and files", () => {
    const plan = planCluster(haproxySpec).vip!.haproxy!;
    assert.deepEqual(plan.services.map((s) => [s.name, s.port, s.mode, s.checkTls]), [["http", 80, "http", false], ["https", 443, "tcp", true]]);
    assert.deepEqual(plan.services[1]!.members, [{ host: "img01", address: "172.18.141.51", port: 443 }, { host: "img02", address: "172.18.141.52", port: 443 }]);
    const [one, two] = plan.hosts;
    assert.deepEqual([one!.priority, two!.priority], [200, 190]);
    assert.deepEqual([one!.peers, two!.peers], [["172.18.141.62"], ["172.18.141.61"]]);
    assert.equal(two!.interface, "bond0");
    assert.deepEqual(one!.network, { name: "lb01-net", subnet: "10.213.0.0/24", gateway: "10.213.0.1" });
    assert.deepEqual(one!.haproxy.listen.map((l) => l.listen), [{ address: "0.0.0.0", port: 8080 }, { address: "0.0.0.0", port: 8443 }]);
    assert.deepEqual(one!.haproxy.paths, { config: CONTAINER.haproxy.config, runDir: "/tmp/haproxy", socket: "/tmp/haproxy/admin.sock", stateFile: "/tmp/haproxy/server-state" });
    assert.deepEqual(one!.keepalived.check, { address: "172.18.141.61", port: 8404, path: "/healthz" });
    assert.equal(one!.haproxy.nofile, haproxySpec.nginx.master.workerRlimitNofile);
  });

  test("haproxy locally: the VIP and L4 hosts on the launcher's addresses and ports, files under the work dir; in a namespace on every address there", () => {
    const target = {
      kind: "local" as const,
      root: "/w",
      bindAddress: (h: string) => ({ img01: "127.0.1.1", img02: "127.0.1.2" })[h] ?? "127.0.0.1",
      port: (p: number, h: string) => (h.startsWith("lb") ? p + 30000 : p + 20000),
      vipAddress: "127.0.0.9",
    };
    const vip = planCluster(haproxySpec, target).vip!;
    const plan = vip.haproxy!;
    assert.deepEqual(plan.services[0]!.members, [{ host: "img01", address: "127.0.1.1", port: 20080 }, { host: "img02", address: "127.0.1.2", port: 20080 }]);
    const one = plan.hosts[0]!;
    assert.deepEqual(one.haproxy.listen.map((l) => l.listen), [{ address: "127.0.0.9", port: 30080 }, { address: "127.0.0.9", port: 30443 }]);
    assert.deepEqual(one.haproxy.stats, { address: "127.0.0.1", port: 38404 });
    assert.equal(one.network, undefined);
    assert.equal(one.haproxy.publish, undefined);
    assert.equal(one.haproxy.paths.config, "/w/lb01/haproxy/haproxy.cfg");
    assert.equal(one.keepalived.paths.vrrpPidFile, "/w/lb01/keepalived/run/vrrp.pid");
    const rig = planCluster(haproxySpec, { ...target, vipNamespace: (h: string) => `ns-${h}` }).vip!.haproxy!.hosts[1]!;
    assert.equal(rig.haproxy.namespace, "ns-lb02");
    assert.deepEqual(rig.haproxy.listen[0]!.listen, { address: "0.0.0.0", port: 30080 });
  });

  test("without certificates the VIP has only its HTTP port", () => {
    const spec = parseClusterSpec({ ...haproxySpec, domains: [{ id: "main", serverNames: ["img.example.com"] }], certificates: {} });
    assert.deepEqual(planCluster(spec).vip!.haproxy!.services.map((s) => s.name), ["http"]);
  });
});

describe("the fleet's VIP: the stack's own plan, served by a local HAProxy", () => {
  test("a hardware VIP becomes one stand-in L4 host (placeholders the local target never contacts); the plan's members and checks stay the stack's", () => {
    const spec = localVipSpec(base({ address: "180.182.43.12", healthCheck: { intervalSeconds: 7 } }), false);
    assert.equal(spec.vip!.mode, "haproxy");
    assert.deepEqual(spec.vip!.haproxy!.hosts.map((h) => [h.name, h.address]), [["vip", "192.0.2.11"]]);
    assert.equal(spec.vip!.healthCheck.intervalSeconds, 7);
    assert.equal(localVipSpec(base(undefined), false).vip!.address, "192.0.2.10");
  });

  test("a haproxy VIP runs on its first L4 host alone, or on all of them in a failover rig", () => {
    assert.deepEqual(localVipSpec(haproxySpec, false).vip!.haproxy!.hosts.map((h) => h.name), ["lb01"]);
    assert.deepEqual(localVipSpec(haproxySpec, true).vip!.haproxy!.hosts.map((h) => h.name), ["lb01", "lb02"]);
  });
});

describe("what the L4 containers run", () => {
  test("HAProxy: PID 1 after seeding an empty server state; the state saved over the admin socket before a reload", () => {
    assert.deepEqual(haproxyServe({ config: "/c/h.cfg", stateFile: "/r/s" }), ["/bin/sh", "-c", 'printf "1\\n" > "$0" && exec haproxy -W -db -f "$1"', "/r/s", "/c/h.cfg"]);
    assert.deepEqual(haproxySaveState({ socket: "/r/a.sock", stateFile: "/r/s" }), ["/bin/sh", "-c", 'echo "show servers state" | socat stdio "UNIX-CONNECT:$0" > "$1"', "/r/a.sock", "/r/s"]);
  });

  test("keepalived: VRRP only, in the foreground, to stdout, with its pid files on its tmpfs", () => {
    assert.deepEqual(keepalivedServe({ config: "/c/k.conf", pidFile: "/r/k.pid", vrrpPidFile: "/r/v.pid" }), [
      "keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp", "--use-file", "/c/k.conf", "--pid", "/r/k.pid", "--vrrp_pid", "/r/v.pid",
    ]);
  });

  test("the installer makes an executable file executable where the check runs, before the check", () => {
    const script = installScript({
      stagingDir: "/staging",
      configDir: "/etc/image-origin",
      volumeDir: "/volume",
      files: [{ path: "/etc/image-origin/keepalived.conf" }, { path: "/etc/image-origin/check.sh", mode: "0755" }, { path: "/etc/image-origin/tls/k.key", mode: "0400" }],
      checkDirs: [],
      check: ["keepalived", "--config-test"],
    });
    const lines = script.split("\n");
    const chmod = lines.indexOf("chmod 0755 /etc/image-origin/check.sh");
    assert.ok(chmod > 0 && chmod < lines.indexOf("keepalived --config-test"), script);
    assert.ok(!lines.includes("chmod 0400 /etc/image-origin/tls/k.key"), "a key keeps its mode for the volume copy only");
  });
});

describe("HAProxy's `show stat`, as the launcher reads it", () => {
  test("servers per backend with their status; frontends and backends themselves left out", () => {
    const csv = [
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight",
      "vip_http,FRONTEND,,,0,1,,5,,,,,,,,,,OPEN,",
      "hosts_http,img01,0,0,0,1,,3,,,,,,,,,,UP,1",
      "hosts_http,img02,0,0,0,1,,2,,,,,,,,,,DOWN 1/2,1",
      "hosts_http,BACKEND,0,0,0,1,,5,,,,,,,,,,UP,2",
      "hosts_https,img01,0,0,0,1,,3,,,,,,,,,,UP 1/3,1",
      "",
    ].join("\n");
    const parsed = parseShowStat(csv);
    assert.deepEqual([...parsed.keys()], ["hosts_http", "hosts_https"]);
    assert.deepEqual([...parsed.get("hosts_http")!], [["img01", "UP"], ["img02", "DOWN 1/2"]]);
    assert.equal(parsed.get("hosts_https")!.get("img01"), "UP 1/3");
  });
});
