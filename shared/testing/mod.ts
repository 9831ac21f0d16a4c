/**
 * Helpers for tests and benchmarks: realistic sample records, free ports, the
 * team kit's captures, and how many cases a property tries. Nothing here
 * spawns a process: throwaway PostgreSQL clusters (`@traffic-analyzer/shared/testing/throwaway_postgres`)
 * and tshark's conversations (`@traffic-analyzer/shared/testing/tshark_conversations`)
 * have entry points of their own, so the fast unit tests can import this one.
 *
 * @module
 */
export * from "./blank_packet_record.ts";
export * from "./sample_records.ts";
export * from "./busy_records.ts";
export * from "./free_port.ts";
export * from "./team_kit.ts";
export * from "./property_runs.ts";
export * from "../random/mulberry32.ts";
export * from "./test_permissions.ts";
