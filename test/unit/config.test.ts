import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { baseConfig, configProblems, type ConfigCase } from "../helpers/config.js";

/** The problems of a config a case made invalid (a case the schema accepts fails). */
function problems(mutate: (cfg: ConfigCase) => void): string[] {
  const found = configProblems(mutate);
  assert.ok(found.length > 0, "config was accepted");
  return found;
}

// Each case: what is wrong, how to make it wrong, the path the message must start with,
// and a word of the reason an operator needs to see.
const invalid: [string, (c: ConfigCase) => void, string, RegExp][] = [
  ["host address that is not an IP", (c) => (c.hosts[1]!.address = "172.18.141"), "hosts[1].address", /IP/],
  ["host address with a port", (c) => (c.hosts[0]!.address = "172.18.141.51:22"), "hosts[0].address", /IP/],
  ["duplicate host name", (c) => (c.hosts[1]!.name = "img01"), "hosts[1].name", /duplicate host name/],
  ["duplicate host address", (c) => (c.hosts[1]!.address = "172.18.141.51"), "hosts[1].address", /duplicate address/],
  ["duplicate IPv6 address in another spelling", (c) => {
    c.hosts[0]!.address = "2001:db8::1";
    c.hosts[1]!.address = "2001:0db8:0:0::0001";
  }, "hosts[1].address", /duplicate address/],
  ["host name with upper case", (c) => (c.hosts[0]!.name = "Img01"), "hosts[0].name", /lowercase/],
  ["host name with a space", (c) => (c.hosts[0]!.name = "img 01"), "hosts[0].name", /lowercase/],
  ["docker endpoint over plain http", (c) => (c.hosts[0]!.docker = "http://172.18.141.51:2375"), "hosts[0].docker", /ssh:\/\//],
  ["a health-check path the masters would not serve", (c) => (c.vip = { address: "180.182.43.12", healthCheck: { path: "/lb-check" } as never }), "vip.healthCheck", /path/],
  ["plaintext Docker API over the network", (c) => (c.hosts[0]!.docker = "tcp://172.18.141.51:2375"), "hosts[0].docker", /without TLS/],
  ["preset larger than the largest output", (c) => (c.resizer = { maxOutputDimension: 1000, presets: { big: { w: 2000 } } }), "resizer.presets.big.w", /exceeds maxOutputDimension/],
  ["ssh endpoint without a user", (c) => (c.hosts[0]!.docker = "ssh://172.18.141.51"), "hosts[0].docker", /ssh:\/\/user@host/],
  ["sshOpts on a unix socket", (c) => {
    c.hosts[0]!.docker = "unix:///var/run/docker.sock";
    c.hosts[0]!.sshOpts = ["-i", "/root/.ssh/id"];
  }, "hosts[0].sshOpts", /only apply to ssh/],
  ["ssh option with shell characters", (c) => (c.hosts[0]!.sshOpts = ["-o", "ProxyCommand=nc $(id) 22"]), "hosts[0].sshOpts[1]", /shell/],
  ["no hosts", (c) => (c.hosts = []), "hosts", /at least one host/],
  ["server name with a space", (c) => (c.domains[0]!.serverNames = ["image origin.example.com"]), "domains[0].serverNames[0]", /DNS name/],
  ["server name smuggling a directive", (c) => (c.domains[0]!.serverNames = ["a.example.com;include"]), "domains[0].serverNames[0]", /DNS name/],
  ["server name used by two domains", (c) => (c.domains[1]!.serverNames = ["image-origin.example.com"]), "domains[1].serverNames[0]", /already used/],
  ["domain pointing at an unknown certificate", (c) => (c.domains[1]!.certificate = "wildcard"), "domains[1].certificate", /unknown certificate "wildcard"/],
  ["two default domains", (c) => {
    c.domains[0]!.default = true;
    c.domains[1]!.default = true;
  }, "domains[1].default", /only one domain/],
  ["not-found status outside 4xx", (c) => (c.domains[1]!.notFoundStatus = 500), "domains[1].notFoundStatus", /499/],
  ["wildcard name with an http-01 certificate", (c) => {
    c.certificates = { star: { mode: "acme", email: "ops@example.com" } };
    c.domains[0]!.serverNames = ["*.example.com"];
  }, "domains[0].serverNames[0]", /dns-01/],
  ["dns-01 without a plugin", (c) => (c.certificates = { star: { mode: "acme", email: "ops@example.com", challenge: "dns-01" } }), "certificates.star.dnsPlugin", /plugin/],
  ["acme without a valid e-mail", (c) => (c.certificates = { star: { mode: "acme", email: "ops" } }), "certificates.star.email", /e-mail/],
  ["unknown certificate mode", (c) => (c.certificates = { star: { mode: "letsencrypt" } as never }), "certificates.star.mode", /supplied, selfSigned, acme/],
  ["supplied certificate that is not PEM", (c) => (c.certificates = { star: { mode: "supplied", certificate: "MIIB..." } }), "certificates.star.certificate", /PEM/],
  ["certificate no domain uses", (c) => (c.certificates = { star: { mode: "selfSigned" }, spare: { mode: "selfSigned" } }), "certificates.spare", /not used/],
  ["backup with ip_hash", (c) => {
    c.upstream = { balance: { method: "ip_hash" } };
    c.slaves = [{ port: 8001 }, { port: 8002, backup: true }];
  }, "slaves[1].backup", /ip_hash/],
  ["backup with hash", (c) => {
    c.upstream = { balance: { method: "hash", key: "$request_uri", consistent: true } };
    c.slaves = [{ port: 8001 }, { port: 8002, backup: true }];
  }, "slaves[1].backup", /hash/],
  ["backup with random", (c) => {
    c.upstream = { balance: { method: "random", two: true } };
    c.slaves = [{ port: 8001 }, { port: 8002, backup: true }];
  }, "slaves[1].backup", /random/],
  ["least_time (NGINX Plus only)", (c) => (c.upstream = { balance: { method: "least_time" } as never }), "upstream.balance.method", /NGINX Plus/],
  ["unknown balancing method", (c) => (c.upstream = { balance: { method: "fastest" } as never }), "upstream.balance.method", /round_robin/],
  ["hash key with a space", (c) => (c.upstream = { balance: { method: "hash", key: "$uri $args" } }), "upstream.balance.key", /variable/],
  ["every slave down", (c) => (c.slaves = [{ port: 8001, down: true }, { port: 8002, down: true }]), "slaves", /nothing to send/],
  ["slave port colliding with another slave", (c) => (c.slaves = [{ port: 8001 }, { port: 8001 }]), "slaves[1].port", /collides with slaves\[0\]/],
  ["slave port colliding with the master", (c) => (c.slaves = [{ port: 443 }]), "slaves[0].port", /collides with master.httpsPort/],
  ["resizer replicas running into a slave port", (c) => (c.resizer = { basePort: 8000, replicas: 3 }), "resizer.basePort", /resizer replica 2 .*collides with slaves\[0\]/],
  ["one host's resizer override colliding", (c) => (c.hosts[1]!.resizer = { basePort: 8002 }), "hosts[1].resizer.basePort", /collides with slaves\[1\] on host "img02"/],
  ["port out of range", (c) => (c.master = { httpPort: 70000 }), "master.httpPort", /65535/],
  ["weight zero", (c) => (c.slaves = [{ port: 8001, weight: 0 }]), "slaves[0].weight", />=1/],
  ["fail_timeout without max_fails accounting", (c) => (c.slaves = [{ port: 8001, maxFails: 0, failTimeout: "10s" }]), "slaves[0].failTimeout", /no effect/],
  ["fail_timeout that is not an nginx time", (c) => (c.slaves = [{ port: 8001, failTimeout: "ten seconds" }]), "slaves[0].failTimeout", /nginx time/],
  ["gzip on JPEG", (c) => (c.nginx = { gzip: { types: ["text/css", "image/jpeg"] } }), "nginx.gzip.types[1]", /already compressed/],
  ["rlimit below the connections it must carry", (c) => (c.nginx = { master: { workerConnections: 5120, workerRlimitNofile: 8192 } }), "nginx.master.workerRlimitNofile", /at least 10240/],
  ["per-host rlimit override too low", (c) => (c.hosts[0]!.nginx = { slave: { workerRlimitNofile: 2048 } }), "hosts[0].nginx.slave.workerRlimitNofile", /2560/],
  ["cache levels nginx does not accept", (c) => (c.cache = { levels: "1:3" }), "cache.levels", /levels/],
  ["cache size with a unit nginx lacks", (c) => (c.cache = { maxSize: "300MB" }), "cache.maxSize", /nginx size/],
  ["profile fallback prefix climbing out", (c) => (c.nginx = { profileFallback: { prefix: "/upload/../etc/" } }), "nginx.profileFallback.prefix", /\.\./],
  ["image tag latest", (c) => (c.images = { nginx: "nginx:latest" }), "images.nginx", /latest/],
  ["image without a tag", (c) => (c.images = { nginx: "nginx" }), "images.nginx", /pinned/],
  ["VIP equal to a host address", (c) => (c.vip = { address: "172.18.141.52" }), "vip.address", /hosts\[1\]/],
  ["VIP that is not an IP", (c) => (c.vip = { address: "vip.example.com" }), "vip.address", /IP/],
  ["unknown top-level key (typo)", (c) => (c.slave = [{ port: 8001 }]), "(root)", /slave/],
  ["resizer concurrency zero", (c) => (c.resizer = { concurrency: 0 }), "resizer.concurrency", />=1/],
  ["preset without a size", (c) => (c.resizer = { presets: { thumb: { fmt: "webp" } } }), "resizer.presets.thumb", /w or h/],
  ["preset with an unknown fit", (c) => (c.resizer = { presets: { thumb: { w: 320, fit: "crop" as never } } }), "resizer.presets.thumb.fit", /cover/],
  ["cache-control with a newline", (c) => (c.resizer = { cacheControl: "public\nX-Evil: 1" }), "resizer.cacheControl", /Cache-Control/],
  ["container subnet containing a host", (c) => (c.network = { subnet: "172.18.141.0/24" }), "network.subnet", /contains hosts\[0\]/],
  ["container subnet containing the VIP", (c) => (c.network = { subnet: "180.182.43.0/24" }), "network.subnet", /VIP/],
  ["container subnet too small for the address layout", (c) => (c.network = { subnet: "10.213.0.0/28" }), "network.subnet", /\/25/],
  ["container subnet with host bits set", (c) => (c.network = { subnet: "10.213.0.5/24" }), "network.subnet", /network address/],
  ["images directory that is relative", (c) => (c.imagesDir = "images"), "imagesDir", /absolute/],
  ["resizer CPUs the Docker provider would store as another value", (c) => (c.resizer = { cpus: 10.01 }), "resizer.cpus", /stored by the Docker provider as "10\.0"/],
  ["a host's resizer CPUs finer than Docker's nano-CPUs", (c) => (c.hosts[0]!.resizer = { cpus: 1 / 3 }), "hosts[0].resizer.cpus", /value it keeps, such as 0\.3/],
];

describe("invalid configs are rejected with the path of each problem", () => {
  test(`the table holds at least 25 distinct cases (${invalid.length})`, () => {
    assert.ok(invalid.length >= 25);
    assert.equal(new Set(invalid.map(([name]) => name)).size, invalid.length);
  });
  for (const [name, mutate, path, reason] of invalid) {
    test(name, () => {
      const found = problems(mutate);
      const hit = found.find((p) => p.startsWith(`${path}: `) && reason.test(p));
      assert.ok(hit, `no problem at ${path} matching ${reason}; got:\n  ${found.join("\n  ")}`);
    });
  }
});

describe("every problem is listed in one run", () => {
  test("field errors and relation errors together", () => {
    const found = problems((c) => {
      c.hosts[0]!.address = "999.1.1.1";
      c.hosts[1]!.name = "img01";
      c.domains[1]!.certificate = "missing";
      c.slaves = [{ port: 8001 }, { port: 8001 }];
    });
    for (const path of ["hosts[0].address", "hosts[1].name", "domains[1].certificate", "slaves[1].port"]) {
      assert.ok(found.some((p) => p.startsWith(`${path}: `)), `missing ${path} in:\n  ${found.join("\n  ")}`);
    }
  });

  test("the error message carries the count and one line per problem", () => {
    const cfg = baseConfig();
    cfg.hosts[0]!.address = "x";
    cfg.vip = { address: "y" };
    assert.throws(() => parseClusterSpec(cfg), (err: Error) => {
      assert.match(err.message, /^invalid image-origin config \(2 problems\):\n {2}hosts\[0\]\.address: .*\n {2}vip\.address: /);
      return true;
    });
  });
});

describe("valid edge cases are accepted", () => {
  test("an IPv6 host reached over ssh with a bracketed address", () => {
    const cfg = baseConfig();
    cfg.hosts[0] = { name: "img01", address: "2001:db8::51", docker: "ssh://deploy@[2001:db8::51]:22" };
    assert.equal(parseClusterSpec(cfg).hosts[0]!.address, "2001:db8::51");
  });

  test("a single slave", () => {
    const spec = parseClusterSpec({ ...baseConfig(), slaves: [{ port: 8001 }] });
    assert.deepEqual(spec.slaves.map((s) => s.port), [8001]);
  });

  test("weights, max_fails, fail_timeout, max_conns, a backup and a down member with least_conn", () => {
    const spec = parseClusterSpec({
      ...baseConfig(),
      upstream: { balance: { method: "least_conn" }, keepalive: 32 },
      slaves: [
        { port: 8001, weight: 3, maxFails: 5, failTimeout: "30s", maxConns: 100 },
        { port: 8002, down: true },
        { port: 8003, backup: true },
      ],
    });
    assert.equal(spec.slaves[0]!.weight, 3);
    assert.equal(spec.slaves[2]!.backup, true);
    assert.equal(spec.upstream.keepalive, 32);
  });

  test("hash with consistent and random two", () => {
    assert.equal(parseClusterSpec({ ...baseConfig(), upstream: { balance: { method: "hash", key: "$request_uri", consistent: true } } }).upstream.balance.method, "hash");
    const random = parseClusterSpec({ ...baseConfig(), upstream: { balance: { method: "random", two: true } } }).upstream.balance;
    assert.deepEqual(random, { method: "random", two: true });
  });

  test("a domain without TLS and no certificates at all", () => {
    const spec = parseClusterSpec({ ...baseConfig(), domains: [{ id: "plain", serverNames: ["localhost"] }], certificates: {} });
    assert.equal(spec.domains[0]!.certificate, undefined);
  });

  test("wildcard names with a dns-01 certificate", () => {
    const spec = parseClusterSpec({
      ...baseConfig(),
      certificates: { star: { mode: "acme", email: "ops@example.com", challenge: "dns-01", dnsPlugin: "cloudflare", staging: true } },
      domains: [{ id: "all", serverNames: ["*.example.com", "example.com"], certificate: "star" }],
    });
    assert.equal(spec.certificates.star!.mode, "acme");
  });

  test("the seeds' values are the defaults", () => {
    const spec = parseClusterSpec(baseConfig());
    assert.deepEqual(spec.slaves.map((s) => s.port), [8001, 8002]);
    assert.equal(spec.master.httpPort, 80);
    assert.equal(spec.master.httpsPort, 443);
    assert.equal(spec.nginx.master.workerConnections, 5120);
    assert.equal(spec.nginx.master.workerRlimitNofile, 40960);
    assert.equal(spec.nginx.slave.workerConnections, 2560);
    assert.equal(spec.nginx.slave.workerRlimitNofile, 20480);
    assert.deepEqual(spec.nginx.resizeLimits, { connections: 128, rate: 100, burst: 1000 });
    assert.deepEqual(spec.nginx.expires, { thumbnail: "5s", image: "10s", script: "5m" });
    assert.equal(spec.nginx.profileFallback.prefix, "/upload/fe/profile/");
    assert.deepEqual(
      { levels: spec.cache.levels, zone: spec.cache.keysZoneSize, inactive: spec.cache.inactive, max: spec.cache.maxSize },
      { levels: "1:2", zone: "100m", inactive: "60m", max: "300m" },
    );
    assert.deepEqual(spec.cache.valid, [{ statuses: [200, 302], time: "1m" }]);
    assert.equal(spec.upstream.keepalive, 10);
    assert.equal(spec.resizer.basePort, 9000);
    assert.equal(spec.vip?.algorithm, "round_robin");
  });

  test("a partial nginx section keeps every other default", () => {
    const spec = parseClusterSpec({ ...baseConfig(), nginx: { master: { workerProcesses: 8 } } });
    assert.deepEqual(spec.nginx.master, { workerProcesses: 8, workerConnections: 5120, workerRlimitNofile: 40960, memoryMb: 512, accessLogBuffer: "64k" });
    assert.equal(spec.nginx.gzip.compLevel, 2);
  });
});

describe("stack config keys", () => {
  test("only image-origin: keys are read and the private keys are left to Pulumi secrets", () => {
    const raw = fromStackConfig({
      "image-origin:hosts": [],
      "image-origin:tlsPrivateKeys": { star: { secure: "v1:abc" } },
      "docker:host": "unix:///var/run/docker.sock",
    });
    assert.deepEqual(Object.keys(raw), ["hosts"]);
  });
});
