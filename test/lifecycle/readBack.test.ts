// The read-back functions (infra/lifecycle/readBack.ts) against the behaviour of the code they mirror (provider and Go
// standard library), including its quirks: the model is only as good as these.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { canonicalIp, formatGoDuration, goDurationReadBack, logOptsReadBack, memorySwapReadBack, nanoCpusReadBack, parseGoDuration, parseNanoCpus, PLAIN_DAEMON, ulimitsReadBack } from "../../infra/lifecycle/readBack.js";
import { cpusKeptByProvider, goDuration, providerCpus } from "../../infra/providerForm.js";

describe("cpus as the docker provider reads it back (nanoInt64ToDecimalString)", () => {
  test("whole numbers gain \".0\": the program's \"2\" and \"1\" are stored as \"2.0\" and \"1.0\"", () => {
    assert.equal(nanoCpusReadBack("2"), "2.0");
    assert.equal(nanoCpusReadBack("1"), "1.0");
  });
  test("the provider's own form is a fixed point (what a fix sends)", () => {
    for (const v of ["2.0", "1.0", "1.5", "0.5", "0.25", "3.75"]) assert.equal(nanoCpusReadBack(v), v);
  });
  test("fractions lose trailing zeros; multiples of ten keep the provider's quirk (\"10.\")", () => {
    assert.equal(nanoCpusReadBack("1.50"), "1.5");
    assert.equal(nanoCpusReadBack("0.1"), "0.1");
    assert.equal(nanoCpusReadBack("10"), "10.");
    assert.equal(nanoCpusReadBack("20"), "20.");
  });
  test("more than nanosecond precision is refused, as Docker's ParseCPUs does", () => {
    assert.throws(() => nanoCpusReadBack("0.0000000001"), /too precise/);
  });
});

describe("durations as Go prints them (time.Duration.String)", () => {
  test("minutes and hours carry their lower units", () => {
    assert.equal(goDurationReadBack("1m"), "1m0s");
    assert.equal(goDurationReadBack("5m"), "5m0s");
    assert.equal(goDurationReadBack("10m"), "10m0s");
    assert.equal(goDurationReadBack("1h"), "1h0m0s");
    assert.equal(goDurationReadBack("90s"), "1m30s");
  });
  test("seconds and sub-seconds print as written", () => {
    for (const v of ["10s", "3s", "5s", "30s", "1.5s", "500ms", "0s"]) assert.equal(goDurationReadBack(v), v);
    assert.equal(formatGoDuration(1_500_000n), "1.5ms");
    assert.equal(parseGoDuration("1m30s"), 90_000_000_000n);
  });
  test("nonsense is refused like time.ParseDuration", () => {
    assert.throws(() => parseGoDuration("5 m"), /invalid duration/);
    assert.throws(() => parseGoDuration("m"), /invalid duration/);
  });
});

describe("what dockerd adds", () => {
  test("an unset memory-swap becomes twice the memory, or -1 without swap accounting", () => {
    assert.equal(memorySwapReadBack(undefined, 1024, PLAIN_DAEMON), 2048);
    assert.equal(memorySwapReadBack(undefined, 1024, { ...PLAIN_DAEMON, swapLimit: false }), -1);
    assert.equal(memorySwapReadBack(1024, 1024, PLAIN_DAEMON), 1024);
    assert.equal(memorySwapReadBack(undefined, undefined, PLAIN_DAEMON), undefined);
  });
  test("daemon default ulimits appear for names the container does not set", () => {
    const daemon = { ...PLAIN_DAEMON, ulimits: [{ name: "nofile", soft: 1, hard: 1 }, { name: "nproc", soft: 2, hard: 2 }] };
    assert.deepEqual(ulimitsReadBack([{ name: "nofile", soft: 4096, hard: 4096 }], daemon), [
      { name: "nofile", soft: 4096, hard: 4096 },
      { name: "nproc", soft: 2, hard: 2 },
    ]);
  });
  test("daemon log options reach containers on the default driver; cache options reach every container", () => {
    const daemon = { ...PLAIN_DAEMON, logDriver: "local", logOpts: { "max-size": "10m", "cache-disabled": "true" } };
    assert.deepEqual(logOptsReadBack("local", { "max-file": "5" }, daemon), { "max-size": "10m", "cache-disabled": "true", "max-file": "5" });
    assert.deepEqual(logOptsReadBack("json-file", { "max-file": "5" }, daemon), { "cache-disabled": "true", "max-file": "5" });
  });
  test("a published host IP reads back in net.IP.String() form", () => {
    assert.equal(canonicalIp("172.18.141.51"), "172.18.141.51");
    assert.equal(canonicalIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
    assert.equal(canonicalIp("2001:db8:0:1:0:0:0:0"), "2001:db8:0:1::");
  });
});

describe("the program sends what the provider stores (infra/providerForm.ts)", () => {
  test("every CPU count the config accepts, in tenths and quarters up to 64, is a fixed point of the read-back", () => {
    for (let tenths = 1; tenths <= 640; tenths++) {
      for (const cpus of [tenths / 10, tenths / 4]) {
        if (cpus > 64 || !cpusKeptByProvider(cpus)) continue;
        assert.equal(nanoCpusReadBack(providerCpus(cpus)), providerCpus(cpus), String(cpus));
        assert.equal(parseNanoCpus(providerCpus(cpus)), BigInt(Math.round(cpus * 1e9)), String(cpus));
      }
    }
  });
  test("what the config refuses is exactly what would come back as another value", () => {
    assert.equal(cpusKeptByProvider(10.01), false);
    assert.equal(nanoCpusReadBack("10.01"), "10.0");
    assert.equal(cpusKeptByProvider(1 / 3), false);
    assert.throws(() => parseNanoCpus(String(1 / 3)), /too precise/);
  });
  test("whole seconds as Go prints a duration", () => {
    for (const seconds of [0, 3, 10, 59, 60, 61, 300, 600, 3599, 3600, 5400, 86_400]) {
      const go = goDuration(seconds);
      assert.equal(goDurationReadBack(go), go, String(seconds));
      assert.equal(parseGoDuration(go), BigInt(seconds) * 1_000_000_000n);
    }
    assert.deepEqual([300, 60, 600].map(goDuration), ["5m0s", "1m0s", "10m0s"]);
  });
});
