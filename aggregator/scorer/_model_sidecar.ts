/**
 * Reads the `X.json` sidecar written by `models/ml/save_flow_model.ts`. The
 * writer lives with the training code; this is the scorer's own check of the
 * fields it relies on (unknown extra fields are allowed so a newer trainer
 * can add information without breaking older aggregators).
 *
 * @module
 */

import { calibrationProblem } from "@traffic-analyzer/shared/flow";
import { z } from "zod";

/** Value of the sidecar's `format` field. */
export const SIDECAR_FORMAT = "traffic-analyzer-flow-model";
/** The sidecar format version this scorer understands. */
export const SIDECAR_FORMAT_VERSION = 1;

const SidecarSchema = z.object({
  format: z.literal(SIDECAR_FORMAT),
  formatVersion: z.literal(SIDECAR_FORMAT_VERSION),
  modelVersion: z.string().min(1),
  featureVersion: z.number().int(),
  featureNames: z.array(z.string()).min(1),
  classes: z.array(z.string().min(1)).min(2),
  onnxClasses: z.array(z.string()),
  onnxSha256: z.string().regex(/^[0-9a-f]{64}$/),
  trainingDataSha256: z.string().optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  calibration: z.object({
    method: z.string(),
    rawScores: z.array(z.number()),
    scores: z.array(z.number()),
    decisionThreshold: z.number(),
  }).optional(),
}).refine(
  (s) =>
    s.onnxClasses.length >= s.classes.length &&
    s.classes.every((c, i) => s.onnxClasses[i] === c),
  { message: "onnxClasses must start with classes, in the same order" },
).refine((s) => s.calibration === undefined || calibrationProblem(s.calibration) === null, {
  message: "calibration must be an ascending step table with a decisionThreshold in (0, 1]",
});

/** The sidecar fields the scorer uses. */
export type ModelSidecar = z.infer<typeof SidecarSchema>;

/** Path of the sidecar of `X.onnx`: `X.json`. */
export function sidecarPath(modelPath: string): string {
  return `${modelPath.replace(/\.onnx$/, "")}.json`;
}

/** Parses sidecar JSON text; throws an Error describing the first problems. */
export function parseSidecar(text: string): ModelSidecar {
  const result = SidecarSchema.safeParse(JSON.parse(text));
  if (!result.success) {
    const problems = result.error.issues.slice(0, 3).map((i) =>
      `${i.path.join(".") || "(root)"}: ${i.message}`
    );
    throw new Error(problems.join("; "));
  }
  return result.data;
}
