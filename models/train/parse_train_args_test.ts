import assert from "node:assert/strict";
import { parseTrainArgs, TrainArgsError } from "./parse_train_args.ts";

Deno.test("parseTrainArgs() fills in the defaults", () => {
  assert.deepEqual(parseTrainArgs([]), {
    seed: 1,
    outPath: "models/flow_classifier.onnx",
    capturesDir: "models/captures",
    kitDir: null,
    check: false,
    help: false,
  });
});

Deno.test("parseTrainArgs() reads every flag", () => {
  assert.deepEqual(
    parseTrainArgs([
      "--seed",
      "42",
      "--out",
      "/tmp/m.onnx",
      "--captures",
      "caps",
      "--kit",
      "/kit",
      "--check",
    ]),
    {
      seed: 42,
      outPath: "/tmp/m.onnx",
      capturesDir: "caps",
      kitDir: "/kit",
      check: true,
      help: false,
    },
  );
  assert.equal(parseTrainArgs(["-h"]).help, true);
});

Deno.test("parseTrainArgs() rejects what training cannot use, naming the flag", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["a negative seed", ["--seed", "-1"], /Cannot parse|'--seed'/],
    ["a fractional seed", ["--seed", "1.5"], /'--seed'/],
    ["a seed too large", ["--seed", "99999999999"], /'--seed'/],
    [
      "a model path without .onnx",
      ["--out", "model.bin"],
      /'--out' must be a path ending in .onnx/,
    ],
    ["an empty kit folder", ["--kit", ""], /'--kit' must not be empty/],
    ["an unknown flag", ["--sed", "1"], /Cannot parse the train arguments/],
    ["a positional argument", ["models"], /Cannot parse the train arguments/],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseTrainArgs(args), (e: unknown) => {
        assert.ok(e instanceof TrainArgsError);
        assert.match(e.message, message);
        return true;
      });
    });
  }
});
