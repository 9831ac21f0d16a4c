/**
 * The libpcap binding over Deno FFI. `npm:cap` and similar packages are nan
 * addons that Deno cannot load, so the agent calls libpcap's C API directly.
 * The library is opened lazily by {@linkcode loadLibpcap}, never at import.
 *
 * Struct layouts below are the LP64 ones (Linux on x86_64 and aarch64, the
 * only platforms Deno's FFI ships on besides macOS, which shares them).
 *
 * @module
 */

import { CaptureError } from "./capture_error.ts";

/** libpcap's generic error status. */
export const PCAP_ERROR = -1;
/** `pcap_next_ex` status after `pcap_breakloop`, or at the end of a savefile. */
export const PCAP_ERROR_BREAK = -2;
/** The named device does not exist. */
export const PCAP_ERROR_NO_SUCH_DEVICE = -5;
/** No permission to open the device (needs root or CAP_NET_RAW on Linux). */
export const PCAP_ERROR_PERM_DENIED = -8;
/** The interface is down. */
export const PCAP_ERROR_IFACE_NOT_UP = -9;
/** No permission to put the device in promiscuous mode. */
export const PCAP_ERROR_PROMISC_PERM_DENIED = -11;
/** The requested time stamp precision is not supported. */
export const PCAP_ERROR_TSTAMP_PRECISION_NOTSUP = -12;
/** Capture mechanism not available (libpcap 1.10+). */
export const PCAP_ERROR_CAPTURE_NOTSUP = -13;
/** Time stamps in microseconds (`tv_usec` holds µs). */
export const PCAP_TSTAMP_PRECISION_MICRO = 0;
/** Time stamps in nanoseconds (`tv_usec` holds ns). */
export const PCAP_TSTAMP_PRECISION_NANO = 1;
/** Netmask for `pcap_compile` when it is not known; only `ip broadcast` needs it. */
export const PCAP_NETMASK_UNKNOWN = 0xffffffff;
/** Size of the caller-provided error buffer every libpcap call that takes one expects. */
export const PCAP_ERRBUF_SIZE = 256;

/** `pcap_if.flags`: loopback interface. */
export const PCAP_IF_LOOPBACK = 0x1;
/** `pcap_if.flags`: interface is up. */
export const PCAP_IF_UP = 0x2;
/** `pcap_if.flags`: interface is running. */
export const PCAP_IF_RUNNING = 0x4;
/** `pcap_if.flags`: interface is wireless. */
export const PCAP_IF_WIRELESS = 0x8;

/** Byte offsets in `struct pcap_pkthdr` (timeval of two 64-bit longs, then two u32). */
export const PKTHDR_TV_SEC_OFFSET = 0;
/** Offset of `ts.tv_usec` (holds nanoseconds when the precision is nano). */
export const PKTHDR_TV_USEC_OFFSET = 8;
/** Offset of `caplen`. */
export const PKTHDR_CAPLEN_OFFSET = 16;
/** Offset of `len` (bytes on the wire). */
export const PKTHDR_LEN_OFFSET = 20;
/** Size of `struct pcap_pkthdr`. */
export const PKTHDR_SIZE = 24;

/** Size of `struct bpf_program` (u_int length, padding, instruction pointer). */
export const BPF_PROGRAM_SIZE = 16;
/** Size of `struct pcap_stat` on Linux (three u_int), rounded up for safety. */
export const PCAP_STAT_SIZE = 16;

/** Offsets in `struct pcap_if`. */
export const PCAP_IF_NEXT_OFFSET = 0;
/** Offset of `pcap_if.name`. */
export const PCAP_IF_NAME_OFFSET = 8;
/** Offset of `pcap_if.description`. */
export const PCAP_IF_DESCRIPTION_OFFSET = 16;
/** Offset of `pcap_if.addresses`. */
export const PCAP_IF_ADDRESSES_OFFSET = 24;
/** Offset of `pcap_if.flags`. */
export const PCAP_IF_FLAGS_OFFSET = 32;
/** Offsets in `struct pcap_addr`: next, then the address sockaddr. */
export const PCAP_ADDR_NEXT_OFFSET = 0;
/** Offset of `pcap_addr.addr`. */
export const PCAP_ADDR_ADDR_OFFSET = 8;

