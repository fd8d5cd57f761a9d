// Every relation check of the config schema (the checks between fields, `crossChecks`),
// one case each, pinned by the exact path and message an operator reads. The table is
// complete by construction: the test reads infra/ with the TypeScript parser, finds every
// call that reports a relation problem (`issue(path, message)`), and fails when a call
// site has no case whose message it produces. A new check therefore needs a case here.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";
import { TLS_SYNC_PORT, type ClusterSpecInput } from "../../infra/config.js";
import { configProblems, type ConfigCase } from "../helpers/config.js";
import { PROJECT_ROOT } from "../helpers/stage.js";

const acme = (extra: Record<string, unknown> = {}) => ({ star: { mode: "acme", email: "ops@example.com", ...extra } }) as ClusterSpecInput["certificates"];

// name, how the config goes wrong, and exactly what the operator is told (every problem).
const cases: [string, (c: ConfigCase) => void, string[]][] = [
  ["two hosts with one name", (c) => (c.hosts[1]!.name = "img01"), ['hosts[1].name: duplicate host name "img01" (also hosts[0])']],
  ["two hosts with one address", (c) => (c.hosts[1]!.address = "172.18.141.51"), ["hosts[1].address: duplicate address 172.18.141.51 (also hosts[0])"]],
  ["a resizer preset beyond maxOutputDimension (the resizer's own check)", (c) => (c.resizer = { maxOutputDimension: 1000, presets: { big: { w: 2000 } } }),
    ["resizer.presets.big.w: 2000 exceeds maxOutputDimension (1000)"]],
  ["a storyboard default tile beyond maxTileDimension (the resizer's own check)", (c) => (c.resizer = { storyboard: { maxTileDimension: 120 } }),
    ["resizer.storyboard.defaults.w: 160 exceeds maxTileDimension (120)"]],
  ["a storyboard default grid beyond maxStillsPerSheet", (c) => (c.resizer = { storyboard: { maxStillsPerSheet: 50 } }),
    ["resizer.storyboard.defaults.cols: cols × rows = 100 exceeds maxStillsPerSheet (50)"]],
  ["a storyboard default sheet wider and higher than maxSheetDimension", (c) => (c.resizer = { storyboard: { maxSheetDimension: 1000, defaults: { h: 160 } } }),
    ["resizer.storyboard.defaults.cols: cols × w = 1600 exceeds maxSheetDimension (1000)", "resizer.storyboard.defaults.rows: rows × h = 1600 exceeds maxSheetDimension (1000)"]],
  ["a storyboard default interval beyond maxEvery", (c) => (c.resizer = { storyboard: { maxEvery: 5 } }),
    ["resizer.storyboard.defaults.every: the default interval 10 exceeds maxEvery (5)"]],
  ["a programme's storyboard interval beyond maxEvery", (c) => (c.resizer = { storyboard: { maxEvery: 20, intervals: { "news-daily": 5, "docu-ocean": 30 } } }),
    ["resizer.storyboard.intervals.docu-ocean: this programme's interval 30 exceeds maxEvery (20)"]],
  ["storyboard limits that let one request need more memory than a replica has", (c) => (c.resizer = { memoryMb: 512, storyboard: { maxSheetDimension: 4096 } }),
    ["resizer.storyboard.maxSheetDimension: the largest sheet these limits allow needs ~563 MB as AVIF; 2 at once (concurrency) and the process make ~1254 MB, over memoryMb (512): lower maxSheetDimension or maxTileDimension, or raise memoryMb"]],
  ["one host's replicas too small for the largest storyboard sheets", (c) => (c.hosts[1]!.resizer = { memoryMb: 256 }),
    [
      "hosts[1].resizer.memoryMb: 256 MB per replica cannot hold 2 of the largest storyboard sheets (~167 MB each as AVIF) and the process: ~462 MB needed",
      "hosts[1].resizer.memoryMb: a thumbnail may need 51 MiB (sources up to maxInputPixels), over the 32 MiB memory budget of a 256 MB replica running 2 at once (hosts[1]): give the replicas more memory or run fewer at once",
    ]],
  ["a resizer memory budget too small for a thumbnail", (c) => (c.resizer = { memoryBudgetMb: 40 }),
    ["resizer.memoryBudgetMb: a thumbnail may need 51 MiB (sources up to maxInputPixels), over memoryBudgetMb 40 MiB: give the replicas more memory or run fewer at once"]],
  ["an AVIF area limit beyond what one host's replicas may hold", (c) => ((c.resizer = { maxOutputPixels: { avif: 4_200_000 } }), (c.hosts[1]!.resizer = { memoryMb: 480 })),
    ["resizer.maxOutputPixels.avif: a 4200000 px AVIF may need 219 MiB, over the 217 MiB memory budget of a 480 MB replica running 2 at once (hosts[1]): lower the limit or give the replicas more memory"]],
  ["the Docker API over plain tcp to another machine", (c) => (c.hosts[0]!.docker = "tcp://172.18.141.51:2375"),
    ["hosts[0].docker: tcp:// is the Docker API without TLS (root on the host for anyone who reaches it): use ssh://, or tcp:// on a loopback address"]],
  ["ssh options on a unix socket", (c) => Object.assign(c.hosts[0]!, { docker: "unix:///var/run/docker.sock", sshOpts: ["-i", "/root/.ssh/id"] }),
    ["hosts[0].sshOpts: sshOpts only apply to ssh:// endpoints, not unix://"]],
  ["the master's open files below two per connection", (c) => (c.nginx = { master: { workerConnections: 5120, workerRlimitNofile: 8192 } }),
    ["nginx.master.workerRlimitNofile: 8192 open files cannot carry 5120 connections (a proxied connection needs two): raise it to at least 10240"]],
  ["a slave's open files below its connections", (c) => (c.nginx = { slave: { workerConnections: 4096, workerRlimitNofile: 2048 } }),
    ["nginx.slave.workerRlimitNofile: 2048 open files cannot carry 4096 connections: raise it to at least 4096"]],
  ["one host's open-files override too low", (c) => (c.hosts[1]!.nginx = { master: { workerRlimitNofile: 4096 } }),
    ["hosts[1].nginx.master.workerRlimitNofile: 4096 open files cannot carry 5120 connections (a proxied connection needs two): raise it to at least 10240"]],
  ["a backup slave with ip_hash", (c) => Object.assign(c, { upstream: { balance: { method: "ip_hash" } }, slaves: [{ port: 8001 }, { port: 8002, backup: true }] }),
    ["slaves[1].backup: backup cannot be used with ip_hash: nginx rejects it (the method picks a server by key, not by order)"]],
  ["a backup slave that is also down", (c) => (c.slaves = [{ port: 8001 }, { port: 8002, backup: true, down: true }]),
    ["slaves[1].down: a backup server marked down is never used: drop one of the two"]],
  ["failTimeout with maxFails 0", (c) => (c.slaves = [{ port: 8001, maxFails: 0, failTimeout: "10s" }]),
    ["slaves[0].failTimeout: failTimeout has no effect when maxFails is 0 (failure accounting is off)"]],
  ["every slave backup or down", (c) => (c.slaves = [{ port: 8001, down: true }, { port: 8002, backup: true }]),
    ["slaves: at least one slave must be neither backup nor down, or the master has nothing to send requests to"]],
  ["two slaves on one port", (c) => (c.slaves = [{ port: 8001 }, { port: 8001 }]), ["slaves[1].port: port 8001 of slaves[1] collides with slaves[0]"]],
  ["the ops listener's stub_status ports running into a slave's port", (c) => (c.ops = { port: 8000 }),
    ["ops.port: port 8001 of the master's stub_status listener (ops.port + 1) collides with slaves[0]", "ops.port: port 8002 of slave01's stub_status listener (ops.port + 2) collides with slaves[1]"]],
  ["the ops ports beyond 65535", (c) => (c.ops = { port: 65534 }),
    ["ops.port: slave01's stub_status listener (ops.port + 2) would need port 65536, beyond 65535: lower ops.port", "ops.port: slave02's stub_status listener (ops.port + 3) would need port 65537, beyond 65535: lower ops.port"]],
  ["one host's resizers on a slave's port", (c) => (c.hosts[1]!.resizer = { basePort: 8002 }),
    ['hosts[1].resizer.basePort: port 8002 of resizer replica 1 collides with slaves[1] on host "img02"']],
  ["a resizer replica beyond port 65535", (c) => (c.resizer = { basePort: 65535, replicas: 2 }),
    ["resizer.basePort: resizer replica 2 would listen on 65536, beyond 65535"]],
  ["two domains with one id", (c) => (c.domains[1]!.id = "image-origin"), ['domains[1].id: duplicate domain id "image-origin" (also domains[0])']],
  ["a server name used by two domains (in another case)", (c) => (c.domains[1]!.serverNames = ["Image-Origin.example.com"]),
    ["domains[1].serverNames[0]: server name Image-Origin.example.com is already used by domains[0]"]],
  ["a domain naming an undefined certificate", (c) => (c.domains[1]!.certificate = "wildcard"), ['domains[1].certificate: unknown certificate "wildcard" (defined: star)']],
  ["a wildcard name on an http-01 certificate", (c) => Object.assign(c, { certificates: acme() }, { domains: [{ ...c.domains[0]!, serverNames: ["*.example.com"] }, c.domains[1]] }),
    ['domains[0].serverNames[0]: *.example.com: wildcard names can only be validated with dns-01, but certificate "star" uses http-01']],
  ["two default domains", (c) => c.domains.forEach((d) => (d.default = true)), ["domains[1].default: only one domain can be the default (domains[0] already is)"]],
  ["a certificate no domain uses", (c) => (c.certificates = { star: { mode: "selfSigned" }, spare: { mode: "selfSigned" } }),
    ['certificates.spare: certificate "spare" is not used by any domain']],
  ["dns-01 without a plugin", (c) => (c.certificates = acme({ challenge: "dns-01" })),
    ["certificates.star.dnsPlugin: dns-01 needs a certbot DNS plugin name (e.g. cloudflare, route53)"]],
  ["a DNS plugin without dns-01", (c) => (c.certificates = acme({ dnsPlugin: "cloudflare" })), ["certificates.star.dnsPlugin: dnsPlugin is only used with challenge dns-01"]],
  ["staging together with another server", (c) => (c.certificates = acme({ staging: true, server: "https://127.0.0.1:14000/dir" })),
    ["certificates.star.staging: staging picks Let's Encrypt's staging directory and server names another one: set only one"]],
  ["the master on the ACME publisher's port with several hosts", (c) => Object.assign(c, { certificates: acme(), master: { httpPort: TLS_SYNC_PORT } }),
    [`master.httpPort: port ${TLS_SYNC_PORT} is where the ACME issuer host publishes certificates to the other hosts`]],
  ["a container subnet holding a host", (c) => (c.network = { subnet: "172.18.141.0/24" }),
    ["network.subnet: 172.18.141.0/24 contains hosts[0].address 172.18.141.51: containers would shadow it",
      "network.subnet: 172.18.141.0/24 contains hosts[1].address 172.18.141.52: containers would shadow it"]],
  ["a container subnet holding the VIP", (c) => (c.network = { subnet: "180.182.43.0/24" }), ["network.subnet: 180.182.43.0/24 contains the VIP 180.182.43.12"]],
  ["a VIP that is a host's address", (c) => (c.vip = { address: "172.18.141.52" }), ["vip.address: the VIP 172.18.141.52 is also the address of hosts[1]"]],
  ["mode haproxy without its hosts", (c) => (c.vip = { address: "180.182.43.12", mode: "haproxy" }),
    ["vip.haproxy: mode haproxy needs vip.haproxy.hosts: the L4 hosts HAProxy and keepalived run on"]],
  ["HAProxy hosts with the hardware mode", (c) => (c.vip = { address: "180.182.43.12", haproxy: { hosts: [lb(1)] } }),
    ["vip.mode: vip.haproxy is set but mode is hardware: set mode: haproxy, or remove vip.haproxy"]],
  ["a HAProxy image without the haproxy mode", (c) => (c.images = { vip: "registry.example.com/image-origin/vip:1.0.0" }),
    ["images.vip: the HAProxy image is only used with vip.mode haproxy"]],
  ["two L4 hosts with one name and one address", (c) => (c.vip = haproxy([lb(1), { ...lb(1), interface: "eth1" }])),
    ['vip.haproxy.hosts[1].name: duplicate L4 host name "lb01" (also vip.haproxy.hosts[0])', "vip.haproxy.hosts[1].address: duplicate address 172.18.141.61 (also vip.haproxy.hosts[0])"]],
  ["an L4 host that is an image host", (c) => (c.vip = haproxy([lb(1), { ...lb(2), name: "img02", address: "172.18.141.52" }])),
    ['vip.haproxy.hosts[1].name: "img02" is already hosts[1]: give the L4 host a name of its own',
      "vip.haproxy.hosts[1].address: 172.18.141.52 is hosts[1]: an L4 host publishes 80/443 on every address, which that host's master holds"]],
  ["an L4 host on the VIP's own address", (c) => (c.vip = haproxy([lb(1), { ...lb(2), address: "180.182.43.12" }])),
    ["vip.haproxy.hosts[1].address: 180.182.43.12 is the VIP itself: give each L4 host its own address (keepalived moves the VIP between them)"]],
  ["an IPv6 L4 host for an IPv4 VIP", (c) => (c.vip = haproxy([lb(1), { ...lb(2), address: "fd00::62" }])),
    ["vip.haproxy.hosts[1].address: an IPv6 address, but the VIP is IPv4: VRRP runs in the VIP's family"]],
  ["an L4 host's ssh options on a unix socket and the Docker API over tcp", (c) => (c.vip = haproxy([{ ...lb(1), docker: "tcp://172.18.141.61:2375", sshOpts: ["-i", "/k"] }, lb(2)])),
    ["vip.haproxy.hosts[0].docker: tcp:// is the Docker API without TLS (root on the host for anyone who reaches it): use ssh://, or tcp:// on a loopback address",
      "vip.haproxy.hosts[0].sshOpts: sshOpts only apply to ssh:// endpoints, not tcp://"]],
  ["HAProxy's stats on the VIP's HTTPS port", (c) => (c.vip = { ...haproxy([lb(1), lb(2)]), haproxy: { hosts: [lb(1), lb(2)], statsPort: 443 } }),
    ["vip.haproxy.statsPort: port 443 is master.httpsPort, which HAProxy serves on the VIP"]],
  ["per-client limits forced on behind the software VIP, which hides client addresses", (c) => Object.assign(c, { vip: haproxy([lb(1), lb(2)]), nginx: { resizeLimits: { enabled: true } } }),
    ["nginx.resizeLimits.enabled: behind vip.mode haproxy every master sees HAProxy's address for every HTTPS client, so per-client limits would limit all clients together: leave enabled unset or set it to false"]],
  ["a container subnet holding an L4 host", (c) => Object.assign(c, { network: { subnet: "10.1.2.0/24" }, vip: haproxy([lb(1), { ...lb(2), address: "10.1.2.62" }]) }),
    ["network.subnet: 10.1.2.0/24 contains vip.haproxy.hosts[1].address 10.1.2.62: containers would shadow it"]],
];

