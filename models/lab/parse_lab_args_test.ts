import assert from "node:assert/strict";
import { LabArgsError, parseLabArgs } from "./parse_lab_args.ts";

Deno.test("parseLabArgs() fills the defaults", () => {
  assert.deepEqual(parseLabArgs([]), {
    seed: null,
    runs: 7,
    outDir: null,
    demo: false,
    snaplen: 128,
    help: false,
  });
});

Deno.test("parseLabArgs() reads every flag", () => {
  assert.deepEqual(
    parseLabArgs([
      "--seed",
      "10",
      "--runs",
      "3",
      "--out",
      "/tmp/caps",
      "--snaplen",
      "96",
      "--demo",
    ]),
    { seed: 10, runs: 3, outDir: "/tmp/caps", demo: true, snaplen: 96, help: false },
  );
  assert.equal(parseLabArgs(["--seed=0"]).seed, 0);
  assert.equal(parseLabArgs(["-h"]).help, true);
});

Deno.test("parseLabArgs() names the flag and value it rejects", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--runs", "0"], /'--runs' must be an integer 1\.\.50: current value is 0/],
    [["--runs", "51"], /'--runs'/],
    [["--seed", "-1"], /'--seed'/],
    [["--seed", "1e3"], /'--seed'.*1e3/],
    [["--snaplen", "20"], /'--snaplen'/],
    [["--nope"], /Cannot parse the lab arguments/],
    [["extra"], /Cannot parse the lab arguments/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseLabArgs(args),
        (e: unknown) => e instanceof LabArgsError && message.test(e.message),
      );
    });
  }
});
