/**
 * The flow scorer in a worker thread. onnxruntime-node runs a model
 * synchronously on the calling thread (its async `run` only defers the call),
 * so in the aggregator's thread every batch scored is time the pass cannot
 * merge packets. In a worker the model scores one batch while the pass merges
 * the next. Same checks, same results, bit for bit, as {@linkcode loadFlowScorer}.
 *
 * @module
 */
import type {
  FlowScore,
  LoadFlowScorerOptions,
  OnnxFlowScorer,
  ScoreOptions,
} from "./flow_scorer.ts";
import { ScorerLoadError } from "./scorer_load_error.ts";
import type { ScorerReply, ScorerRequest } from "./_flow_scorer_messages.ts";

/** The worker failed or was closed while a call waited on it. */
export class ScorerWorkerError extends Error {
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "ScorerWorkerError";
  }
}

type Settle = { resolve(reply: ScorerReply): void; reject(error: Error): void };

function replyError(reply: Extract<ScorerReply, { type: "failed" }>): Error {
  if (reply.reason !== null) {
    return new ScorerLoadError(reply.message, {
      reason: reply.reason,
      modelPath: reply.modelPath ?? "",
    });
  }
  const error = new Error(reply.message);
  error.name = reply.name;
  return error;
}

/**
 * Loads the model in a new worker (see `loadFlowScorer` for the options and
 * the load errors, which come back as the same `ScorerLoadError`s) and
 * returns a scorer whose `score()` runs there. `close()` ends the worker.
 */
export async function loadFlowScorerInWorker(
  options: LoadFlowScorerOptions,
): Promise<OnnxFlowScorer> {
  const worker = new Worker(new URL("./_flow_scorer_worker.ts", import.meta.url), {
    type: "module",
  });
  // Replies come in request order: each settles the oldest waiting call.
  const waiting: Settle[] = [];
  let broken: Error | null = null;
  const fail = (error: Error) => {
    broken ??= error;
    for (const call of waiting.splice(0)) call.reject(error);
  };
  worker.onmessage = (event: MessageEvent<ScorerReply>) => {
    const call = waiting.shift();
    if (call === undefined) return;
    if (event.data.type === "failed") call.reject(replyError(event.data));
    else call.resolve(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(new ScorerWorkerError(`The flow scorer worker failed: ${event.message}`));
    worker.terminate();
  };
  const request = (message: ScorerRequest, transfer: Transferable[] = []) => {
    if (broken !== null) return Promise.reject(broken);
    return new Promise<ScorerReply>((resolve, reject) => {
      waiting.push({ resolve, reject });
      worker.postMessage(message, transfer);
    });
  };

  let loaded: Extract<ScorerReply, { type: "loaded" }>;
  try {
    loaded = await request({ type: "load", options }) as typeof loaded;
  } catch (error) {
    worker.terminate();
    throw error;
  }
  const featureCount = loaded.featureNames.length;
  const classCount = loaded.classes.length;
  let closed = false;

  return {
    modelVersion: loaded.modelVersion,
    featureVersion: loaded.featureVersion,
    featureNames: Object.freeze(loaded.featureNames),
    classes: Object.freeze(loaded.classes),
    benignLabel: loaded.benignLabel,
    trainingDataSha256: loaded.trainingDataSha256,
    metrics: loaded.metrics,
    calibration: loaded.calibration,
    explains: loaded.explains,
    async score(rows: readonly Float32Array[], options: ScoreOptions = {}): Promise<FlowScore[]> {
      if (closed) throw new ScorerWorkerError("Cannot score flows: the scorer is closed");
      const input = new Float32Array(rows.length * featureCount);
      rows.forEach((row, i) => {
        if (row.length !== featureCount) {
          throw new RangeError(
            `Cannot score flows as every row must have ${featureCount} features: row ${i} has ${row.length}`,
          );
        }
        input.set(row, i * featureCount);
      });
      const reply = await request(
        {
          type: "score",
          input,
          rows: rows.length,
          features: featureCount,
          explainMinScore: options.explainMinScore ?? null,
          explainMaxFlows: options.explainMaxFlows ?? null,
        },
        [input.buffer],
      ) as Extract<ScorerReply, { type: "scored" }>;
      const out: FlowScore[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        out[i] = {
          label: reply.labels[i],
          score: reply.scores[i],
          probabilities: reply.probabilities.subarray(i * classCount, (i + 1) * classCount),
          explanation: reply.explanations[i],
        };
      }
      return out;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        if (broken === null) await request({ type: "close" });
      } finally {
        fail(new ScorerWorkerError("The flow scorer is closed"));
        worker.terminate();
      }
    },
  };
}
