/**
 * The ground floor shared by the agent, the server and the aggregator:
 * configuration, logging and the version. Packet, pcap, flow and storage code
 * have their own entry points (`./packet`, `./pcap`, `./flow`, `./db`).
 *
 * @module
 */
export * from "./config.ts";
export * from "./log.ts";
export * from "./version.ts";
