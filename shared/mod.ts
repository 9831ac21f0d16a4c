/**
 * The ground floor shared by the agent, the server and the aggregator:
 * configuration, logging, the version, the byte-array joiner and thread
 * priority. Packet, pcap, flow and storage code have their own entry points
 * (`./packet`, `./pcap`, `./flow`, `./db`).
 *
 * @module
 */
export * from "./concat_bytes.ts";
export * from "./config.ts";
export * from "./log.ts";
export * from "./thread_nice.ts";
export * from "./version.ts";
