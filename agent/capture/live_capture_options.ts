/**
 * The options of a live capture ({@linkcode LiveCaptureOptions}), their
 * defaults, and their checks before anything is opened: each bad option is
 * refused with a message naming it. Apart from live_capture.ts, which opens
 * the capture with them; a capture group checks every interface's options
 * with the same function first.
 *
 * @module
 */

/** Smallest snap length accepted: enough for Ethernet + IPv6 + TCP headers with options. */
export const MIN_SNAPLEN_BYTES = 64;
/** Largest snap length accepted: libpcap's own maximum. */
export const MAX_SNAPLEN_BYTES = 262144;

/** Options of {@linkcode LiveCapture.open}. */
export interface LiveCaptureOptions {
  /** Interface to capture on, as `listInterfaces()` names it (`eth0`, `lo`, `any`). */
  interfaceName: string;
  /**
   * Bytes kept of each packet (64..262144); longer packets are truncated and
   * keep their full `wireLength`.
   * @default {262144}
   */
  snaplenBytes?: number;
  /**
   * Put the interface in promiscuous mode, so traffic between other hosts on
   * the segment is seen too. Ignored on `any`, which cannot be promiscuous.
   * @default {true}
   */
  promiscuous?: boolean;
  /**
   * BPF filter in tcpdump syntax, applied in the kernel; empty captures all.
   * @default {""}
   */
  filter?: string;
  /**
   * Kernel ring buffer size (65536..2^31-1). It must hold what arrives
   * during an idle sleep plus the time the consumer spends on a burst.
   * @default {8388608}
   */
  bufferSizeBytes?: number;
  /**
   * Most frames read before giving the event loop back (1..100000).
   * @default {1024}
   */
  burstSize?: number;
  /**
   * Longest wait after the ring buffer was found empty (0..1000). The wait
   * polls the capture socket, so it ends as soon as packets arrive; only
   * where libc's poll cannot be loaded is it a plain sleep.
   * @default {5}
   */
  idleSleepMs?: number;
  /**
   * Longest time a packet may wait in a partly filled kernel block before
   * libpcap sees it (1..60000). Ignored in immediate mode.
   * @default {100}
   */
  readTimeoutMs?: number;
  /**
   * Deliver each packet as soon as it arrives instead of in kernel blocks.
   * Lower latency, higher per-packet cost.
   * @default {false}
   */
  immediateMode?: boolean;
  /**
   * Link-layer header type to ask for instead of the interface's default
   * (a DLT_ value, e.g. 276 for Linux SLL2 on `any`, whose header also
   * names the real interface); null keeps the default.
   * @default {null}
   */
  dataLinkType?: number | null;
}

const DEFAULTS = {
  snaplenBytes: MAX_SNAPLEN_BYTES,
  promiscuous: true,
  filter: "",
  bufferSizeBytes: 8 * 1024 * 1024,
  burstSize: 1024,
  idleSleepMs: 5,
  readTimeoutMs: 100,
  immediateMode: false,
  dataLinkType: null as number | null,
};

/** Options with every default filled in. */
export type ResolvedOptions = Required<LiveCaptureOptions>;

function checkInteger(
  name: string,
  value: number,
  min: number,
  max: number,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot start capture as '${name}' must be an integer in ${min}..${max}: current value is ${value}`,
    );
  }
}

/** Checks options before anything is opened; each message names the option. */
export function resolveLiveCaptureOptions(
  options: LiveCaptureOptions,
): ResolvedOptions {
  const resolved = { ...DEFAULTS, ...options } as ResolvedOptions;
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    // An explicit `undefined` means "use the default", as with `??`.
    if (options[key] === undefined) {
      (resolved as unknown as Record<string, unknown>)[key] = DEFAULTS[key];
    }
  }
  const name = resolved.interfaceName;
  if (typeof name !== "string" || name.length === 0 || name.includes("\0")) {
    throw new RangeError(
      `Cannot start capture as 'interfaceName' must be a non-empty interface name: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  checkInteger(
    "snaplenBytes",
    resolved.snaplenBytes,
    MIN_SNAPLEN_BYTES,
    MAX_SNAPLEN_BYTES,
  );
  checkInteger("bufferSizeBytes", resolved.bufferSizeBytes, 65536, 2 ** 31 - 1);
  checkInteger("burstSize", resolved.burstSize, 1, 100000);
  checkInteger("readTimeoutMs", resolved.readTimeoutMs, 1, 60000);
  if (
    typeof resolved.idleSleepMs !== "number" ||
    !(resolved.idleSleepMs >= 0 && resolved.idleSleepMs <= 1000)
  ) {
    throw new RangeError(
      `Cannot start capture as 'idleSleepMs' must be in 0..1000: current value is ${resolved.idleSleepMs}`,
    );
  }
  if (resolved.dataLinkType !== null) {
    checkInteger("dataLinkType", resolved.dataLinkType, 0, 65535);
  }
  if (typeof resolved.filter !== "string" || resolved.filter.includes("\0")) {
    throw new RangeError(
      `Cannot start capture as 'filter' must be a BPF filter string: current value is ${
        JSON.stringify(resolved.filter)
      }`,
    );
  }
  return resolved;
}
