// Values the config schema must refuse because nginx would (each was found by running
// `nginx -t` on rendered configs): a config that validates must render a config nginx loads.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseClusterSpec, type ClusterSpecInput } from "../../infra/config.js";

const base: ClusterSpecInput = {
  hosts: [{ name: "h1", address: "10.0.0.1", docker: "unix:///var/run/docker.sock" }],
  domains: [{ id: "d1", serverNames: ["a.example"] }],
};

function problems(extra: Partial<ClusterSpecInput>): string[] {
  try {
    parseClusterSpec({ ...base, ...extra });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

function rejects(extra: Partial<ClusterSpecInput>, path: string, pattern: RegExp): void {
  const found = problems(extra);
  assert.ok(
    found.some((p) => p.startsWith(`${path}:`) && pattern.test(p)),
    `expected a problem at ${path} matching ${pattern}, got:\n  ${found.join("\n  ") || "(none)"}`,
  );
}

describe("nginx times", () => {
  it("accepts plain numbers and units from largest to smallest", () => {
    for (const t of ["0", "5", "500ms", "10s", "1h30m", "1d2h3m4s", "2M", "1y"]) {
      assert.deepEqual(problems({ nginx: { keepaliveTimeout: t } }), [], t);
    }
  });

  it("refuses units out of order or repeated (nginx: invalid value)", () => {
    for (const t of ["1m1h", "5s5s", "1s1m", "", "s", "5x", "1.5s"]) {
      rejects({ nginx: { keepaliveTimeout: t } }, "nginx.keepaliveTimeout", /nginx time/);
    }
  });

  it("refuses ms where nginx counts seconds: expires, fail_timeout, cache validity, inactive, header timeout", () => {
    rejects({ nginx: { expires: { image: "500ms" } } }, "nginx.expires.image", /seconds/);
    rejects({ nginx: { keepaliveHeaderTimeout: "500ms" } }, "nginx.keepaliveHeaderTimeout", /seconds/);
    rejects({ slaves: [{ port: 8001, failTimeout: "500ms" }] }, "slaves[0].failTimeout", /seconds/);
    rejects({ cache: { inactive: "500ms" } }, "cache.inactive", /seconds/);
    rejects({ cache: { valid: [{ statuses: [200], time: "500ms" }] } }, "cache.valid[0].time", /seconds/);
  });
});

describe("nginx sizes", () => {
  it("refuses g where nginx parses a memory size (gzip_min_length, keys zone)", () => {
    rejects({ nginx: { gzip: { minLength: "1g" } } }, "nginx.gzip.minLength", /no g/);
    rejects({ cache: { keysZoneSize: "1g" } }, "cache.keysZoneSize", /no g/);
    assert.deepEqual(problems({ cache: { maxSize: "10g" } }), []);
  });

  it("refuses a keys zone too small for nginx's own bookkeeping", () => {
    rejects({ cache: { keysZoneSize: "8k" } }, "cache.keysZoneSize", /at least 1m/);
    assert.deepEqual(problems({ cache: { keysZoneSize: "1m" } }), []);
  });
});

describe("gzip types", () => {
  it("refuses text/html (always compressed) and duplicates, which nginx warns about", () => {
    rejects({ nginx: { gzip: { types: ["text/html"] } } }, "nginx.gzip.types[0]", /always compressed/);
    rejects({ nginx: { gzip: { types: ["text/css", "text/css"] } } }, "nginx.gzip.types[1]", /twice/);
  });
});

describe("cache validity", () => {
  it("refuses a status given two validities (nginx silently uses the first)", () => {
    rejects(
      { cache: { valid: [{ statuses: [200], time: "1m" }, { statuses: [404, 200], time: "5m" }] } },
      "cache.valid[1].statuses",
      /200 already/,
    );
    rejects({ cache: { valid: [{ statuses: "any", time: "1m" }, { statuses: "any", time: "5m" }] } }, "cache.valid[1].statuses", /any already/);
  });
});

describe("upstream hash key", () => {
  it("accepts variable expressions", () => {
    for (const key of ["$request_uri", "$remote_addr:$arg_src", "img/$uri", "$1"]) {
      assert.deepEqual(problems({ upstream: { balance: { method: "hash", key } } }), [], key);
    }
  });

  it("refuses a '$' that starts no variable name (nginx: invalid variable name)", () => {
    for (const key of ["$", "a$-b", "$$uri", "x$"]) {
      rejects({ upstream: { balance: { method: "hash", key } } }, "upstream.balance.key", /variable/);
    }
  });

  it("refuses what could break out of the directive", () => {
    for (const key of ["$uri;", "$uri x", "$uri}", '"$uri"', "$uri\n"]) {
      rejects({ upstream: { balance: { method: "hash", key } } }, "upstream.balance.key", /variable/);
    }
  });
});
