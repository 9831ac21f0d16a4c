import assert from "node:assert/strict";
import {
  BenchArgsError,
  DEFAULT_BENCH_CASES,
  DEFAULT_MODEL_PATH,
  parseBenchArgs,
} from "./bench_args.ts";

Deno.test("parseBenchArgs() runs every speed case (not the soak), full size, when given nothing", () => {
  assert.deepEqual(parseBenchArgs([]), {
    cases: [...DEFAULT_BENCH_CASES],
    quick: false,
    file: null,
    modelPath: DEFAULT_MODEL_PATH,
    json: false,
    seconds: null,
    minutes: null,
    soakPps: null,
    help: false,
  });
});

Deno.test("parseBenchArgs() reads --only as a comma-separated list", async (t) => {
  await t.step("in the harness's order, whatever the order asked", () => {
    assert.deepEqual(parseBenchArgs(["--only", "decode,ingest"]).cases, ["ingest", "decode"]);
  });
  await t.step("with = and spaces", () => {
    assert.deepEqual(parseBenchArgs(["--only=flows, aggregation"]).cases, ["flows", "aggregation"]);
  });
  await t.step("repeated, merged and without duplicates", () => {
    assert.deepEqual(
      parseBenchArgs(["--only", "capture", "--only", "decode,capture"]).cases,
      ["decode", "capture"],
    );
  });
  await t.step("one case", () => {
    assert.deepEqual(parseBenchArgs(["--only", "aggregation"]).cases, ["aggregation"]);
  });
});

Deno.test("parseBenchArgs() reads --quick, --file, --model, --json and --help", () => {
  const args = parseBenchArgs([
    "--quick",
    "--file",
    "/tmp/x.pcapng",
    "--model",
    "/tmp/m.onnx",
    "--json",
  ]);
  assert.equal(args.quick, true);
  assert.equal(args.file, "/tmp/x.pcapng");
  assert.equal(args.modelPath, "/tmp/m.onnx");
  assert.equal(args.json, true);
  assert.equal(parseBenchArgs(["-h"]).help, true);
});

Deno.test("parseBenchArgs() refuses what it cannot run, naming the problem", async (t) => {
  await t.step("an unknown case, listing the known ones", () => {
    assert.throws(() => parseBenchArgs(["--only", "decode,decoding"]), (error: Error) => {
      assert.ok(error instanceof BenchArgsError);
      assert.match(error.message, /unknown case "decoding"/);
      assert.match(error.message, /ingest, e2e, live, decode, capture, flows, aggregation, enrich/);
      return true;
    });
  });
  await t.step("an empty --only", () => {
    assert.throws(() => parseBenchArgs(["--only", ","]), /at least one case/);
  });
  await t.step("an unknown flag", () => {
    assert.throws(() => parseBenchArgs(["--fast"]), BenchArgsError);
  });
  await t.step("a flag without its value", () => {
    assert.throws(() => parseBenchArgs(["--only"]), BenchArgsError);
  });
  await t.step("a model that is not .onnx", () => {
    assert.throws(() => parseBenchArgs(["--model", "m.json"]), /'--model' must end in \.onnx/);
  });
  await t.step("a positional argument", () => {
    assert.throws(() => parseBenchArgs(["decode"]), BenchArgsError);
  });
});

Deno.test("parseBenchArgs() runs the soak only when --only names it", () => {
  assert.ok(!parseBenchArgs([]).cases.includes("soak"));
  assert.deepEqual(parseBenchArgs(["--only", "soak"]).cases, ["soak"]);
});

Deno.test("parseBenchArgs() takes the live and soak lengths and the soak rate", () => {
  const args = parseBenchArgs(["--seconds", "30", "--minutes", "3", "--soak-pps", "50000"]);
  assert.deepEqual([args.seconds, args.minutes, args.soakPps], [30, 3, 50_000]);
  const plain = parseBenchArgs([]);
  assert.deepEqual([plain.seconds, plain.minutes, plain.soakPps], [null, null, null]);
  assert.throws(
    () => parseBenchArgs(["--minutes", "1"]),
    /'--minutes' must be a whole number of at least 2/,
  );
  assert.throws(() => parseBenchArgs(["--seconds", "ten"]), /'--seconds' must be a whole number/);
  assert.throws(() => parseBenchArgs(["--seconds", "1e3"]), /'--seconds' must be a whole number/);
});
