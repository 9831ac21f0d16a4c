import assert from "node:assert/strict";
import {
  FileRateError,
  measureFileRate,
  measurePairedFileRates,
  median,
  summarizePairs,
} from "./file_rate.ts";

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

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  assert.equal(median([0.9, 0.7, 0.8]), 0.8);
  assert.equal(median([3, 1, 4, 2]), 2.5);
  assert.equal(median([5]), 5);
  assert.throws(() => median([]), /no values/);
});

Deno.test("summarizePairs() gives the median of the pair ratios, not the ratio of medians", () => {
  const pairs = [
    { basePacketsPerSec: 100, variantPacketsPerSec: 90, ratio: 0.9 },
    { basePacketsPerSec: 200, variantPacketsPerSec: 100, ratio: 0.5 },
    { basePacketsPerSec: 50, variantPacketsPerSec: 40, ratio: 0.8 },
  ];
  // Ratio of the medians would be 90 / 100 = 0.9; the pairs' median is 0.8.
  assert.deepEqual(summarizePairs(pairs), {
    ratio: 0.8,
    minRatio: 0.5,
    maxRatio: 0.9,
    basePacketsPerSec: 100,
    variantPacketsPerSec: 90,
  });
});

Deno.test("measurePairedFileRates() interleaves base and variant runs and pairs them", async () => {
  const log = await Deno.makeTempFile({ prefix: "paired-rate-" });
  try {
    // Logs each run; busy on the whole file, the variant twice as long as the base.
    const script = 'echo "$SIDE $1" >> "$LOG"; if [ "$1" = big ]; then n=150000; ' +
      'if [ "$SIDE" = variant ]; then n=300000; fi; i=0; ' +
      "while [ $i -lt $n ]; do i=$((i+1)); done; fi";
    const rates = await measurePairedFileRates("sh", (file) => ["-c", script, "sh", file], input, {
      pairs: 3,
      startupRepeats: 2,
      baseEnv: { SIDE: "base", LOG: log },
      variantEnv: { SIDE: "variant", LOG: log },
    });
    const runs = (await Deno.readTextFile(log)).trim().split("\n");
    assert.deepEqual(runs, [
      "base tiny",
      "variant tiny",
      "base tiny",
      "variant tiny",
      "base big",
      "variant big",
      "base big",
      "variant big",
      "base big",
      "variant big",
    ]);
    assert.equal(rates.pairs.length, 3);
    for (const pair of rates.pairs) {
      assert.ok(Math.abs(pair.ratio - pair.variantPacketsPerSec / pair.basePacketsPerSec) < 1e-9);
    }
    assert.equal(rates.ratio, median(rates.pairs.map((pair) => pair.ratio)));
    assert.ok(rates.minRatio <= rates.ratio && rates.ratio <= rates.maxRatio);
    // Twice the work: the variant is the slower side.
    assert.ok(rates.ratio < 1);
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("measurePairedFileRates() refuses a pair count below one", async () => {
  await assert.rejects(
    () =>
      measurePairedFileRates("true", () => [], input, {
        pairs: 0,
        baseEnv: {},
        variantEnv: {},
      }),
    /'pairs' must be an integer >= 1/,
  );
});
