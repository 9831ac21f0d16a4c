import assert from "node:assert/strict";
import { FileRateError, measureFileRate } from "./file_rate.ts";

const input = { path: "big", packets: 1000, tinyPath: "tiny", tinyPackets: 10 };

Deno.test("measureFileRate() rates the work on the whole file beyond the tiny cut", async () => {
  // Busy only on the "whole file": the tiny run is start-up alone.
  const script = 'if [ "$1" = big ]; then i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; fi';
  const rate = await measureFileRate("sh", (file) => ["-c", script, "sh", file], input);
  assert.ok(rate.cpuSec > rate.startupCpuSec);
  assert.ok(
    Math.abs(rate.packetsPerSec - (1000 - 10) / (rate.cpuSec - rate.startupCpuSec)) < 1e-6,
  );
});

Deno.test("measureFileRate() refuses a run that did no more work than the tiny one", async () => {
  // Like argus on a file that vanished: success, and nothing read.
  await assert.rejects(
    () => measureFileRate("true", (file) => [file], input),
    (error: Error) => error instanceof FileRateError && /file was not read/.test(error.message),
  );
});

Deno.test("measureFileRate() refuses a repeat count below one", async () => {
  await assert.rejects(
    () => measureFileRate("true", () => [], input, { repeats: 0 }),
    /'repeats' must be an integer >= 1/,
  );
});
