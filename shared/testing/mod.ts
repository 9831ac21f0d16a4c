/**
 * Helpers for tests and benchmarks: realistic sample records and free ports.
 *
 * @module
 */
export * from "./blank_packet_record.ts";
export * from "./sample_records.ts";
export * from "./free_port.ts";
export * from "./tshark_conversations.ts";
export * from "./team_kit.ts";
