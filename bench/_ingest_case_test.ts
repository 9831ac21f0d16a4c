import assert from "node:assert/strict";
import { parseIngestOutput } from "./_ingest_case.ts";

Deno.test("parseIngestOutput() reads the ingest bench's result lines", () => {
  const rows = parseIngestOutput([
    "ingest: 400 batches of 500 records (64 captured bytes each), gzip, 4 concurrent senders",
    "ingest postgres HTTP 61,234 records/s, COPY 456,789 records/s, ratio 0.13",
    "ingest pglite   HTTP 17,028 records/s, COPY 67,712 records/s, ratio 0.25",
  ].join("\n"));
  assert.equal(rows.length, 2);
  assert.deepEqual(
    rows.map((r) => [r.label, r.ours, r.reference?.value, r.target?.value ?? null]),
    [
      // Held to a ratio of COPY of the same rows (0.13 here: not met).
      ["postgres over HTTP", 61_234, 456_789, 0.42],
      ["pglite over HTTP", 17_028, 67_712, null],
    ],
  );
});

Deno.test("parseIngestOutput() turns an unreachable PostgreSQL into a skipped row", () => {
  const rows = parseIngestOutput([
    "ingest: PostgreSQL at postgres://x@127.0.0.1:5432/test unreachable, skipped (Error: refused)",
    "ingest pglite   HTTP 17,028 records/s, COPY 67,712 records/s, ratio 0.25",
  ].join("\n"));
  assert.deepEqual(rows.map((r) => [r.label, r.status, r.note]), [
    ["postgres over HTTP", "skipped", "PostgreSQL unreachable (Error: refused)"],
    ["pglite over HTTP", "measured", null],
  ]);
});

Deno.test("parseIngestOutput() fails on output without a result", () => {
  assert.throws(() => parseIngestOutput("ingest: 400 batches\n"), /no result line/);
});
