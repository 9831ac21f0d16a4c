/**
 * Helpers for tests and benchmarks: realistic sample records, free ports and
 * throwaway PostgreSQL clusters.
 *
 * @module
 */
export * from "./blank_packet_record.ts";
export * from "./sample_records.ts";
export * from "./free_port.ts";
export * from "./tshark_conversations.ts";
export * from "./team_kit.ts";
export * from "./throwaway_postgres.ts";
