// The software VIP's rendered configs (infra/vip): what HAProxy and keepalived are told,
// read as an operator would (the `vip` plan's members, balancing, checks and timings), and
// loaded by the real programs from Debian: `haproxy -c` and `keepalived --config-test` on
// every variant, warnings failing too. The AST refuses anything that could add a keyword.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { parseClusterSpec } from "../../infra/config.js";
import { findOnPath } from "../../infra/local/tools.js";
import { keepalivedCheckWithoutInterfaces } from "../../infra/remote.js";
import { writeFiles } from "../../infra/local/workdir.js";
import { vipFiles } from "../../infra/render.js";
import { planCluster, type ClusterPlan, type Target } from "../../infra/topology.js";
import { VipAstError, block, config, line, section, word } from "../../infra/vip/ast.js";
import { HAPROXY_BALANCE, renderHaproxy } from "../../infra/vip/haproxy.js";
import { renderKeepalived } from "../../infra/vip/keepalived.js";
import { printHaproxy, printKeepalived } from "../../infra/vip/print.js";
import { tempRoot } from "../helpers/stage.js";

const SETUP = "run `bash scripts/setup.sh` as root (it installs haproxy and keepalived)";
const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A stack behind the software VIP: two image hosts, two L4 hosts, TLS. */
function base(): Record<string, any> {
  return {
    hosts: [
      { name: "img01", address: "172.18.141.51", docker: "ssh://deploy@172.18.141.51" },
      { name: "img02", address: "172.18.141.52", docker: "ssh://deploy@172.18.141.52" },
    ],
    domains: [{ id: "image-origin", serverNames: ["image-origin.example.com"], certificate: "star", default: true }],
    certificates: { star: { mode: "selfSigned" } },
    vip: {
      address: "180.182.43.12",
      mode: "haproxy",
      healthCheck: { intervalSeconds: 2, timeoutSeconds: 1, rise: 3, fall: 4 },
      haproxy: {
        hosts: [
          { name: "lb01", address: "172.18.141.61", docker: "ssh://deploy@172.18.141.61" },
          { name: "lb02", address: "172.18.141.62", docker: "ssh://deploy@172.18.141.62", interface: "bond0" },
        ],
        statsAllow: ["10.20.0.0/16"],
      },
    },
  };
}

const plan = (change: (c: ReturnType<typeof base>) => void = () => {}, target: Target = { kind: "container" }): ClusterPlan => {
  const cfg = base();
  change(cfg);
  return planCluster(parseClusterSpec(cfg), target);
};

const VARIANTS: [string, (c: ReturnType<typeof base>) => void][] = [
  ["two L4 hosts, TLS, unicast VRRP", () => {}],
  ["HTTP only (no certificate: no HTTPS frontend)", (c) => {
    c.domains = [{ id: "image-origin", serverNames: ["image-origin.example.com"] }];
    c.certificates = {};
  }],
  ["multicast VRRP, least connections, sub-second adverts", (c) => Object.assign(c.vip, { algorithm: "least_connections", haproxy: { ...c.vip.haproxy, vrrp: { unicast: false, advertSeconds: 0.25 } } })],
  ["source hash, one L4 host", (c) => Object.assign(c.vip, { algorithm: "source_hash", haproxy: { hosts: [c.vip.haproxy.hosts[0]] } })],
  ["IPv6 VIP and hosts", (c) => {
    c.hosts = [{ name: "img01", address: "fd00::51", docker: "ssh://deploy@[fd00::51]" }];
    c.vip = { ...c.vip, address: "fd00::12", haproxy: { hosts: [{ name: "lb01", address: "fd00::61", docker: "ssh://deploy@[fd00::61]" }, { name: "lb02", address: "fd00::62", docker: "ssh://deploy@[fd00::62]" }] } };
  }],
];

