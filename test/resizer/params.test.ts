// Parameter parsing and the canonical form (pure, no server).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResizeError } from "../../resizer/src/errors.js";
import {
  canonicalTransform,
  DEFAULT_QUALITY,
  parseResizeQuery,
  parseSrc,
  parseTimthumbQuery,
  type ParamLimits,
} from "../../resizer/src/params.js";

const limits: ParamLimits = {
  maxOutputDimension: 4096,
  presets: { thumb_320x180: { w: 320, h: 180 }, card: { w: 640, fmt: "auto" } },
  presetsOnly: false,
};
const canonical = (query: string, l = limits) => parseResizeQuery(query, l).canonical;
const legacy = (query: string, l = limits) => parseTimthumbQuery(query, l).canonical;

function refused(run: () => unknown, param: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ResizeError, `expected a ResizeError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.ok(e.message.startsWith(`${param}:`), `reason should name ${param}: ${e.message}`);
    return true;
  });
}

describe("canonical form", () => {
  it("is the same for equivalent spellings: order, defaults, aliases, case, leading zeros", () => {
    const expected = "src=a/b.jpg&w=320&h=180";
    for (const query of [
      "src=a/b.jpg&w=320&h=180",
      "h=180&w=320&src=a/b.jpg",
      "src=/a/b.jpg&w=0320&h=180",
      "src=a/b.jpg&w=320&h=180&fit=cover&position=centre",
      "src=a/b.jpg&w=320&h=180&fit=COVER&pos=center",
      "src=a/b.jpg&w=320&h=180&enlarge=0",
      "src=a/b.jpg&w=320&h=180&fmt=",
    ]) {
      assert.equal(canonical(query), expected, query);
    }
  });

  it("spells formats one way and drops a quality equal to the format's default", () => {
    assert.equal(canonical(`src=a.jpg&w=10&fmt=JPG&q=${DEFAULT_QUALITY.jpeg}`), "src=a.jpg&w=10&fmt=jpeg");
    assert.equal(canonical(`src=a.jpg&w=10&fmt=webp&q=${DEFAULT_QUALITY.webp}`), "src=a.jpg&w=10&fmt=webp");
    assert.equal(canonical(`src=a.jpg&w=10&fmt=avif&q=${DEFAULT_QUALITY.avif}`), "src=a.jpg&w=10&fmt=avif");
    assert.equal(canonical("src=a.jpg&w=10&fmt=jpeg&q=80"), "src=a.jpg&w=10&fmt=jpeg&q=80", "any other q is kept");
    assert.equal(canonical("src=a.jpg&w=10&fmt=png&q=30"), "src=a.jpg&w=10&fmt=png", "PNG is lossless: q has no effect");
    assert.equal(canonical("src=a.jpg&w=10&q=80"), "src=a.jpg&w=10&q=80", "without fmt the default depends on the source");
    assert.equal(canonical("src=a.jpg&w=10&fmt=auto&q=70"), "src=a.jpg&w=10&fmt=auto&q=70");
  });

  it("drops fit and position when they cannot change the result", () => {
    assert.equal(canonical("src=a.jpg&w=100&fit=fill&position=north"), "src=a.jpg&w=100", "one side keeps the aspect ratio");
    assert.equal(canonical("src=a.jpg&w=100&h=50&fit=inside&position=north"), "src=a.jpg&w=100&h=50&fit=inside");
    assert.equal(canonical("src=a.jpg&w=100&h=50&fit=contain&position=top"), "src=a.jpg&w=100&h=50&fit=contain&position=north");
    assert.equal(canonical("src=a.jpg&w=100&h=50&position=attention"), "src=a.jpg&w=100&h=50&position=attention");
  });

  it("keeps enlarge only when asked", () => {
    assert.equal(canonical("src=a.jpg&w=100&enlarge=true"), "src=a.jpg&w=100&enlarge=1");
    assert.equal(canonical("src=a.jpg&w=100&enlarge=1"), "src=a.jpg&w=100&enlarge=1");
  });

  it("percent-encodes src except its slashes, so the header stays ASCII", () => {
    assert.equal(canonical("src=dir%20x/%EC%8D%B8.jpg&w=10"), "src=dir%20x/%EC%8D%B8.jpg&w=10");
  });

  it("is idempotent", () => {
    const t = parseResizeQuery("src=a.jpg&w=100&h=50&fit=contain&position=top&fmt=webp&q=70&enlarge=1", limits).transform;
    assert.deepEqual(canonicalTransform(t), t);
  });
});

describe("presets", () => {
  it("expand to the same canonical transform as the spelled-out request", () => {
    assert.equal(canonical("src=a.jpg&p=thumb_320x180"), canonical("src=a.jpg&w=320&h=180"));
    assert.equal(canonical("p=card&src=a.jpg"), "src=a.jpg&w=640&fmt=auto");
  });

  it("cannot be mixed with transform parameters, and must exist", () => {
    refused(() => canonical("src=a.jpg&p=thumb_320x180&w=10"), "p");
    refused(() => canonical("src=a.jpg&p=nope"), "p");
    refused(() => canonical("src=a.jpg&p=__proto__"), "p");
  });

  it("presetsOnly allows exactly the presets' transforms, however they are spelled", () => {
    const only = { ...limits, presetsOnly: true };
    assert.equal(canonical("src=a.jpg&p=thumb_320x180", only), "src=a.jpg&w=320&h=180");
    assert.equal(canonical("src=a.jpg&w=320&h=180&fit=cover", only), "src=a.jpg&w=320&h=180");
    assert.equal(legacy("src=/a.jpg&w=320&h=180", only), "src=a.jpg&w=320&h=180", "old links of a preset size keep working");
    refused(() => canonical("src=a.jpg&w=321&h=180", only), "p");
    refused(() => legacy("src=a.jpg&w=999", only), "p");
  });
});

describe("TimThumb alias", () => {
  it("maps zc 0-3 to fill, cover, contain, inside (1 by default)", () => {
    assert.equal(legacy("src=a.jpg&w=100&h=50&zc=0"), "src=a.jpg&w=100&h=50&fit=fill");
    assert.equal(legacy("src=a.jpg&w=100&h=50&zc=1"), "src=a.jpg&w=100&h=50");
    assert.equal(legacy("src=a.jpg&w=100&h=50"), "src=a.jpg&w=100&h=50");
    assert.equal(legacy("src=a.jpg&w=100&h=50&zc=2"), "src=a.jpg&w=100&h=50&fit=contain");
    assert.equal(legacy("src=a.jpg&w=100&h=50&zc=3"), "src=a.jpg&w=100&h=50&fit=inside");
    refused(() => legacy("src=a.jpg&w=100&zc=4"), "zc");
  });

  it("maps alignment letters in any order, used only when cropping", () => {
    assert.equal(legacy("src=a.jpg&w=100&h=50&a=t"), "src=a.jpg&w=100&h=50&position=north");
    assert.equal(legacy("src=a.jpg&w=100&h=50&a=tl"), "src=a.jpg&w=100&h=50&position=northwest");
    assert.equal(legacy("src=a.jpg&w=100&h=50&a=LT"), "src=a.jpg&w=100&h=50&position=northwest");
    assert.equal(legacy("src=a.jpg&w=100&h=50&a=br"), "src=a.jpg&w=100&h=50&position=southeast");
    assert.equal(legacy("src=a.jpg&w=100&h=50&a=c"), "src=a.jpg&w=100&h=50");
    assert.equal(legacy("src=a.jpg&w=100&h=50&zc=2&a=t"), "src=a.jpg&w=100&h=50&fit=contain", "TimThumb centres letterboxes");
    refused(() => legacy("src=a.jpg&w=100&h=50&a=tb"), "a");
    refused(() => legacy("src=a.jpg&w=100&h=50&a=x"), "a");
  });

  it("reads w=0/h=0 as 'from the other side' and neither as 100x100, like TimThumb", () => {
    assert.equal(legacy("src=a.jpg&w=0&h=50"), "src=a.jpg&h=50");
    assert.equal(legacy("src=a.jpg"), "src=a.jpg&w=100&h=100");
    assert.equal(legacy("src=a.jpg&w=&h="), "src=a.jpg&w=100&h=100");
  });

  it("accepts and ignores filters/sharpen/canvas parameters, refuses others", () => {
    assert.equal(legacy("src=a.jpg&w=100&f=2&s=1&cc=ffffff&ct=1"), "src=a.jpg&w=100");
    refused(() => legacy("src=a.jpg&w=100&fit=fill"), "fit");
  });

  it("produces the canonical string of the equivalent /resize request", () => {
    assert.equal(legacy("src=/dir/a.jpg&w=320&h=180&zc=1&a=t&q=70"), canonical("src=dir/a.jpg&w=320&h=180&position=north&q=70"));
  });
});

describe("bad parameters are refused with 400 naming the parameter", () => {
  for (const [query, param] of [
    ["w=100", "src"],
    ["src=a.jpg", "w"],
    ["src=a.jpg&w=0", "w"],
    ["src=a.jpg&w=-5", "w"],
    ["src=a.jpg&w=abc", "w"],
    ["src=a.jpg&w=1.5", "w"],
    ["src=a.jpg&w=1e3", "w"],
    ["src=a.jpg&w=0x10", "w"],
    ["src=a.jpg&w=%2B5", "w"],
    ["src=a.jpg&w=4097", "w"],
    ["src=a.jpg&h=99999999999", "h"],
    ["src=a.jpg&w=10&q=0", "q"],
    ["src=a.jpg&w=10&q=101", "q"],
    ["src=a.jpg&w=10&fmt=gif", "fmt"],
    ["src=a.jpg&w=10&fmt=tiff", "fmt"],
    ["src=a.jpg&w=10&h=10&fit=crop", "fit"],
    ["src=a.jpg&w=10&h=10&position=middle", "position"],
    ["src=a.jpg&w=10&h=10&fit=contain&position=entropy", "position"],
    ["src=a.jpg&w=10&enlarge=yes", "enlarge"],
    ["src=a.jpg&w=10&w=2000", "w"],
    ["src=a.jpg&src=b.jpg&w=10", "src"],
    ["src=a.jpg&w=10&h=10&pos=north&position=south", "position"],
    ["src=a.jpg&w=10&cachebuster=1", "cachebuster"],
  ] as const) {
    it(`${query} -> ${param}`, () => refused(() => canonical(query), param));
  }
});

describe("src is confined to the images root before any I/O", () => {
  for (const text of [
    "../etc/passwd",
    "a/../../etc/passwd",
    "a/./b.jpg",
    "..",
    "a//b.jpg",
    "//etc/passwd",
    "a\\..\\b.jpg",
    "a.jpg\u0000.png",
    "a\nb.jpg",
    "http://evil.example/a.jpg",
    "file:///etc/passwd",
    "x".repeat(1025),
  ]) {
    it(`refuses ${JSON.stringify(text.slice(0, 40))}`, () => refused(() => parseSrc(text), "src"));
  }

  it("decodes percent-escapes once, so %2e%2e is '..' and refused", () => {
    refused(() => canonical("src=%2e%2e/%2e%2e/etc/passwd&w=10"), "src");
    refused(() => canonical("src=a%2F..%2F..%2Fb&w=10"), "src");
    refused(() => canonical("src=a%00.jpg&w=10"), "src");
    refused(() => canonical("src=a%5C..%5Cb&w=10"), "src");
  });

  it("reads a leading '/' as the root, not the filesystem", () => {
    assert.equal(parseSrc("/etc/passwd"), "etc/passwd");
    assert.equal(parseSrc("dir/a b.jpg"), "dir/a b.jpg");
  });
});
