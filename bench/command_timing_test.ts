import assert from "node:assert/strict";
import {
  COMMAND_NOT_FOUND,
  CommandFailedError,
  parseTimesOutput,
  timeCommand,
} from "./command_timing.ts";

Deno.test("parseTimesOutput() adds the children's user and system times", async (t) => {
  await t.step("dash's format", () => {
    const text = "0m0.004000s 0m0.000000s\n0m0.800000s 0m1.350000s\n";
    assert.ok(Math.abs(parseTimesOutput(text) - 2.15) < 1e-9);
  });
  await t.step("bash's format, with minutes", () => {
    assert.ok(Math.abs(parseTimesOutput("0m0.001s 0m0.002s\n1m2.500s 0m0.250s") - 62.75) < 1e-9);
  });
  await t.step("refuses anything else", () => {
    assert.throws(() => parseTimesOutput("0m1.0s 0m2.0s"), RangeError);
    assert.throws(() => parseTimesOutput("a\nb"), RangeError);
  });
});

Deno.test("timeCommand() times a program and reports its failures", async (t) => {
  await t.step("a run that succeeds", async () => {
    const timing = await timeCommand("sh", [
      "-c",
      "echo discarded; i=0; while [ $i -lt 1000 ]; do i=$((i+1)); done",
    ]);
    assert.ok(timing.wallSec > 0);
    assert.ok(timing.cpuSec >= 0);
  });
  await t.step("a run that fails, with its code and stderr", async () => {
    await assert.rejects(
      () => timeCommand("sh", ["-c", "echo broken >&2; exit 3"]),
      (error: Error) => {
        assert.ok(error instanceof CommandFailedError);
        assert.equal(error.code, 3);
        assert.match(error.message, /exited with code 3: broken/);
        return true;
      },
    );
  });
  await t.step("a program that does not exist", async () => {
    await assert.rejects(
      () => timeCommand("no-such-tool-for-bench", []),
      (error: Error) => error instanceof CommandFailedError && error.code === COMMAND_NOT_FOUND,
    );
  });
  await t.step("an invalid CPU", async () => {
    await assert.rejects(() => timeCommand("true", [], { cpu: -1 }), /'cpu' must be an integer/);
  });
});
