import assert from "node:assert/strict";
import { type BenchRow, benchTargetMet, skippedRow } from "./bench_row.ts";
import { formatBenchSummary } from "./bench_summary.ts";

Deno.test("skippedRow() writes a skipped row's fields in BenchRow's order, the reason as its note", () => {
  const row = skippedRow(
    { caseName: "live", label: "live", unit: "packets/s", target: { kind: "atLeast", value: 5 } },
    "not root",
  );
  assert.equal(
    JSON.stringify(row),
    JSON.stringify({
      caseName: "live",
      label: "live",
      unit: "packets/s",
      ours: null,
      reference: null,
      target: { kind: "atLeast", value: 5 },
      status: "skipped",
      note: "not root",
    }),
  );
});

Deno.test("benchTargetMet() judges a ratio only against a reference that was measured", () => {
  const row: BenchRow = {
    caseName: "flows",
    label: "flows",
    unit: "packets/s",
    ours: 300,
    reference: { name: "argus", value: 200 },
    target: { kind: "ratioAtLeast", value: 1.5 },
    status: "measured",
    note: null,
  };
  assert.equal(benchTargetMet(row), true);
  assert.equal(benchTargetMet({ ...row, ours: 299 }), false);
  // No tool, or a reference that lost packets (its rate set to 0): nothing can be said.
  assert.equal(benchTargetMet({ ...row, reference: null }), null);
  assert.equal(benchTargetMet({ ...row, reference: { name: "argus", value: 0 } }), null);
  assert.equal(
    formatBenchSummary([{ ...row, reference: null }]).split("\n")[2].endsWith(
      "no reference to compare with",
    ),
    true,
  );
  // A fixed bound needs no reference.
  assert.equal(
    benchTargetMet({ ...row, reference: null, target: { kind: "atLeast", value: 300 } }),
    true,
  );
});
