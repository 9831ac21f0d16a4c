/**
 * The aggregator: passes that turn ingested packets into scored flows, the
 * loop that runs them, retention, and the ONNX scorer.
 *
 * @module
 */
export * from "./aggregation_pass.ts";
export * from "./aggregator_service.ts";
export * from "./start_aggregator.ts";
export * from "./scorer/mod.ts";