/** The C signatures this binding uses. */
export const LIBPCAP_SYMBOLS = {
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_open_dead: { parameters: ["i32", "i32"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: {
    parameters: ["pointer", "i32"],
    result: "i32",
    optional: true,
  },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_tstamp_precision: {
    parameters: ["pointer", "i32"],
    result: "i32",
    optional: true,
  },
  pcap_get_tstamp_precision: {
    parameters: ["pointer"],
    result: "i32",
    optional: true,
  },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  pcap_set_datalink: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  pcap_compile: {
    parameters: ["pointer", "buffer", "buffer", "i32", "u32"],
    result: "i32",
  },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_offline_filter: {
    parameters: ["buffer", "buffer", "buffer"],
    result: "i32",
  },
  pcap_setnonblock: {
    parameters: ["pointer", "i32", "buffer"],
    result: "i32",
  },
  pcap_next_ex: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "i32",
  },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  pcap_lib_version: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libpcap symbols. */
export type Libpcap = Deno.DynamicLibrary<typeof LIBPCAP_SYMBOLS>["symbols"];

/** Sonames tried in order: Debian's package name first, then other distributions'. */
const LIBPCAP_CANDIDATES: Record<string, readonly string[]> = {
  linux: ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"],
  darwin: ["libpcap.A.dylib", "/usr/lib/libpcap.dylib"],
};

let loaded: Deno.DynamicLibrary<typeof LIBPCAP_SYMBOLS> | undefined;

/**
 * Opens libpcap once per process and returns its symbols. Throws a
 * {@linkcode CaptureError} with code `LIBPCAP_NOT_FOUND` and an install hint
 * when no candidate library loads; a missing `--allow-ffi` is rethrown as
 * Deno's own permission error, which already says what to do.
 */
export function loadLibpcap(): Libpcap {
  if (loaded) return loaded.symbols;
  const candidates = LIBPCAP_CANDIDATES[Deno.build.os] ??
    LIBPCAP_CANDIDATES.linux;
  const failures: unknown[] = [];
  for (const name of candidates) {
    try {
      loaded = Deno.dlopen(name, LIBPCAP_SYMBOLS);
      return loaded.symbols;
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied
      ) throw error;
      failures.push(error);
    }
  }
  throw new CaptureError(
    `libpcap not found: install it with \`apt-get install libpcap0.8\` ` +
      `(tried ${candidates.join(", ")}: ${String(failures[0])})`,
    { code: "LIBPCAP_NOT_FOUND", cause: new AggregateError(failures) },
  );
}

/** True when libpcap can be loaded; tests use it to skip with a reason. */
export function isLibpcapAvailable(): boolean {
  try {
    loadLibpcap();
    return true;
  } catch {
    return false;
  }
}

/** The version banner, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`. */
export function libpcapVersion(): string {
  return readCString(loadLibpcap().pcap_lib_version()) ?? "";
}

const encoder = new TextEncoder();

/** Encodes a string as a NUL-terminated C string for a `buffer` parameter. */
export function toCString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Reads a NUL-terminated C string, or null for a null pointer. */
export function readCString(pointer: Deno.PointerValue): string | null {
  return pointer === null ? null : Deno.UnsafePointerView.getCString(pointer);
}

/** Reads the message libpcap left in a caller-provided error buffer. */
export function readErrbuf(errbuf: Uint8Array): string {
  const end = errbuf.indexOf(0);
  return new TextDecoder().decode(errbuf.subarray(0, end < 0 ? errbuf.length : end));
}

/** The last error text of a handle (`pcap_geterr`). */
export function pcapErrorText(pcap: Libpcap, handle: Deno.PointerObject): string {
  return readCString(pcap.pcap_geterr(handle)) ?? "";
}

/** libpcap's text for a status code (`pcap_statustostr`). */
export function pcapStatusText(pcap: Libpcap, status: number): string {
  return readCString(pcap.pcap_statustostr(status)) ?? `status ${status}`;
}

/** Reads a pointer out of an 8-byte out-parameter buffer. */
export function readPointerOut(out: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0]);
}

/**
 * Maps a `DLT_` value from `pcap_datalink` to the `LINKTYPE_` value that
 * pcap files and `PacketRecord.link_type` use. They differ only for a few
 * old numbers that BSDs had assigned differently (libpcap's own
 * `dlt_to_linktype`); 104 and above are the same on every platform.
 */
export function dltToLinkType(dlt: number): number {
  switch (dlt) {
    case 11: // DLT_ATM_RFC1483
      return 100;
    case 12: // DLT_RAW on Linux and most systems
      return 101;
    case 15: // DLT_SLIP_BSDOS
      return 102;
    case 16: // DLT_PPP_BSDOS
      return 103;
    default:
      return dlt;
  }
}