function run(command: string, args: string[]): { code: number; output: string } {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.error) throw new Error(`${command}: ${r.error.message}: ${SETUP}`);
  return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}`.trim() };
}

describe("haproxy -c and keepalived --config-test on every variant", () => {
  test("both programs are installed", () => {
    assert.ok(findOnPath("haproxy", { PATH: `${process.env.PATH}:/usr/sbin` }), `haproxy missing: ${SETUP}`);
    assert.ok(findOnPath("keepalived", { PATH: `${process.env.PATH}:/usr/sbin` }), `keepalived missing: ${SETUP}`);
  });

  for (const [name, change] of VARIANTS) {
    test(`${name}: every L4 host's files load without an error or a warning`, () => {
      // The local target puts every file under a temp root (0755, as keepalived's script
      // security wants); the renderers are the ones production uses.
      const root = tempRoot("vip-configs");
      roots.push(root);
      chmodSync(root, 0o755);
      const p = plan(change, { kind: "local", root, port: (port) => port });
      for (const host of p.vip!.haproxy!.hosts) {
        writeFiles(Object.values(vipFiles(p.vip!, host)).flat());
        chmodSync(`${root}/${host.name}/keepalived/haproxy-alive.sh`, 0o755);
        mkdirSync(host.haproxy.paths.runDir, { recursive: true });
        writeFiles([{ path: host.haproxy.paths.stateFile, content: "1\n" }]);
        const haproxy = run("haproxy", ["-c", "-f", host.haproxy.paths.config]);
        assert.equal(haproxy.code, 0, haproxy.output);
        assert.doesNotMatch(haproxy.output, /WARNING|ALERT/, haproxy.output);
        const keepalived = run("keepalived", ["--config-test", "--use-file", host.keepalived.paths.config]);
        // The interfaces named are the production hosts'; this machine may lack them.
        const complaints = keepalived.output.split("\n").filter((l) => l !== "" && !/interface \S+ .*doesn't exist|Non-existent interface specified/.test(l));
        assert.deepEqual(complaints, [], keepalived.output);
      }
    });
  }

  test("the container target's haproxy.cfg loads too (its state file is the container's tmpfs, absent here)", () => {
    const root = tempRoot("vip-container");
    roots.push(root);
    const p = plan();
    const host = p.vip!.haproxy!.hosts[0]!;
    const file = `${root}/haproxy.cfg`;
    writeFiles([{ path: file, content: renderHaproxy(p.vip!, host) }]);
    const haproxy = run("haproxy", ["-c", "-f", file]);
    assert.equal(haproxy.code, 0, haproxy.output);
    const warnings = haproxy.output.split("\n").filter((l) => /WARNING|ALERT/.test(l) && !/server state file/.test(l));
    assert.deepEqual(warnings, []);
  });

  test("the installer's keepalived check (no network, no interfaces) passes a rendered config and still refuses a broken one", () => {
    const root = tempRoot("vip-nonet");
    roots.push(root);
    chmodSync(root, 0o755);
    const p = plan(() => {}, { kind: "local", root, port: (port) => port });
    const host = p.vip!.haproxy!.hosts[0]!;
    writeFiles(Object.values(vipFiles(p.vip!, host)).flat());
    chmodSync(`${root}/${host.name}/keepalived/haproxy-alive.sh`, 0o755);
    const broken = `${root}/broken.conf`;
    writeFiles([{ path: broken, content: `${renderKeepalived(p.vip!, host)}no_such_keyword 1\n` }]);
    // A network namespace of its own has only `lo`, as the installer container.
    const ns = `vipchk${process.pid}`;
    assert.equal(run("ip", ["netns", "add", ns]).code, 0, "needs root and iproute2");
    try {
      const inNs = (config: string) => {
        const [cmd, ...args] = keepalivedCheckWithoutInterfaces(config);
        return run("ip", ["netns", "exec", ns, cmd!, ...args]);
      };
      const ok = inNs(host.keepalived.paths.config);
      assert.equal(ok.code, 0, ok.output);
      const bad = inNs(broken);
      assert.notEqual(bad.code, 0);
      assert.match(bad.output, /Unknown keyword 'no_such_keyword'/);
    } finally {
      run("ip", ["netns", "del", ns]);
    }
  });

  test("a broken config is refused by both checks (they can fail)", () => {
    const root = tempRoot("vip-broken");
    roots.push(root);
    writeFiles([
      { path: `${root}/h.cfg`, content: "frontend x\n    bind 127.0.0.1:1\n    no_such_keyword 1\n" },
      { path: `${root}/k.conf`, content: "vrrp_instance x {\n    virtual_router_id 300\n}\n" },
    ]);
    assert.notEqual(run("haproxy", ["-c", "-f", `${root}/h.cfg`]).code, 0);
    assert.notEqual(run("keepalived", ["--config-test", "--use-file", `${root}/k.conf`]).code, 0);
  });
});

