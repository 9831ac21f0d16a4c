import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

Deno.test("ALERT_MIN_SCORE defaults to the committed model's decision threshold and takes a number from 0 to 1", async (t) => {
  await t.step("default", async () => {
    const sidecar = JSON.parse(
      await Deno.readTextFile(new URL("../models/flow_classifier.json", import.meta.url)),
    );
    assert.equal(
      loadConfig({ env: {} }).config.alertMinScore,
      sidecar.calibration.decisionThreshold,
    );
  });
  await t.step("environment and flag", () => {
    assert.equal(loadConfig({ env: { ALERT_MIN_SCORE: "0.8" } }).config.alertMinScore, 0.8);
    assert.equal(loadConfig({ env: {}, args: ["--alert-min-score=1"] }).config.alertMinScore, 1);
    assert.equal(loadConfig({ env: { ALERT_MIN_SCORE: "0" } }).config.alertMinScore, 0);
  });
  await t.step("out of range or not a number names the setting", () => {
    for (const bad of ["1.5", "-0.1", "abc", "0.1234567", "5e-1"]) {
      assert.throws(
        () => loadConfig({ env: { ALERT_MIN_SCORE: bad } }),
        (error: unknown) =>
          error instanceof ConfigError && error.setting === "ALERT_MIN_SCORE" &&
          /from 0 to 1/.test(error.message),
        bad,
      );
    }
  });
});
