/**
 * Messages between `loadFlowScorerInWorker()` and its worker.
 *
 * @module
 */
import type { ScoreCalibration } from "@traffic-analyzer/shared/flow";
import type { FeatureContribution } from "@traffic-analyzer/shared/explain";
import type { LoadFlowScorerOptions } from "./flow_scorer.ts";
import type { ScorerLoadErrorReason } from "./scorer_load_error.ts";

/** What the scorer's owner sends its worker. */
export type ScorerRequest =
  | { type: "load"; options: LoadFlowScorerOptions }
  | {
    type: "score";
    input: Float32Array;
    rows: number;
    features: number;
    explainMinScore: number | null;
    explainMaxFlows: number | null;
  }
  | { type: "close" };

/** What the worker answers: one reply per request, in request order. */
export type ScorerReply =
  | {
    type: "loaded";
    modelVersion: string;
    featureVersion: number;
    featureNames: string[];
    classes: string[];
    benignLabel: string;
    trainingDataSha256: string;
    metrics: Record<string, unknown>;
    calibration: ScoreCalibration | null;
    explains: boolean;
  }
  | {
    type: "scored";
    labels: string[];
    scores: Float64Array;
    probabilities: Float32Array;
    explanations: (FeatureContribution[] | null)[];
  }
  | { type: "closed" }
  | {
    type: "failed";
    name: string;
    message: string;
    reason: ScorerLoadErrorReason | null;
    modelPath: string | null;
  };