describe("what HAProxy is told", () => {
  const p = plan();
  const vip = p.vip!;
  const [lb01, lb02] = vip.haproxy!.hosts;
  const cfg = renderHaproxy(vip, lb01!);
  const sectionOf = (head: string) => {
    const start = cfg.indexOf(`\n${head}\n`);
    assert.ok(start >= 0, `no section ${head}`);
    const rest = cfg.slice(start + 1);
    const end = rest.search(/\n(?:#[^\n]*\n)*(?:frontend|backend|global|defaults) /);
    return end < 0 ? rest : rest.slice(0, end);
  };

  test("every image host's master is a member on each VIP port, health-checked with the vip plan's timings", () => {
    const http = sectionOf("backend hosts_http");
    assert.match(http, /balance roundrobin/);
    assert.match(http, /option httpchk\n\s+http-check send meth GET uri \/healthz\n\s+http-check expect status 200/);
    assert.match(http, /server img01 172\.18\.141\.51:80 check\n\s+server img02 172\.18\.141\.52:80 check/);
    assert.match(sectionOf("backend hosts_https"), /server img01 172\.18\.141\.51:443 check check-ssl verify none/);
    assert.match(cfg, /default-server inter 2s rise 3 fall 4/);
    assert.match(cfg, /timeout check 1s/);
  });

  test("HTTP is balanced per request with GET/HEAD retried on another host; HTTPS passes through (TLS ends at the masters)", () => {
    assert.match(sectionOf("frontend vip_http"), /mode http\n\s+bind 0\.0\.0\.0:8080\n/);
    assert.match(sectionOf("frontend vip_https"), /mode tcp\n\s+bind 0\.0\.0\.0:8443\n/);
    assert.doesNotMatch(sectionOf("frontend vip_https"), /ssl|crt/);
    assert.match(cfg, /retries 2\n\s+option redispatch 1/);
    assert.match(sectionOf("backend hosts_http"), /retry-on conn-failure empty-response junk-response\n\s+http-request disable-l7-retry unless METH_GET/);
    assert.doesNotMatch(sectionOf("backend hosts_https"), /retry-on/);
  });

  test("the ops listener is on the L4 host's own side only, allow-listed, with stats, metrics and keepalived's liveness", () => {
    const ops = sectionOf("frontend ops");
    assert.match(ops, /bind 0\.0\.0\.0:8404\n/);
    assert.match(ops, /monitor-uri \/healthz/);
    assert.match(ops, /monitor fail if \{ nbsrv\(hosts_http\) lt 1 \} \|\| \{ nbsrv\(hosts_https\) lt 1 \}/);
    assert.match(ops, /http-request deny unless \{ src 127\.0\.0\.0\/8 172\.18\.141\.61 10\.213\.0\.1 10\.20\.0\.0\/16 \}/);
    assert.match(ops, /use-service prometheus-exporter if \{ path \/metrics \}/);
    assert.deepEqual(lb01!.haproxy.publish, [
      { service: "http", address: "0.0.0.0", port: 80, internal: 8080 },
      { service: "https", address: "0.0.0.0", port: 443, internal: 8443 },
      { service: "stats", address: "172.18.141.61", port: 8404, internal: 8404 },
    ]);
  });

  test("the server timeout outlasts a master's own retries over its resizers; client keep-alive as the masters'", () => {
    // 2 tries x (1s connect + 15s resizer read) + 5s.
    assert.match(cfg, /timeout server 37s/);
    assert.match(cfg, /timeout http-keep-alive 5s/);
    const longer = renderHaproxy(plan((c) => (c.nginx = { proxy: { resizerReadTimeout: "40s", nextUpstreamTries: 3 } })).vip!, lb01!);
    assert.match(longer, /timeout server 128s/);
  });

  test("each balancing algorithm of the vip config has HAProxy's name", () => {
    assert.deepEqual(HAPROXY_BALANCE, { round_robin: "roundrobin", least_connections: "leastconn", source_hash: "source" });
    assert.match(renderHaproxy(plan((c) => (c.vip.algorithm = "source_hash")).vip!, lb02!), /balance source/);
  });
});

describe("what keepalived is told", () => {
  const vip = plan().vip!;
  const [lb01, lb02] = vip.haproxy!.hosts;

  test("both start as BACKUP with nopreempt, the first L4 host at the higher priority, unicast to the other", () => {
    const one = renderKeepalived(vip, lb01!);
    const two = renderKeepalived(vip, lb02!);
    for (const conf of [one, two]) {
      assert.match(conf, /state BACKUP\n/);
      assert.match(conf, /nopreempt\n/);
      assert.match(conf, /virtual_router_id 51\n/);
      assert.match(conf, /vrrp_version 3\n/);
      assert.match(conf, /track_script \{\n\s+haproxy_alive\n\s+\}/);
    }
    assert.match(one, /priority 200\n/);
    assert.match(two, /priority 190\n/);
    assert.match(one, /unicast_src_ip 172\.18\.141\.61\n\n\s+unicast_peer \{\n\s+172\.18\.141\.62\n\s+\}/);
    assert.match(two, /interface bond0\n/);
    assert.match(two, /180\.182\.43\.12\/32 dev bond0/);
  });

  test("multicast leaves out the peers; an IPv6 VIP is a /128", () => {
    const multicast = plan((c) => (c.vip.haproxy.vrrp = { unicast: false })).vip!;
    assert.doesNotMatch(renderKeepalived(multicast, multicast.haproxy!.hosts[0]!), /unicast/);
    const v6 = plan(VARIANTS[4]![1]).vip!;
    assert.match(renderKeepalived(v6, v6.haproxy!.hosts[0]!), /fd00::12\/128 dev eth0/);
  });
});

describe("the VIP config AST cannot be injected into", () => {
  test("a word that could end a token, start a comment, quote or expand is refused", () => {
    for (const bad of ["80\n    bind *:81", "a b", 'x"', "x'", "a#b", "a!b", "${HOME}", "back\\slash", "{x", "", "tab\t"]) {
      assert.throws(() => word(bad), VipAstError, JSON.stringify(bad));
    }
    assert.equal(word("nbsrv(hosts_http)").value, "nbsrv(hosts_http)");
    assert.equal(word("{").value, "{");
  });

  test("the printers re-check hand-built nodes and refuse the wrong file's shapes", () => {
    const forged = { type: "line", words: [{ kind: "word", value: "bind *:80\n    bind *:81" }] } as const;
    assert.throws(() => printHaproxy(config([section(["global"], [forged as never])])), VipAstError);
    assert.throws(() => printHaproxy(config([line("global")])), /belongs in a section/);
    assert.throws(() => printHaproxy(config([block(["x"], [])])), /no braced blocks/);
    assert.throws(() => printKeepalived(config([section(["global"], [])])), /no sections/);
  });

  test("an L4 host name or address from the config cannot reach either file unchecked (the schema refuses it first)", () => {
    assert.throws(() => plan((c) => (c.vip.haproxy.hosts[0].interface = "eth0 garbage")), /interface/);
    assert.throws(() => plan((c) => (c.vip.haproxy.hosts[0].name = "lb01\n")), /hosts\[0\]\.name/);
  });
});
