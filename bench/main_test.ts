import assert from "node:assert/strict";
import { parseBenchArgs } from "./bench_args.ts";
import type { BenchContext } from "./bench_context.ts";
import type { BenchRow } from "./bench_row.ts";
import { failedCaseRow, main, runBench } from "./main.ts";

const EXPECTED_FAILURE = "tcpdump exploded (expected: this test fails the case on purpose)";

function fakeContext(): BenchContext {
  return {
    args: parseBenchArgs([]),
    repoRoot: "/nowhere/",
    cacheDir: "/nowhere/data/bench",
    cpu: null,
    capture: () => Promise.reject(new Error("no capture in this test")),
  };
}

function measured(caseName: BenchRow["caseName"]): BenchRow {
  return {
    caseName,
    label: "x",
    unit: "packets/s",
    ours: 1,
    reference: null,
    target: null,
    status: "measured",
    note: null,
  };
}

Deno.test("runBench() runs the asked cases in order and goes on after one fails", async () => {
  const ran: string[] = [];
  const quietChecks: number[] = [];
  const rows = await runBench(parseBenchArgs(["--only", "flows,decode,ingest"]), {
    context: fakeContext(),
    waitForQuiet: () => {
      quietChecks.push(ran.length);
      return Promise.resolve({ quiet: true, idle: 0.98, waitedSec: 2 });
    },
    runCase: (name) => {
      ran.push(name);
      if (name === "decode") {
        // runBench() prints this line: say it is meant, for whoever reads the test output.
        return Promise.reject(new Error(`${EXPECTED_FAILURE}\nsecond line`));
      }
      return Promise.resolve([measured(name)]);
    },
  });
  assert.deepEqual(ran, ["ingest", "decode", "flows"]);
  assert.deepEqual(rows.map((r) => [r.caseName, r.status]), [
    ["ingest", "measured"],
    ["decode", "failed"],
    ["flows", "measured"],
  ]);
  assert.equal(rows[1].note, EXPECTED_FAILURE);
  assert.deepEqual(quietChecks, [0, 1, 2], "the machine is checked before each case");
});

Deno.test("failedCaseRow() keeps the first line of the error", () => {
  const row = failedCaseRow("capture", new Error("one\ntwo"));
  assert.equal(row.status, "failed");
  assert.equal(row.note, "one");
  assert.equal(failedCaseRow("capture", "plain").note, "plain");
});

Deno.test("main() answers 2 on bad arguments and 0 on --help without running a case", async () => {
  assert.equal(await main(["--only", "nothing"]), 2);
  assert.equal(await main(["--help"]), 0);
});
