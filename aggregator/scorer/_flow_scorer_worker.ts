/**
 * The worker behind `loadFlowScorerInWorker()`: loads the model with
 * `loadFlowScorer()` (every check included) and scores what it is sent.
 * Messages are answered in the order they come.
 *
 * @module
 */
import { loadFlowScorer, type OnnxFlowScorer } from "./flow_scorer.ts";
import { ScorerLoadError } from "./scorer_load_error.ts";
import type { ScorerReply, ScorerRequest } from "./_flow_scorer_messages.ts";

const port = self as unknown as {
  onmessage: ((event: MessageEvent<ScorerRequest>) => void) | null;
  postMessage(message: ScorerReply, transfer?: Transferable[]): void;
};

let scorer: OnnxFlowScorer | null = null;
let queue: Promise<void> = Promise.resolve();

async function handle(request: ScorerRequest): Promise<void> {
  try {
    switch (request.type) {
      case "load": {
        scorer = await loadFlowScorer(request.options);
        port.postMessage({
          type: "loaded",
          modelVersion: scorer.modelVersion,
          featureVersion: scorer.featureVersion,
          featureNames: [...scorer.featureNames],
          classes: [...scorer.classes],
          benignLabel: scorer.benignLabel,
          trainingDataSha256: scorer.trainingDataSha256,
          metrics: scorer.metrics as Record<string, unknown>,
          calibration: scorer.calibration,
          explains: scorer.explains,
        });
        return;
      }
      case "score": {
        const { input, rows, features, explainMinScore, explainMaxFlows } = request;
        const vectors: Float32Array[] = new Array(rows);
        for (let i = 0; i < rows; i++) {
          vectors[i] = input.subarray(i * features, (i + 1) * features);
        }
        const scored = await scorer!.score(vectors, { explainMinScore, explainMaxFlows });
        const classes = scorer!.classes.length;
        const labels: string[] = new Array(rows);
        const scores = new Float64Array(rows);
        const probabilities = new Float32Array(rows * classes);
        const explanations = scored.map((s) => s.explanation);
        scored.forEach((s, i) => {
          labels[i] = s.label;
          scores[i] = s.score;
          probabilities.set(s.probabilities, i * classes);
        });
        port.postMessage(
          { type: "scored", labels, scores, probabilities, explanations },
          [scores.buffer, probabilities.buffer],
        );
        return;
      }
      case "close": {
        await scorer?.close();
        scorer = null;
        port.postMessage({ type: "closed" });
        return;
      }
    }
  } catch (error) {
    const e = error as Error;
    port.postMessage({
      type: "failed",
      name: e.name,
      message: e.message,
      reason: error instanceof ScorerLoadError ? error.reason : null,
      modelPath: error instanceof ScorerLoadError ? error.modelPath : null,
    });
  }
}

port.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};
