/**
 * Storage shared by the server and the aggregator: one postgres.js handle over
 * PostgreSQL or embedded PGlite, the migration runner and the queries.
 *
 * Names: a row type (and anything sent as JSON) mirrors its columns in
 * snake_case; options, results and domain objects are camelCase. A query
 * reads rows under their column names (no camelCase aliases in SQL) and
 * converts them in one place when it returns a domain object.
 *
 * @module
 */
export * from "./open_database.ts";
export * from "./migrate.ts";
export * from "./packet_store.ts";
export * from "./flow_queries.ts";
export * from "./raw_packet_queries.ts";
export * from "./health.ts";
export * from "./raw_packet_retention.ts";
export * from "./aggregator_queries.ts";
export * from "./pg_array_literal.ts";
export * from "./feature_vector_bytes.ts";
export * from "./batch_packet_columns.ts";
export * from "./copy_in.ts";
export * from "./flow_copy.ts";
export * from "./describe_database_error.ts";
export * from "./raw_packet_copy.ts";
export * from "./flow_search.ts";
export * from "./flow_packets.ts";
export * from "./incident_grouping.ts";
export * from "./incident_store.ts";
export * from "./rescored_incidents.ts";
export * from "./incident_queries.ts";
export * from "./dashboard_queries.ts";
export * from "./dashboard_rollups.ts";
export * from "./rollup_fold_ahead.ts";
export * from "./flow_names.ts";
export * from "./flow_app_detail.ts";
export * from "./host_queries.ts";
export * from "./flow_detail_queries.ts";
export * from "./rescore_queries.ts";
