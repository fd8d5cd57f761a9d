// Reading the resizers' /metrics for the benchmark's transform counts, against the text the
// resizer's own registry writes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasMetric, sumMetric, transformsDone } from "../../bench/lib/prometheus.js";
import { Admission } from "../../resizer/src/admission.js";
import { createMetrics } from "../../resizer/src/metrics.js";

async function resizerText(record: (m: ReturnType<typeof createMetrics>) => void): Promise<{ text: string; metrics: ReturnType<typeof createMetrics> }> {
  const metrics = createMetrics(new Admission(2, 4, 2 ** 30));
  record(metrics);
  return { text: await metrics.registry.metrics(), metrics };
}

describe("the resizers' /metrics as the benchmark reads them", () => {
  it("transforms are the resizer's own count, not its 200 answers (identical requests share one)", async () => {
    const { text } = await resizerText((m) => {
      m.requests.inc({ route: "resize", status: "200" }, 64);
      m.requests.inc({ route: "legacy", status: "200" }, 2);
      m.transforms.inc(3);
      m.coalesced.inc(63);
    });
    assert.equal(transformsDone(text), 3);
  });

  it("a resizer without the counter is refused rather than guessed at", () => {
    assert.throws(() => transformsDone('resizer_http_requests_total{route="resize",status="200"} 5'), /resizer_transforms_total/);
  });

  it("sums by label value or predicate, and knows a metric that is absent", () => {
    const text = [
      "# HELP x_total a counter",
      "# TYPE x_total counter",
      'x_total{route="resize",status="200"} 3',
      'x_total{route="resize",status="503"} 2',
      'x_total{route="other",status="200"} 1',
      'x_total_created{route="resize"} 1700000000',
      "y 7",
    ].join("\n");
    assert.equal(sumMetric(text, "x_total", { route: "resize" }), 5);
    assert.equal(sumMetric(text, "x_total", { status: (s) => s.startsWith("5") }), 2);
    assert.equal(sumMetric(text, "y"), 7);
    assert.equal(hasMetric(text, "z"), false);
    assert.equal(sumMetric(text, "z"), 0);
  });
});
