/**
 * `deno task train --check`: retrains into a temp folder and compares the
 * result with the committed model, its sidecar and its card, so CI can tell
 * when the committed files no longer follow from the captures and the code.
 *
 * @module
 */

import { basename, join } from "node:path";
import { compareFlowModels, type FlowModelComparison } from "./compare_flow_models.ts";
import { DEFAULT_MODEL_PATH, runTraining, type TrainingRunResult } from "./run_training.ts";

/** Options for {@linkcode checkFlowModel}. */
export interface CheckFlowModelOptions {
  /** Folder with the lab captures. @default {"models/captures"} */
  capturesDir?: string;
  /** The team kit's captures. @default {found above the repository} */
  kitDir?: string;
  /** The committed model; its sidecar and `MODEL_CARD.md` sit beside it. @default {"models/flow_classifier.onnx"} */
  modelPath?: string;
  /** Seed to train with (the committed model's). @default {1} */
  seed?: number;
  /** Receives progress lines. @default {no output} */
  log?: (line: string) => void;
}

/** What {@linkcode checkFlowModel} found, with the fresh run (its files are gone, its forests kept). */
export interface FlowModelCheck extends FlowModelComparison {
  /** The fresh training run. */
  training: TrainingRunResult;
}

/**
 * Retrains with the given captures and seed into a temp folder, compares the
 * result with the committed files (see `compareFlowModels`) and removes the
 * temp folder.
 *
 * @example
 * ```ts
 * const check = await checkFlowModel({ modelPath: "models/flow_classifier.onnx" });
 * if (!check.ok) console.error(check.message);
 * ```
 */
export async function checkFlowModel(options: CheckFlowModelOptions = {}): Promise<FlowModelCheck> {
  const modelPath = options.modelPath ?? DEFAULT_MODEL_PATH;
  const dir = await Deno.makeTempDir({ prefix: "flow-model-check-" });
  try {
    const freshPath = join(dir, basename(modelPath));
    const training = await runTraining({
      capturesDir: options.capturesDir,
      kitDir: options.kitDir,
      outPath: freshPath,
      seed: options.seed,
      log: options.log,
    });
    const comparison = await compareFlowModels(modelPath, freshPath, { rows: training.rows.X });
    return { ...comparison, training };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
