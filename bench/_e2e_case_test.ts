import assert from "node:assert/strict";
import { benchTargetMet } from "./bench_row.ts";
import { e2eRows } from "./_e2e_case.ts";

const measured = {
  packets: 1000,
  "postgres-arrow_pps": 300_000,
  "postgres-arrow_copy_pps": 500_000,
  "postgres-arrow_seconds": 0.1,
  "postgres-arrow_rows": 1000,
  "postgres-arrow_distinct": 990,
  "postgres-arrow_agent_rss_mb": 120.5,
  "postgres-arrow_server_rss_mb": 200,
  "postgres-arrow_aggregator_rss_mb": 150,
  "postgres-json_failed": "agent --read exited 3:",
  "pglite-arrow_pps": 90_000,
  "pglite-arrow_copy_pps": 200_000,
  "pglite-arrow_rows": 1000,
  "pglite-arrow_distinct": 990,
  "pglite-arrow_server_rss_mb": 300,
};

Deno.test("e2eRows() holds each run to its targets, beside the COPY of the same rows", () => {
  const rows = e2eRows(measured);
  const rates = rows.filter((row) => row.unit === "packets/s");
  assert.deepEqual(
    rates.map((r) => [r.label, r.status, r.ours, r.reference?.value ?? null, benchTargetMet(r)]),
    [
      // 0.6 x COPY: at least 0.5, met.
      ["agent --read -> PostgreSQL, Arrow", "measured", 300_000, 500_000, true],
      ["agent --read -> PostgreSQL, JSON", "failed", null, null, null],
      // Beside PGlite's own COPY, no target...
      ["agent --read -> PGlite, Arrow", "measured", 90_000, 200_000, null],
      // ...and 0.18 x PostgreSQL's COPY of the same run: below 0.2, not met.
      ["agent --read -> PGlite, Arrow", "measured", 90_000, 500_000, false],
    ],
  );
  assert.equal(
    benchTargetMet(
      e2eRows({ ...measured, "pglite-arrow_pps": 100_000 }).filter((r) => r.unit === "packets/s")
        .at(-1)!,
    ),
    true,
    "0.2 x PostgreSQL's COPY is met",
  );
  assert.deepEqual(
    rows.filter((row) => row.unit === "MB").map((r) => [r.label, r.ours]),
    [
      ["peak RSS of the agent, postgres-arrow", 120.5],
      ["peak RSS of the server, postgres-arrow", 200],
      ["peak RSS of the aggregator, postgres-arrow", 150],
      ["peak RSS of the server, pglite-arrow", 300],
    ],
  );
});

Deno.test("e2eRows() fails when runs stored different packets", () => {
  const rows = e2eRows({ ...measured, "pglite-arrow_distinct": 989 });
  const last = rows.at(-1)!;
  assert.equal(last.status, "failed");
  assert.match(last.note ?? "", /count\(distinct\) differs between runs: 990, 989/);
});

Deno.test("e2eRows() refuses metrics with no run in them", () => {
  assert.throws(() => e2eRows({ packets: 10 }), /reported no run/);
});

Deno.test("e2eRows() says when the Arrow row is the median of several runs, with each run's ratio", () => {
  const rows = e2eRows({ ...measured, "postgres-arrow_ratios": "0.550,0.600,0.480" });
  const arrow = rows.find((row) => row.label === "agent --read -> PostgreSQL, Arrow")!;
  assert.match(
    arrow.note ?? "",
    /^the median of 3 runs by ratio \(0\.550, 0\.600, 0\.480\); 1000 rows/,
  );
  const once = e2eRows(measured).find((row) => row.label === "agent --read -> PostgreSQL, Arrow")!;
  assert.match(once.note ?? "", /^1000 rows = the capture's packets/);
});
