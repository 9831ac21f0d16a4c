/**
 * Live packet capture through libpcap over Deno FFI: single interfaces
 * ({@linkcode LiveCapture}), several merged ({@linkcode CaptureGroup}), the
 * filter that keeps the agent's own uploads out ({@linkcode buildCaptureFilter}),
 * and helpers to list interfaces and check filters without privileges.
 *
 * Needs `--allow-ffi` and, to open an interface, root or CAP_NET_RAW.
 *
 * @example
 * ```ts
 * import { buildCaptureFilter, CaptureGroup } from "./mod.ts";
 *
 * const filter = await buildCaptureFilter({
 *   userFilter: "ip or ip6",
 *   excludeUrl: "http://127.0.0.1:8000/ingest_packets",
 * });
 * using group = CaptureGroup.open({ interfaceNames: ["eth0"], filter });
 * for await (const burst of group.bursts()) console.log(burst.length);
 * ```
 *
 * @module
 */

export { CaptureError } from "./capture_error.ts";
export type { CaptureErrorCode, CaptureErrorOptions } from "./capture_error.ts";
export { LiveCapture } from "./live_capture.ts";
export type { CaptureStats, LiveFrame, TimestampPrecision } from "./live_capture.ts";
export { MAX_SNAPLEN_BYTES, MIN_SNAPLEN_BYTES } from "./live_capture_options.ts";
export type { LiveCaptureOptions } from "./live_capture_options.ts";
export { CaptureGroup } from "./capture_group.ts";
export type { CaptureGroupOptions } from "./capture_group.ts";
export { buildCaptureFilter } from "./capture_filter.ts";
export type { BuildCaptureFilterOptions, ResolveAddresses } from "./capture_filter.ts";
export { checkCaptureFilter, CompiledCaptureFilter } from "./compiled_capture_filter.ts";
export type { CompileCaptureFilterOptions } from "./compiled_capture_filter.ts";
export { listInterfaces } from "./list_interfaces.ts";
export type { CaptureInterface } from "./list_interfaces.ts";
export { isLibpcapAvailable, libpcapVersion } from "./libpcap.ts";
