/**
 * Writes a trained {@linkcode Forest} as an ONNX model, encoding the protobuf
 * by hand (no dependency), byte for byte the same for the same forest.
 *
 * The graph:
 *
 * ```
 * features float[N, F]
 *   -> ai.onnx.ml TreeEnsembleClassifier (BRANCH_LEQ, post_transform NONE)
 *        -> label string[N]
 *        -> votes float[N, C]   (summed leaf units, each worth 2^-24)
 *   -> Div(votes, tree_vote_total) -> probabilities float[N, C]
 * ```
 *
 * The Div is there because the vote sums stay exact only as integer multiples
 * of 2^-24 (see forest.ts); dividing once at the end by the exact float32
 * `treeCount * unitsPerLeaf * 2^-24` gives correctly rounded mean
 * probabilities that {@linkcode predictProba} reproduces bit for bit.
 *
 * A forest with exactly two classes gets a third, never-voted padding label
 * (last, named `__unused__` unless that is taken) because onnxruntime's
 * two-class TreeEnsembleClassifier decides the label with thresholds on one
 * score instead of an argmax; with three labels it takes the plain argmax
 * path. `probabilities` then has a third column that is always 0.
 *
 * Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto, TypeProto, TensorShapeProto, TensorProto,
 * OperatorSetIdProto, StringStringEntryProto).
 *
 * @module
 */

import { ProtoWriter } from "./_protobuf_writer.ts";
import { type Forest, VOTE_UNIT, voteDivisor } from "./forest.ts";

/** IR version written to ModelProto.ir_version (IR v8, ONNX 1.10+). */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset (for Div). */
export const ONNX_OPSET = 15;
/** ai.onnx.ml opset (TreeEnsembleClassifier v3). */
export const ONNX_ML_OPSET = 3;
/** Name of the graph input: float [N, featureCount]. */
export const ONNX_INPUT_NAME = "features";
/** Name of the label output: string [N]. */
export const ONNX_LABEL_OUTPUT = "label";
/** Name of the probabilities output: float [N, classes]. */
export const ONNX_PROBABILITIES_OUTPUT = "probabilities";

// onnx.proto field numbers.
const MODEL_IR_VERSION = 1;
const MODEL_PRODUCER_NAME = 2;
const MODEL_PRODUCER_VERSION = 3;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const MODEL_METADATA_PROPS = 14;
const GRAPH_NODE = 1;
const GRAPH_NAME = 2;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTR_NAME = 1;
const ATTR_S = 4;
const ATTR_FLOATS = 7;
const ATTR_INTS = 8;
const ATTR_STRINGS = 9;
const ATTR_TYPE = 20;
const ATTR_TYPE_STRING = 3;
const ATTR_TYPE_FLOATS = 6;
const ATTR_TYPE_INTS = 7;
const ATTR_TYPE_STRINGS = 8;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR_TYPE = 1;
const TENSOR_TYPE_ELEM_TYPE = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
// TensorProto.DataType values.
const ELEM_FLOAT = 1;
const ELEM_STRING = 8;

const ML_DOMAIN = "ai.onnx.ml";
const VOTES = "votes";
const VOTE_TOTAL = "tree_vote_total";

/** Options for {@linkcode exportForestToOnnx}. */
export interface OnnxExportOptions {
  /** Feature names in input order, stored in metadata. @default ["f0", "f1", …] */
  featureNames?: readonly string[];
  /** Version of the feature list, stored in metadata. @default "" */
  featureVersion?: string | number;
  /** Version of the model, stored in metadata. @default "" */
  modelVersion?: string;
  /** Graph name. @default "random_forest" */
  graphName?: string;
  /** ModelProto.producer_name. @default "traffic-analyzer" */
  producerName?: string;
  /** ModelProto.producer_version. @default "1" */
  producerVersion?: string;
  /** More metadata_props entries, written sorted by key. @default {} */
  metadata?: Readonly<Record<string, string>>;
}

/** Metadata keys the exporter writes itself. */
const RESERVED_KEYS = [
  "classes",
  "feature_names",
  "feature_version",
  "model_version",
  "tree_count",
];

/**
 * The ONNX class labels of a forest: its classes, plus one padding label when
 * there are exactly two (see the module doc).
 */
export function onnxClassLabels(forest: Pick<Forest, "classes">): string[] {
  if (forest.classes.length !== 2) return [...forest.classes];
  let pad = "__unused__";
  while (forest.classes.includes(pad)) pad += "_";
  return [...forest.classes, pad];
}

