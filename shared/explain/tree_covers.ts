/**
 * The covers file `X.covers.json` written beside a model `X.onnx`: for every
 * tree of the forest, the cover of every node, which exact TreeSHAP needs and
 * the ONNX TreeEnsembleClassifier has no attribute for.
 *
 * ## Format (format version 1)
 *
 * ```json
 * {
 *   "format": "traffic-analyzer-tree-covers",
 *   "formatVersion": 1,
 *   "modelVersion": "flow-rf-…",
 *   "onnxSha256": "<hex SHA-256 of X.onnx>",
 *   "cover": "bootstrap draws of training rows reaching the node",
 *   "trees": [
 *     [812, 401, 411, …],
 *     …
 *   ]
 * }
 * ```
 *
 * `trees[t][i]` is the cover of node `i` of tree `t`, the node with
 * `nodes_treeids = t` and `nodes_nodeids = i` in the ONNX model. A cover is
 * an integer ≥ 1: how many bootstrap draws of training rows reached the node
 * (a row drawn twice counts twice; class weights do not count), so a branch's
 * cover is the sum of its children's. `onnxSha256` ties the file to one model
 * file: covers of another model are refused. One tree per line keeps the file
 * small (about 5 bytes a node) and its diffs readable.
 *
 * The writer is the trainer (`models/ml/save_flow_model.ts`); the reader is
 * the aggregator's explainer. Both use this module.
 *
 * @module
 */

import { z } from "zod";

/** Value of the covers file's `format` field. */
export const TREE_COVERS_FORMAT = "traffic-analyzer-tree-covers";
/** Version of the covers file format; bump on incompatible changes. */
export const TREE_COVERS_FORMAT_VERSION = 1;
/** What a cover counts, written into the file for readers. */
export const TREE_COVER_MEANING = "bootstrap draws of training rows reaching the node";

/** Contents of a covers file. */
export interface TreeCovers {
  /** Version of the model the covers belong to. */
  modelVersion: string;
  /** Hex SHA-256 of the model's `.onnx` file. */
  onnxSha256: string;
  /** `trees[t][i]`: cover of node `i` of tree `t`. */
  trees: ArrayLike<number>[];
}

/** A covers file that cannot be read, or does not match its model. */
export class TreeCoversError extends Error {
  /** Creates the error; `cause` is the underlying failure, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TreeCoversError";
  }
}

const TreeCoversSchema = z.object({
  format: z.literal(TREE_COVERS_FORMAT),
  formatVersion: z.literal(TREE_COVERS_FORMAT_VERSION),
  modelVersion: z.string().min(1),
  onnxSha256: z.string().regex(/^[0-9a-f]{64}$/),
  cover: z.string().optional(),
  trees: z.array(z.array(z.number().int().min(1)).min(1)).min(1),
});

/** The covers path of a model: `X.onnx` -> `X.covers.json`. */
export function treeCoversPathFor(onnxPath: string): string {
  if (!onnxPath.endsWith(".onnx")) {
    throw new RangeError(
      `Cannot name the tree covers file as the model path must end in .onnx: current value is ${onnxPath}`,
    );
  }
  return `${onnxPath.slice(0, -".onnx".length)}.covers.json`;
}

/**
 * Serialises covers in the file format above, one tree per line, the same
 * bytes for the same covers.
 */
export function formatTreeCovers(covers: TreeCovers): string {
  const head = {
    format: TREE_COVERS_FORMAT,
    formatVersion: TREE_COVERS_FORMAT_VERSION,
    modelVersion: covers.modelVersion,
    onnxSha256: covers.onnxSha256,
    cover: TREE_COVER_MEANING,
  };
  const lines = Object.entries(head).map(([k, v]) =>
    `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`
  );
  const trees = covers.trees.map((t) => `    [${Array.from(t).join(",")}]`);
  return `{\n${lines.join(",\n")},\n  "trees": [\n${trees.join(",\n")}\n  ]\n}\n`;
}

/** Parses covers file text; throws a {@linkcode TreeCoversError} naming the first problems. */
export function parseTreeCovers(text: string): TreeCovers {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TreeCoversError("Cannot read the tree covers as they are not JSON", { cause });
  }
  const result = TreeCoversSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 3).map((i) =>
      `${i.path.join(".") || "(root)"}: ${i.message}`
    );
    throw new TreeCoversError(`Cannot read the tree covers: ${problems.join("; ")}`);
  }
  const { modelVersion, onnxSha256, trees } = result.data;
  return { modelVersion, onnxSha256, trees: trees.map((t) => Uint32Array.from(t)) };
}
