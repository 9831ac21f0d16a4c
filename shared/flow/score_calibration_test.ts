import assert from "node:assert/strict";
import { FEATURE_NAMES } from "./feature_vector.ts";
import {
  calibrateScore,
  calibrationProblem,
  fitIsotonicCalibration,
  FLOOD_MIN_PACKETS,
  FLOOD_MIN_PACKETS_PER_SEC,
  flowVerdict,
  isFloodByItself,
  isLoneFlow,
} from "./score_calibration.ts";

Deno.test("fitIsotonicCalibration() pools violators into a non-decreasing step function", () => {
  const raw = [0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.9];
  const pos = [false, true, false, false, true, true, true];
  const c = fitIsotonicCalibration(raw, pos, 0.5);
  assert.equal(calibrationProblem(c), null);
  // 0.1 alone (0), then 0.2 x2 + 0.3 pool to 1/3, then 0.4.. all positive.
  assert.deepEqual(c.rawScores, [0.1, 0.2, 0.4].map(Math.fround));
  assert.deepEqual(c.scores, [0, Math.fround(1 / 3), 1]);
  assert.equal(calibrateScore(c, 0), 0);
  assert.equal(calibrateScore(c, Math.fround(0.2)), Math.fround(1 / 3));
  assert.equal(calibrateScore(c, 0.35), Math.fround(1 / 3));
  assert.equal(calibrateScore(c, 1), 1);
});

Deno.test("fitIsotonicCalibration() never splits one raw score over two steps", () => {
  const c = fitIsotonicCalibration([0.1, 0.5, 0.5, 0.5], [false, false, true, true], 0.5);
  assert.deepEqual(c.rawScores, [0.1, 0.5].map(Math.fround));
  assert.deepEqual(c.scores, [0, Math.fround(2 / 3)]);
});

Deno.test("flowVerdict() labels the most probable attack class once the calibrated score reaches the threshold", async (t) => {
  const classes = ["benign", "portscan", "syn_flood"];
  const calibration = fitIsotonicCalibration([0, 0.5, 0.6], [false, false, true], 0.9);
  // Attack mass split 0.35/0.3: benign is the argmax over all classes, not the verdict.
  const split = flowVerdict([0.35, 0.35, 0.3], { classes, benignIndex: 0, calibration });
  assert.equal(split.rawScore, Math.fround(0.65));
  assert.equal(split.score, 1);
  assert.equal(split.label, "portscan");
  await t.step("below the threshold it is benign, whatever the argmax", () => {
    const low = flowVerdict([0.45, 0.55, 0], { classes, benignIndex: 0, calibration });
    assert.equal(low.score, 0);
    assert.equal(low.label, "benign");
  });
  await t.step("without a calibration it is the raw score and the argmax", () => {
    const raw = flowVerdict([0.35, 0.35, 0.3], { classes, benignIndex: 0, calibration: null });
    assert.equal(raw.label, "benign");
    assert.equal(raw.score, Math.fround(0.65));
  });
});

Deno.test("calibrationProblem() names what is wrong with a table", () => {
  const ok = { method: "isotonic", rawScores: [0, 0.5], scores: [0, 1], decisionThreshold: 0.5 };
  assert.equal(calibrationProblem(ok), null);
  assert.match(calibrationProblem({ ...ok, scores: [1, 0] })!, /step 1/);
  assert.match(calibrationProblem({ ...ok, scores: [0] })!, /equal length/);
  assert.match(calibrationProblem({ ...ok, decisionThreshold: 0 })!, /decisionThreshold/);
});

Deno.test("flowVerdict() labels a flow alone in its context benign, whatever its score", () => {
  const classes = ["benign", "portscan"];
  const calibration = fitIsotonicCalibration([0, 0.9], [false, true], 0.5);
  const x = new Float32Array(FEATURE_NAMES.length);
  x[FEATURE_NAMES.indexOf("long_orig_flow_rate")] = 1 / 60;
  x[FEATURE_NAMES.indexOf("long_resphost_distinct_origs")] = 1;
  assert.equal(isLoneFlow(x), true);
  const alone = flowVerdict([0.05, 0.95], { classes, benignIndex: 0, calibration, features: x });
  assert.equal(alone.score, 1);
  assert.equal(alone.label, "benign");
  // A second flow from the originator in the window is evidence: the label follows the score.
  x[FEATURE_NAMES.indexOf("long_orig_flow_rate")] = 2 / 60;
  assert.equal(isLoneFlow(x), false);
  const second = flowVerdict([0.05, 0.95], { classes, benignIndex: 0, calibration, features: x });
  assert.equal(second.label, "portscan");
  // No context yet (zeros) is not "alone": its context is unknown.
  assert.equal(isLoneFlow(new Float32Array(FEATURE_NAMES.length)), false);
});

Deno.test("flowVerdict() does not hide a lone flow that is a flood by its own evidence", async (t) => {
  const classes = ["benign", "syn_flood"];
  const calibration = fitIsotonicCalibration([0, 0.9], [false, true], 0.5);
  const set = (x: Float32Array, name: string, value: number) => {
    x[FEATURE_NAMES.indexOf(name)] = value;
  };
  // hping3 -S with a fixed source port: one 5-tuple, alone in its context.
  const flood = new Float32Array(FEATURE_NAMES.length);
  set(flood, "long_orig_flow_rate", 1 / 60);
  set(flood, "long_resphost_distinct_origs", 1);
  set(flood, "proto_tcp", 1);
  set(flood, "orig_packets", 20_000);
  set(flood, "orig_packets_per_sec", 5000);
  set(flood, "resp_packets", 20_000);
  set(flood, "resp_payload_bytes", 0);
  assert.equal(isLoneFlow(flood), true);
  assert.equal(isFloodByItself(flood), true);
  const verdict = flowVerdict([0.05, 0.95], {
    classes,
    benignIndex: 0,
    calibration,
    features: flood,
  });
  assert.equal(verdict.label, "syn_flood");
  await t.step("too few packets, or too slow, is no flood: the lone flow stays benign", () => {
    for (
      const [name, value] of [
        ["orig_packets", FLOOD_MIN_PACKETS - 1],
        ["orig_packets_per_sec", FLOOD_MIN_PACKETS_PER_SEC - 1],
      ] as const
    ) {
      const x = flood.slice();
      set(x, name, value);
      assert.equal(isFloodByItself(x), false, name);
      assert.equal(
        flowVerdict([0.05, 0.95], { classes, benignIndex: 0, calibration, features: x }).label,
        "benign",
        name,
      );
    }
  });
  await t.step("data coming back (a download) is a conversation, not a flood", () => {
    const download = flood.slice();
    set(download, "resp_payload_bytes", 30_000_000);
    assert.equal(isFloodByItself(download), false);
    assert.equal(
      flowVerdict([0.05, 0.95], { classes, benignIndex: 0, calibration, features: download })
        .label,
      "benign",
    );
  });
  await t.step("a ping flood is one ICMP flow whose replies carry the requests' data", () => {
    const ping = flood.slice();
    set(ping, "proto_tcp", 0);
    set(ping, "proto_icmp", 1);
    set(ping, "resp_payload_bytes", 1_120_000);
    assert.equal(isFloodByItself(ping), true);
  });
  await t.step("a flood below the threshold score is still benign: the rule only un-hides", () => {
    const low = flowVerdict([0.9, 0.1], { classes, benignIndex: 0, calibration, features: flood });
    assert.equal(low.label, "benign");
  });
});