/**
 * Encodes `forest` as an ONNX ModelProto (IR 8, opsets "" 15 and ai.onnx.ml 3).
 *
 * @example
 * ```ts
 * const bytes = exportForestToOnnx(forest, { featureNames: FEATURE_NAMES, featureVersion: 1 });
 * await Deno.writeFile("models/flow_classifier.onnx", bytes);
 * ```
 */
export function exportForestToOnnx(forest: Forest, options: OnnxExportOptions = {}): Uint8Array {
  const featureNames = options.featureNames ??
    Array.from({ length: forest.featureCount }, (_, i) => `f${i}`);
  if (featureNames.length !== forest.featureCount) {
    throw new RangeError(
      `Cannot export the forest as 'featureNames' must have ${forest.featureCount} entries: current value has ${featureNames.length}`,
    );
  }
  const extra = options.metadata ?? {};
  for (const key of Object.keys(extra)) {
    if (RESERVED_KEYS.includes(key)) {
      throw new RangeError(
        `Cannot export the forest as 'metadata' may not set the reserved key: current value sets "${key}"`,
      );
    }
  }
  const labels = onnxClassLabels(forest);
  const metadata: [string, string][] = [
    ["classes", JSON.stringify(forest.classes)],
    ["feature_names", JSON.stringify(featureNames)],
    ["feature_version", String(options.featureVersion ?? "")],
    ["model_version", options.modelVersion ?? ""],
    ["tree_count", String(forest.trees.length)],
    ...Object.keys(extra).sort().map((k): [string, string] => [k, extra[k]]),
  ];

  const model = new ProtoWriter()
    .uint(MODEL_IR_VERSION, ONNX_IR_VERSION)
    .string(MODEL_PRODUCER_NAME, options.producerName ?? "traffic-analyzer")
    .string(MODEL_PRODUCER_VERSION, options.producerVersion ?? "1")
    .message(MODEL_GRAPH, (g) => {
      g.message(GRAPH_NODE, (n) => writeTreeEnsembleNode(n, forest, labels));
      g.message(GRAPH_NODE, (n) => {
        n.string(NODE_INPUT, VOTES).string(NODE_INPUT, VOTE_TOTAL)
          .string(NODE_OUTPUT, ONNX_PROBABILITIES_OUTPUT)
          .string(NODE_NAME, "average").string(NODE_OP_TYPE, "Div");
      });
      g.string(GRAPH_NAME, options.graphName ?? "random_forest");
      g.message(GRAPH_INITIALIZER, (t) => {
        const raw = new Uint8Array(4);
        new DataView(raw.buffer).setFloat32(0, voteDivisor(forest), true);
        // No dims: a scalar, broadcast over [N, C].
        t.uint(TENSOR_DATA_TYPE, ELEM_FLOAT).string(TENSOR_NAME, VOTE_TOTAL)
          .bytes(TENSOR_RAW_DATA, raw);
      });
      g.message(
        GRAPH_INPUT,
        (v) => writeValueInfo(v, ONNX_INPUT_NAME, ELEM_FLOAT, forest.featureCount),
      );
      g.message(GRAPH_OUTPUT, (v) => writeValueInfo(v, ONNX_LABEL_OUTPUT, ELEM_STRING, null));
      g.message(
        GRAPH_OUTPUT,
        (v) => writeValueInfo(v, ONNX_PROBABILITIES_OUTPUT, ELEM_FLOAT, labels.length),
      );
    })
    .message(MODEL_OPSET_IMPORT, (o) => o.string(OPSET_DOMAIN, "").uint(OPSET_VERSION, ONNX_OPSET))
    .message(
      MODEL_OPSET_IMPORT,
      (o) => o.string(OPSET_DOMAIN, ML_DOMAIN).uint(OPSET_VERSION, ONNX_ML_OPSET),
    );
  for (const [key, value] of metadata) {
    model.message(MODEL_METADATA_PROPS, (e) => e.string(ENTRY_KEY, key).string(ENTRY_VALUE, value));
  }
  return model.finish();
}

