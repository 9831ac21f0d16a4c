/**
 * Reads the trees of an ONNX `ai.onnx.ml` TreeEnsembleClassifier back out of
 * the model bytes, so the aggregator can explain the very model it scores
 * with (it may not import the trainer's code, and the model file is the one
 * source of truth). Only what the project's exporter writes is accepted:
 * BRANCH_LEQ and LEAF nodes, node ids 0..n-1 per tree, no missing-value
 * tracking. Anything else is refused with the reason.
 *
 * Field numbers follow onnx/onnx.proto (ModelProto.graph = 7,
 * GraphProto.node = 1, NodeProto.attribute = 5, NodeProto.op_type = 4,
 * AttributeProto name = 1, s = 4, floats = 7, ints = 8, strings = 9).
 *
 * @module
 */

import {
  appendFloats,
  appendVarints,
  ProtobufDecodeError,
  protoFields,
  protoString,
} from "./_protobuf_reader.ts";

const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const ATTR_NAME = 1;
const ATTR_S = 4;
const ATTR_FLOATS = 7;
const ATTR_INTS = 8;
const ATTR_STRINGS = 9;

/** One tree of the ensemble, nodes indexed by their ONNX node id. */
export interface OnnxTree {
  /** Split feature of each node; -1 on leaves. */
  feature: Int32Array;
  /** Threshold of each branch node (float32, BRANCH_LEQ); 0 on leaves. */
  threshold: Float32Array;
  /** Child taken when `x <= threshold`; -1 on leaves. */
  left: Int32Array;
  /** Child taken otherwise; -1 on leaves. */
  right: Int32Array;
  /** Leaf class weights: `classWeights[node * classes + c]` (0 on branch nodes). */
  classWeights: Float64Array;
}

/** The classifier's trees and class labels. */
export interface OnnxTreeEnsemble {
  /** `classlabels_strings`, in the order of `classWeights`' columns. */
  classLabels: string[];
  /** The trees, by tree id. */
  trees: OnnxTree[];
}

