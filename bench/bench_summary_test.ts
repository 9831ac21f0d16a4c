import assert from "node:assert/strict";
import type { BenchRow } from "./bench_row.ts";
import { benchRatio, benchTargetMet } from "./bench_row.ts";
import { formatBenchSummary, formatRate } from "./bench_summary.ts";

function row(overrides: Partial<BenchRow>): BenchRow {
  return {
    caseName: "decode",
    label: "read + decodePacket (1 core)",
    unit: "packets/s",
    ours: 1_500_000,
    reference: { name: "tcpdump -r -w /dev/null", value: 12_000_000 },
    target: { kind: "atLeast", value: 1_000_000 },
    status: "measured",
    note: null,
    ...overrides,
  };
}

Deno.test("formatRate() groups thousands and keeps two decimals below 100", () => {
  assert.equal(formatRate(1_532_916.4), "1,532,916");
  assert.equal(formatRate(50_000), "50,000");
  assert.equal(formatRate(0.4321), "0.43");
  assert.equal(formatRate(Infinity), "Infinity");
});

Deno.test("benchRatio() is ours over the reference, or null without both", () => {
  assert.equal(benchRatio(row({ ours: 3, reference: { name: "x", value: 12 } })), 0.25);
  assert.equal(benchRatio(row({ reference: null })), null);
  assert.equal(benchRatio(row({ ours: null, status: "skipped" })), null);
  assert.equal(benchRatio(row({ reference: { name: "x", value: 0 } })), null);
});

Deno.test("benchRatio() and benchTargetMet() take a row's own ratio over ours / reference", () => {
  // Medians of paired runs: ours / reference would say 0.95, the pairs' median 0.85.
  const paired = row({
    ours: 95,
    reference: { name: "off", value: 100 },
    target: { kind: "ratioAtLeast", value: 0.9 },
    ratio: 0.85,
  });
  assert.equal(benchRatio(paired), 0.85);
  assert.equal(benchTargetMet(paired), false);
  assert.equal(benchRatio({ ...paired, reference: null }), null);
});

Deno.test("benchTargetMet() checks both kinds of target", async (t) => {
  await t.step("an absolute bound", () => {
    assert.equal(benchTargetMet(row({ ours: 1_000_000 })), true);
    assert.equal(benchTargetMet(row({ ours: 999_999 })), false);
  });
  await t.step("a share of the reference", () => {
    const target = { kind: "ratioAtLeast", value: 0.5 } as const;
    const reference = { name: "tcpdump", value: 400_000 };
    assert.equal(benchTargetMet(row({ ours: 200_000, reference, target })), true);
    assert.equal(benchTargetMet(row({ ours: 199_999, reference, target })), false);
    // Without a measured reference the ratio says nothing (see bench_row_test.ts).
    assert.equal(benchTargetMet(row({ ours: 1, reference: null, target })), null);
  });
  await t.step("nothing to meet: no target, skipped or failed", () => {
    assert.equal(benchTargetMet(row({ target: null })), null);
    assert.equal(benchTargetMet(row({ ours: null, status: "skipped" })), null);
    assert.equal(benchTargetMet(row({ ours: null, status: "failed" })), null);
  });
});

Deno.test("formatBenchSummary() lays out one aligned line per row with its outcome", () => {
  const rows: BenchRow[] = [
    row({ note: "1532916 packets; one core" }),
    row({
      caseName: "ingest",
      label: "postgres over HTTP",
      unit: "records/s",
      ours: 42_000,
      reference: { name: "COPY into postgres", value: 420_000 },
      target: { kind: "atLeast", value: 50_000 },
    }),
    row({
      caseName: "flows",
      label: "ONNX scoring",
      unit: "flows/s",
      reference: null,
      target: null,
    }),
    row({
      caseName: "aggregation",
      label: "one pass",
      ours: null,
      reference: null,
      target: { kind: "ratioAtLeast", value: 5, text: ">= 5 x ingest target" },
      status: "skipped",
      note: "no model at ./models/flow_classifier.onnx (run deno task train)",
    }),
    row({
      caseName: "capture",
      label: "(case)",
      ours: null,
      reference: null,
      target: null,
      status: "failed",
      note: "tcpreplay failed",
    }),
  ];
  const lines = formatBenchSummary(rows).split("\n");
  assert.match(lines[0], /^case\s+ours\s+reference\s+ratio\s+target\s+result$/);
  assert.match(lines[1], /^-+( +-+){5}$/);
  assert.match(
    lines[2],
    /^decode: read \+ decodePacket \(1 core\) +1,500,000 packets\/s +12,000,000 packets\/s \(tcpdump -r -w \/dev\/null\) +0\.13 +>= 1,000,000 packets\/s +met$/,
  );
  assert.equal(lines[3], "    1532916 packets; one core");
  assert.match(lines[4], /^ingest: postgres over HTTP .* 0\.10 +>= 50,000 records\/s +NOT MET$/);
  assert.match(lines[5], /^flows: ONNX scoring +1,500,000 flows\/s +- +- +- +-$/);
  assert.match(
    lines[6],
    /^aggregation: one pass +- +- +- +>= 5 x ingest target +skipped: no model at \.\/models\/flow_classifier\.onnx \(run deno task train\)$/,
  );
  assert.match(lines[7], /^capture: \(case\) .*FAILED: tcpreplay failed$/);
  assert.equal(lines.length, 8);
  // Columns line up: every row's ratio ends where the header's "ratio" ends.
  const ratioEnd = lines[0].indexOf("ratio") + "ratio".length;
  for (const line of [lines[2], lines[4]]) {
    assert.match(line.slice(0, ratioEnd), /\d\.\d\d$/);
  }
});

Deno.test("formatBenchSummary() prints only the header for no rows", () => {
  assert.equal(formatBenchSummary([]).split("\n").length, 2);
});
