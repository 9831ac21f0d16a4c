import assert from "node:assert/strict";
import {
  BenchOutputError,
  metricNumber,
  optionalMetricNumber,
  optionalMetricString,
  parseBenchMetrics,
} from "./bench_metrics.ts";

Deno.test("parseBenchMetrics() takes the last metrics line among other output", () => {
  const stdout = [
    "decode run 1/2: ...",
    'BENCH_METRICS {"decode_pps": 1}',
    "decode run 2/2: ...",
    'BENCH_METRICS {"decode_pps": 2, "note": "x", "ok": true, "none": null}',
    "",
  ].join("\n");
  assert.deepEqual(parseBenchMetrics(stdout), {
    decode_pps: 2,
    note: "x",
    ok: true,
    none: null,
  });
});

Deno.test("parseBenchMetrics() refuses output without a flat JSON object", async (t) => {
  for (
    const [name, stdout] of [
      ["no metrics line", "hello\n"],
      ["not JSON", "BENCH_METRICS {oops\n"],
      ["an array", "BENCH_METRICS [1]\n"],
      ["a nested value", 'BENCH_METRICS {"a": {"b": 1}}\n'],
    ]
  ) {
    await t.step(name, () => {
      assert.throws(() => parseBenchMetrics(stdout), BenchOutputError);
    });
  }
});

Deno.test("metricNumber() and friends check the type of what they read", () => {
  const metrics = { n: 3, s: "skip", nan: null, text: "1" };
  assert.equal(metricNumber(metrics, "n"), 3);
  assert.throws(() => metricNumber(metrics, "missing"), /missing must be a finite number/);
  assert.throws(() => metricNumber(metrics, "text"), /text must be a finite number/);
  assert.equal(optionalMetricNumber(metrics, "nan"), null);
  assert.equal(optionalMetricNumber(metrics, "missing"), null);
  assert.equal(optionalMetricString(metrics, "s"), "skip");
  assert.equal(optionalMetricString(metrics, "missing"), null);
  assert.throws(() => optionalMetricString(metrics, "n"), /n must be a string/);
});