type L4Host = NonNullable<NonNullable<ClusterSpecInput["vip"]>["haproxy"]>["hosts"][number];

/** An L4 host of the software VIP. */
function lb(n: number): L4Host {
  return { name: `lb0${n}`, address: `172.18.141.6${n}`, docker: `ssh://deploy@172.18.141.6${n}` };
}

/** The software VIP on these L4 hosts. */
function haproxy(hosts: L4Host[]) {
  return { address: "180.182.43.12", mode: "haproxy" as const, haproxy: { hosts } };
}

// ---------------------------------------------------------------------------------------
// The checks as written: every `issue(<path>, <message>)` call in infra/ and in the
// resizer's settings (resizer/src/, whose problems the config forwards), its message as a
// pattern (a template's `${...}` parts match anything). A message that is not a literal
// (the forwarding call) is a wildcard call site: a case of a resizer check covers it.

interface CallSite {
  where: string;
  /** undefined: the message is computed elsewhere (forwarded). */
  pattern?: RegExp;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function messagePattern(node: ts.Expression): RegExp | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return new RegExp(`^${escape(node.text)}$`);
  if (ts.isTemplateExpression(node)) {
    return new RegExp(`^${escape(node.head.text)}${node.templateSpans.map((s) => `.*${escape(s.literal.text)}`).join("")}$`, "s");
  }
  return undefined;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Where the checks live: the config's own, and the resizer's (forwarded by the config). */
const CHECK_DIRS = ["infra", "resizer/src"];

function relationCallSites(): CallSite[] {
  const sites: CallSite[] = [];
  for (const file of CHECK_DIRS.flatMap((dir) => tsFiles(join(PROJECT_ROOT, dir)))) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "issue" && node.arguments.length === 2) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        const pattern = messagePattern(node.arguments[1]!);
        sites.push({ where: `${relative(PROJECT_ROOT, file)}:${line + 1}`, ...(pattern && { pattern }) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return sites;
}

/** The call site that produced `problem` (`path: message`). */
function siteOf(problem: string, sites: CallSite[]): CallSite[] {
  const message = problem.slice(problem.indexOf(": ") + 2);
  const literal = sites.filter((s) => s.pattern?.test(message));
  return literal.length > 0 ? literal : sites.filter((s) => s.pattern === undefined);
}

describe("every relation check reports its path and message", () => {
  for (const [name, mutate, expected] of cases) {
    test(name, () => {
      assert.deepEqual(configProblems(mutate), expected);
    });
  }

  test("the base config every case starts from is valid", () => {
    assert.deepEqual(configProblems(() => {}), []);
  });

  test("every check in infra/ has a case above (a new check needs one)", () => {
    const sites = relationCallSites();
    assert.ok(sites.length >= cases.length - 5, `found only ${sites.length} issue(...) calls in infra/: has the way relation checks report changed? Update relationCallSites()`);
    const covered = new Set<string>();
    for (const [name, , expected] of cases) {
      for (const problem of expected) {
        const from = siteOf(problem, sites);
        assert.equal(from.length, 1, `case "${name}": "${problem}" matches ${from.length} checks (${from.map((s) => s.where).join(", ")})`);
        covered.add(from[0]!.where);
        // A resizer check reaches the operator through the config's forwarding call.
        if (from[0]!.where.startsWith("resizer/")) for (const s of sites.filter((s) => s.pattern === undefined)) covered.add(s.where);
      }
    }
    const missing = sites.filter((s) => !covered.has(s.where)).map((s) => `${s.where} ${s.pattern ?? "(forwarded message)"}`);
    assert.deepEqual(missing, [], "relation checks without a case in this table");
  });
});
