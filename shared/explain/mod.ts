/**
 * Explanations of the flow classifier's verdicts: the tree covers file that
 * travels with the model, and exact TreeSHAP over the forest.
 *
 * @module
 */
export * from "./tree_covers.ts";