/** ValueInfoProto for a tensor of shape [N] (columns null) or [N, columns]. */
function writeValueInfo(
  v: ProtoWriter,
  name: string,
  elemType: number,
  columns: number | null,
): void {
  v.string(VALUE_INFO_NAME, name).message(
    VALUE_INFO_TYPE,
    (type) =>
      type.message(
        TYPE_TENSOR_TYPE,
        (tensor) =>
          tensor.uint(TENSOR_TYPE_ELEM_TYPE, elemType).message(TENSOR_TYPE_SHAPE, (shape) => {
            shape.message(SHAPE_DIM, (d) => d.string(DIM_PARAM, "N"));
            if (columns !== null) shape.message(SHAPE_DIM, (d) => d.uint(DIM_VALUE, columns));
          }),
      ),
  );
}

function writeTreeEnsembleNode(n: ProtoWriter, forest: Forest, labels: string[]): void {
  const C = forest.classes.length;
  const nodeTotal = forest.trees.reduce((s, t) => s + t.feature.length, 0);
  const nodesTreeIds = new Float64Array(nodeTotal);
  const nodesNodeIds = new Float64Array(nodeTotal);
  const nodesFeatureIds = new Float64Array(nodeTotal);
  const nodesValues = new Float32Array(nodeTotal);
  const nodesTrue = new Float64Array(nodeTotal);
  const nodesFalse = new Float64Array(nodeTotal);
  const modes: string[] = [];
  const classTreeIds: number[] = [];
  const classNodeIds: number[] = [];
  const classIds: number[] = [];
  const classWeights: number[] = [];
  let k = 0;
  forest.trees.forEach((tree, t) => {
    for (let i = 0; i < tree.feature.length; i++, k++) {
      nodesTreeIds[k] = t;
      nodesNodeIds[k] = i;
      if (tree.feature[i] >= 0) {
        modes.push("BRANCH_LEQ");
        nodesFeatureIds[k] = tree.feature[i];
        nodesValues[k] = tree.threshold[i];
        nodesTrue[k] = tree.left[i];
        nodesFalse[k] = tree.right[i];
        continue;
      }
      modes.push("LEAF");
      const base = tree.leafIndex[i] * C;
      for (let c = 0; c < C; c++) {
        const units = tree.leafUnits[base + c];
        // Zero votes are left out: a class with no vote scores 0 either way.
        if (units === 0) continue;
        classTreeIds.push(t);
        classNodeIds.push(i);
        classIds.push(c);
        classWeights.push(units * VOTE_UNIT);
      }
    }
  });

  n.string(NODE_INPUT, ONNX_INPUT_NAME)
    .string(NODE_OUTPUT, ONNX_LABEL_OUTPUT)
    .string(NODE_OUTPUT, VOTES)
    .string(NODE_NAME, "forest")
    .string(NODE_OP_TYPE, "TreeEnsembleClassifier");
  const ints = (name: string, values: ArrayLike<number>) =>
    n.message(
      NODE_ATTRIBUTE,
      (a) =>
        a.string(ATTR_NAME, name).packedUints(ATTR_INTS, values).uint(ATTR_TYPE, ATTR_TYPE_INTS),
    );
  const floats = (name: string, values: ArrayLike<number>) =>
    n.message(
      NODE_ATTRIBUTE,
      (a) =>
        a.string(ATTR_NAME, name).packedFloats(ATTR_FLOATS, values).uint(
          ATTR_TYPE,
          ATTR_TYPE_FLOATS,
        ),
    );
  const strings = (name: string, values: readonly string[]) =>
    n.message(NODE_ATTRIBUTE, (a) => {
      a.string(ATTR_NAME, name);
      for (const s of values) a.string(ATTR_STRINGS, s);
      a.uint(ATTR_TYPE, ATTR_TYPE_STRINGS);
    });
  ints("class_ids", classIds);
  ints("class_nodeids", classNodeIds);
  ints("class_treeids", classTreeIds);
  floats("class_weights", classWeights);
  strings("classlabels_strings", labels);
  ints("nodes_falsenodeids", nodesFalse);
  ints("nodes_featureids", nodesFeatureIds);
  strings("nodes_modes", modes);
  ints("nodes_nodeids", nodesNodeIds);
  ints("nodes_treeids", nodesTreeIds);
  ints("nodes_truenodeids", nodesTrue);
  floats("nodes_values", nodesValues);
  n.message(
    NODE_ATTRIBUTE,
    (a) =>
      a.string(ATTR_NAME, "post_transform").string(ATTR_S, "NONE").uint(
        ATTR_TYPE,
        ATTR_TYPE_STRING,
      ),
  );
  n.string(NODE_DOMAIN, ML_DOMAIN);
}
