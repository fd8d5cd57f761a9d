// The storyboard routes of the resizer's HTTP service (resizer/src/routes.ts): what the
// master's locations reach. Real HTTP on loopback, real stills, real sharp.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { NOT_FOUND_STATUS_HEADER } from "../../resizer/src/routes.js";
import { storyboardSchema } from "../../resizer/src/storyboard/settings.js";
import { fixtureTree, startResizer, type TestResizer } from "../helpers/resizer.js";
import { range, writeStills } from "../helpers/stills.js";

const GRID = "w=160&h=90&cols=4&rows=3";
const TRACK = `/storyboard/drama/E001.vtt?${GRID}&every=10`;
const SHEET = `/storyboard/drama/E001/sprite-1.jpg?${GRID}`;

let svc: TestResizer;
let tree: Awaited<ReturnType<typeof fixtureTree>>;
before(async () => {
  tree = await fixtureTree();
  const stillshot = path.join(tree.root, "stillshot");
  await writeStills(path.join(stillshot, "drama", "E001"), range(1, 13), { width: 640, height: 360 });
  await writeStills(path.join(stillshot, "drama", "GAP"), [1, 2, 4], { width: 320, height: 180 });
  await mkdir(path.join(stillshot, "drama", "EMPTY"), { recursive: true });
  svc = await startResizer({ storyboard: storyboardSchema.parse({ intervals: { drama: 5 } }) }, tree);
});
after(() => svc.close());

const noRedirect = (target: string, headers: Record<string, string> = {}) => fetch(svc.base + target, { headers, redirect: "manual" });

/** The request log line of the last request to `target`. */
const logOf = (params: string) => [...svc.logs].reverse().find((l) => l.msg === "request" && l.params === params);

describe("storyboard routes of the resizer", () => {
  it("answer the track and its sheets, labelled by route in the metrics and the log", async () => {
    const track = await svc.get(TRACK);
    assert.equal(track.status, 200);
    assert.equal(track.headers.get("content-type"), "text/vtt; charset=utf-8");
    assert.equal(track.headers.get("access-control-allow-origin"), "*");
    assert.match(track.bytes.toString(), /^WEBVTT\n\n00:00\.000 --> 00:10\.000\nE001\/sprite-0\.jpg\?w=160&h=90&cols=4&rows=3#xywh=0,0,160,90\n/);

    const sheet = await svc.get(SHEET);
    assert.equal(sheet.status, 200);
    assert.equal(sheet.headers.get("content-type"), "image/jpeg");
    assert.deepEqual([(await sharp(sheet.bytes).metadata()).width, (await sharp(sheet.bytes).metadata()).height], [160, 90], "sheet 1 holds the 13th still alone");

    const auto = await svc.get(`${SHEET}&fmt=auto`, { accept: "image/webp" });
    assert.equal(auto.headers.get("content-type"), "image/webp");
    assert.equal(auto.headers.get("vary"), "Accept");

    const metrics = (await svc.get("/metrics")).bytes.toString();
    assert.match(metrics, /resizer_http_requests_total\{route="storyboard_track",status="200"\} 1\n/);
    assert.match(metrics, /resizer_http_requests_total\{route="storyboard_sheet",status="200"\} 2\n/);
    assert.deepEqual(
      [logOf(TRACK)?.route, logOf(SHEET)?.route, logOf(`${SHEET}&fmt=auto`)?.variant],
      ["storyboard_track", "storyboard_sheet", "webp"],
    );
    assert.ok(Number(logOf(SHEET)?.estimatedBytes) > 16 * 1024 * 1024, "a sheet's log line carries its memory estimate");
  });

  it("identical sheet requests at once share one sheet, without taking queue places", async () => {
    // One slot, no queue: a second, different sheet is refused meanwhile; identical ones share.
    const busy = await startResizer({ concurrency: 1, queue: 0, storyboard: storyboardSchema.parse({ intervals: { drama: 5 } }) }, tree);
    try {
      const same = `/storyboard/drama/E001/sprite-0.webp?${GRID}`;
      const answers = await Promise.all(Array.from({ length: 6 }, () => busy.get(same)));
      assert.deepEqual(answers.map((a) => a.status), Array(6).fill(200));
      assert.ok(answers.every((a) => a.bytes.equals(answers[0]!.bytes)));
      const metrics = (await busy.get("/metrics")).bytes.toString();
      assert.match(metrics, /^resizer_coalesced_requests_total 5$/m);
    } finally {
      await busy.close();
    }
  });

  it("redirect another spelling (301) to the canonical URL, every parameter spelled out", async () => {
    const res = await noRedirect("/storyboard/drama/E001.vtt");
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), "/storyboard/drama/E001.vtt?w=160&h=90&cols=10&rows=10&every=5", "the programme's own interval");
    const sheet = await noRedirect(`/storyboard/drama/E001/sprite-01.jpeg?${GRID}&every=5`);
    assert.equal(sheet.status, 301);
    assert.equal(sheet.headers.get("location"), `/storyboard/drama/E001/sprite-1.jpg?${GRID}`);
  });

  it("answer HEAD and If-None-Match like GET, without a body", async () => {
    const full = await svc.get(SHEET);
    const head = await fetch(svc.base + SHEET, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("etag"), full.headers.get("etag"));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const revalidated = await svc.get(SHEET, { "if-none-match": full.headers.get("etag")! });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.bytes.length, 0);
  });

  it(`answer a missing episode, sheet or still with the status in ${NOT_FOUND_STATUS_HEADER} (the master's domain), keeping the reason`, async () => {
    const cases: [string, RegExp][] = [
      [`/storyboard/drama/NONE.vtt?${GRID}&every=10`, /no such episode/],
      [`/storyboard/drama/EMPTY.vtt?${GRID}&every=10`, /no stills/],
      [`/storyboard/drama/E001/sprite-2.jpg?${GRID}`, /sheet 2 does not exist/],
      [`/storyboard/drama/GAP.vtt?${GRID}&every=10`, /still 3 is missing between 1 and 4/],
    ];
    for (const [target, reason] of cases) {
      for (const [header, status] of [[undefined, 404], ["400", 400], ["410", 410], ["200", 404], ["4000", 404], ["abc", 404]] as const) {
        const res = await svc.get(target, header === undefined ? {} : { [NOT_FOUND_STATUS_HEADER]: header });
        assert.equal(res.status, status, `${target} with ${header}`);
        assert.match(JSON.parse(res.bytes.toString()).message, reason);
      }
    }
    // Only the routes that say so: a missing resize source stays 404 whatever the header.
    assert.equal((await svc.get("/resize?src=none.jpg&w=10", { [NOT_FOUND_STATUS_HEADER]: "400" })).status, 404);
    // Other refusals keep their own status.
    assert.equal((await svc.get(`/storyboard/drama/E001.vtt?${GRID}&every=10&cols=1000`, { [NOT_FOUND_STATUS_HEADER]: "410" })).status, 400);
  });
});
