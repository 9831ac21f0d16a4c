/**
 * Flow assembly and flow features: Community ID, the incremental flow
 * table, per-flow features, time-window context features and the model's
 * feature vector. Used by the aggregator and by model training alike.
 *
 * @module
 */

export { communityId, type CommunityIdOptions, type CommunityIdTuple } from "./community_id.ts";
export {
  type AgentLaneState,
  type CloseReason,
  type FlowPacket,
  type FlowRecord,
  type FlowState,
  FlowTable,
  type FlowTableOptions,
  type FlowTableState,
  type FlowTableStateV1,
  type MergeResult,
  type ResolvedFlowTableOptions,
} from "./flow_table.ts";
export {
  DEFAULT_ACTIVITY_TIMEOUT_SEC,
  type FeaturePacket,
  FlowFeatureAccumulator,
  type FlowFeatureAccumulatorOptions,
  type FlowFeatures,
  FlowStatsPool,
} from "./flow_features.ts";
export {
  type ContextHandle,
  type ContextSubject,
  ContextTracker,
  type ContextTrackerState,
} from "./context_features.ts";
export type { ContextOptions } from "./context_options.ts";
export { emptyFlowContext, type FlowContext } from "./flow_context.ts";
export { FlowContextCounts } from "./flow_context_counts.ts";
export type { contextHandleBrand } from "./context_features.ts";
export { FEATURE_NAMES, FEATURE_VERSION, flowFeatureVector } from "./feature_vector.ts";
export {
  calibrateScore,
  calibrationProblem,
  fitIsotonicCalibration,
  FLOOD_MIN_PACKETS,
  FLOOD_MIN_PACKETS_PER_SEC,
  type FlowVerdict,
  flowVerdict,
  isBenignAlone,
  isFloodByItself,
  isLoneFlow,
  type ScoreCalibration,
} from "./score_calibration.ts";
export {
  FLOW_APP_FIELD_NAMES,
  FLOW_DNS_MAX_NAMES,
  type FlowAppFields,
  foldAppMetadata,
  NO_FLOW_APP_FIELDS,
} from "./flow_app_fold.ts";
