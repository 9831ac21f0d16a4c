import assert from "node:assert/strict";
import { skippedRow } from "./bench_row.ts";

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
