/**
 * Explanations of the flow classifier's verdicts: the tree covers file that
 * travels with the model, the model's trees read back from its ONNX bytes,
 * and exact path-dependent TreeSHAP over the forest.
 *
 * @module
 */
export * from "./tree_covers.ts";
export * from "./tree_shap.ts";
export * from "./onnx_tree_ensemble.ts";
export * from "./flow_explainer.ts";