/** A model that is not a tree ensemble this code can read. */
export class OnnxTreeEnsembleError extends Error {
  /** Creates the error; `cause` is the underlying failure, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OnnxTreeEnsembleError";
  }
}

interface Attributes {
  ints: Map<string, number[]>;
  floats: Map<string, number[]>;
  strings: Map<string, string[]>;
}

function readAttributes(node: Uint8Array): { opType: string; attrs: Attributes } {
  let opType = "";
  const attrs: Attributes = { ints: new Map(), floats: new Map(), strings: new Map() };
  for (const f of protoFields(node)) {
    if (f.field === NODE_OP_TYPE) opType = protoString(f);
    if (f.field !== NODE_ATTRIBUTE) continue;
    let name = "";
    const ints: number[] = [];
    const floats: number[] = [];
    const strings: string[] = [];
    for (const a of protoFields(f.bytes)) {
      if (a.field === ATTR_NAME) name = protoString(a);
      else if (a.field === ATTR_INTS) appendVarints(a, ints);
      else if (a.field === ATTR_FLOATS) appendFloats(a, floats);
      else if (a.field === ATTR_STRINGS || a.field === ATTR_S) strings.push(protoString(a));
    }
    attrs.ints.set(name, ints);
    attrs.floats.set(name, floats);
    attrs.strings.set(name, strings);
  }
  return { opType, attrs };
}

/**
 * Reads the TreeEnsembleClassifier of an ONNX model.
 *
 * @throws {OnnxTreeEnsembleError} when the bytes are no ONNX model, hold no
 * TreeEnsembleClassifier, or use node modes or ids the exporter never writes.
 */
export function readOnnxTreeEnsemble(bytes: Uint8Array): OnnxTreeEnsemble {
  let attrs: Attributes | null = null;
  try {
    for (const m of protoFields(bytes)) {
      if (m.field !== MODEL_GRAPH) continue;
      for (const g of protoFields(m.bytes)) {
        if (g.field !== GRAPH_NODE) continue;
        const node = readAttributes(g.bytes);
        if (node.opType === "TreeEnsembleClassifier") attrs = node.attrs;
      }
    }
  } catch (cause) {
    if (cause instanceof ProtobufDecodeError || cause instanceof TypeError) {
      throw new OnnxTreeEnsembleError(`Cannot read the ONNX model: ${cause.message}`, { cause });
    }
    throw cause;
  }
  if (attrs === null) {
    throw new OnnxTreeEnsembleError("Cannot read the ONNX model: it has no TreeEnsembleClassifier");
  }
  const ints = (name: string) => attrs!.ints.get(name) ?? [];
  const fail = (why: string): never => {
    throw new OnnxTreeEnsembleError(`Cannot read the tree ensemble: ${why}`);
  };
  const treeIds = ints("nodes_treeids");
  const nodeIds = ints("nodes_nodeids");
  const featureIds = ints("nodes_featureids");
  const trueIds = ints("nodes_truenodeids");
  const falseIds = ints("nodes_falsenodeids");
  const values = attrs.floats.get("nodes_values") ?? [];
  const modes = attrs.strings.get("nodes_modes") ?? [];
  const classLabels = attrs.strings.get("classlabels_strings") ?? [];
  const n = treeIds.length;
  for (const [name, list] of Object.entries({ nodeIds, featureIds, trueIds, falseIds, values })) {
    if (list.length !== n) fail(`${name} has ${list.length} entries for ${n} nodes`);
  }
  if (modes.length !== n) fail(`nodes_modes has ${modes.length} entries for ${n} nodes`);
  if (ints("nodes_missing_value_tracks_true").some((v) => v !== 0)) {
    fail("nodes_missing_value_tracks_true is set, which the explainer does not follow");
  }
  if (classLabels.length === 0) fail("it has no classlabels_strings");
  const C = classLabels.length;

  const sizes: number[] = [];
  for (let k = 0; k < n; k++) {
    const t = treeIds[k];
    if (!Number.isSafeInteger(t) || t > n) fail(`node ${k} has tree id ${t}`);
    sizes[t] = Math.max(sizes[t] ?? 0, nodeIds[k] + 1);
  }
  const trees: OnnxTree[] = Array.from({ length: sizes.length }, (_, t) => {
    const size = sizes[t] ?? fail(`tree ${t} has no nodes`);
    return {
      feature: new Int32Array(size).fill(-2),
      threshold: new Float32Array(size),
      left: new Int32Array(size).fill(-1),
      right: new Int32Array(size).fill(-1),
      classWeights: new Float64Array(size * C),
    };
  });
  for (let k = 0; k < n; k++) {
    const tree = trees[treeIds[k]];
    const id = nodeIds[k];
    if (tree.feature[id] !== -2) fail(`tree ${treeIds[k]} has node ${id} twice`);
    if (modes[k] === "LEAF") {
      tree.feature[id] = -1;
      continue;
    }
    if (modes[k] !== "BRANCH_LEQ") fail(`node mode ${modes[k]} is not BRANCH_LEQ or LEAF`);
    const size = tree.feature.length;
    if (trueIds[k] >= size || falseIds[k] >= size) {
      fail(`tree ${treeIds[k]} node ${id} has a child out of range`);
    }
    tree.feature[id] = featureIds[k];
    tree.threshold[id] = values[k];
    tree.left[id] = trueIds[k];
    tree.right[id] = falseIds[k];
  }
  trees.forEach((tree, t) => {
    const missing = tree.feature.indexOf(-2);
    if (missing >= 0) fail(`tree ${t} has no node ${missing}`);
  });

  const classTrees = ints("class_treeids");
  const classNodes = ints("class_nodeids");
  const classIds = ints("class_ids");
  const weights = attrs.floats.get("class_weights") ?? [];
  const m = classTrees.length;
  if (classNodes.length !== m || classIds.length !== m || weights.length !== m) {
    fail("class_treeids, class_nodeids, class_ids and class_weights differ in length");
  }
  for (let k = 0; k < m; k++) {
    const tree = trees[classTrees[k]];
    const node = classNodes[k];
    if (tree === undefined || !(node < tree.feature.length) || tree.feature[node] !== -1) {
      fail(`class weight ${k} is not on a leaf`);
    }
    if (!(classIds[k] < C)) fail(`class weight ${k} has class id ${classIds[k]}`);
    tree.classWeights[node * C + classIds[k]] += weights[k];
  }
  return { classLabels, trees };
}
