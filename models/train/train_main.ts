/**
 * `deno task train`: trains the flow classifier from the lab captures and
 * writes `models/flow_classifier.onnx`, its `.json` sidecar and
 * `models/MODEL_CARD.md`; with `--check`, retrains into a temp folder and
 * compares with the committed files instead.
 *
 * @module
 */

import { checkFlowModel } from "./check_flow_model.ts";
import { parseTrainArgs, TRAIN_USAGE, TrainArgsError } from "./parse_train_args.ts";
import { SOURCE_TABLE_HEADERS, sourceCells } from "./evaluate_sources.ts";
import { runTraining } from "./run_training.ts";

/**
 * Runs training from command-line arguments and returns the process exit
 * code: 0 done (or the check passed), 1 failed (or the committed model does
 * not reproduce), 2 bad usage.
 */
export async function main(args: readonly string[]): Promise<number> {
  const log = (line: string) => console.error(`[train] ${line}`);
  let parsed;
  try {
    parsed = parseTrainArgs(args);
  } catch (error) {
    if (error instanceof TrainArgsError) {
      console.error(`${error.message}\n\n${TRAIN_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  try {
    if (parsed.check) {
      const check = await checkFlowModel({
        capturesDir: parsed.capturesDir,
        kitDir: parsed.kitDir ?? undefined,
        modelPath: parsed.outPath,
        seed: parsed.seed,
        log,
      });
      for (const f of check.files) {
        log(`${f.path}: ${f.missing ? "missing" : f.identical ? "identical" : "differs"}`);
      }
      (check.ok ? log : (line: string) => console.error(`[train] FAILED: ${line}`))(
        `${check.message} (${elapsed()})`,
      );
      return check.ok ? 0 : 1;
    }
    const { training, card } = await runTraining({
      capturesDir: parsed.capturesDir,
      kitDir: parsed.kitDir ?? undefined,
      outPath: parsed.outPath,
      seed: parsed.seed,
      log,
    });
    const rows = [
      ...card.sources,
      card.kitAttackTotal,
      card.kitBenignTotal,
      ...(card.demo ? [card.demo] : []),
    ].map(sourceCells);
    const cells = [[...SOURCE_TABLE_HEADERS], ...rows];
    const widths = SOURCE_TABLE_HEADERS.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
    for (const r of cells) {
      console.log(
        r.map((v, c) => (c < 3 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  "),
      );
    }
    log(
      `${training.shipped.modelVersion}: decision threshold (default ALERT_MIN_SCORE) ${training.calibration.decisionThreshold}, ${card.onnxBytes} bytes, ${elapsed()}`,
    );
    return 0;
  } catch (error) {
    console.error(`[train] FAILED: ${(error as Error).message}`);
    if ((error as Error).cause) console.error(`[train] cause:`, (error as Error).cause);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
