/**
 * The error {@linkcode loadFlowScorer} throws when a model cannot be used.
 *
 * @module
 */

/** Why a model could not be loaded. */
export type ScorerLoadErrorReason =
  /** No `.onnx` file at the path. */
  | "missing_model"
  /** No `.json` sidecar beside the model. */
  | "missing_sidecar"
  /** The sidecar is not valid JSON of the expected shape. */
  | "invalid_sidecar"
  /** The model was trained on another feature version than the code computes. */
  | "feature_version_mismatch"
  /** The model reads other features, or in another order, than the code computes. */
  | "feature_names_mismatch"
  /** The model has no class named like the scorer's benign label. */
  | "missing_benign_class"
  /** The `.onnx` file is not the one the sidecar describes. */
  | "checksum_mismatch"
  /** The `.covers.json` beside the model is unreadable or belongs to another model. */
  | "invalid_covers"
  /** onnxruntime rejected the model, or its inputs and outputs are not the expected ones. */
  | "invalid_model";

/**
 * A model or its sidecar is missing, stale or broken. The message says what
 * differs and how to fix it (usually: retrain with `deno task train`).
 *
 * @example
 * ```ts
 * try {
 *   await loadFlowScorer({ modelPath, expectedFeatureNames, expectedFeatureVersion });
 * } catch (e) {
 *   if (e instanceof ScorerLoadError && e.reason === "missing_model") console.error(e.message);
 *   else throw e;
 * }
 * ```
 */
export class ScorerLoadError extends Error {
  /** Why loading failed. */
  readonly reason: ScorerLoadErrorReason;
  /** The model path that was being loaded. */
  readonly modelPath: string;

  /** Creates the error; `cause` is the underlying error, if any. */
  constructor(
    message: string,
    options: { reason: ScorerLoadErrorReason; modelPath: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "ScorerLoadError";
    this.reason = options.reason;
    this.modelPath = options.modelPath;
  }
}
