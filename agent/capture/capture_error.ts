/**
 * What went wrong when opening or reading a live capture. Callers branch on
 * the code (for instance, `PERM_DENIED` tells the agent's main to print a
 * hint about privileges) instead of parsing messages.
 */
export type CaptureErrorCode =
  | "LIBPCAP_NOT_FOUND"
  | "NO_SUCH_DEVICE"
  | "PERM_DENIED"
  | "IFACE_NOT_UP"
  | "BAD_FILTER"
  | "RESOLVE_FAILED"
  | "ACTIVATE_FAILED"
  | "READ_FAILED"
  | "CLOSED";

/** Options of {@linkcode CaptureError}. */
export interface CaptureErrorOptions {
  /** The machine-readable reason. */
  code: CaptureErrorCode;
  /** The underlying error, when there is one. */
  cause?: unknown;
  /** The interface the failure happened on, when there is one. */
  interfaceName?: string;
  /** The libpcap status code (a negative `PCAP_ERROR_*`), when there is one. */
  pcapStatus?: number;
}

/**
 * A one-line error from live capture: a missing libpcap, an unknown
 * interface, missing privileges, an invalid BPF filter, a server name that
 * does not resolve, or a failed read.
 *
 * @example
 * ```ts
 * try {
 *   await capture.next();
 * } catch (error) {
 *   if (error instanceof CaptureError && error.code === "PERM_DENIED") Deno.exit(77);
 *   throw error;
 * }
 * ```
 */
export class CaptureError extends Error {
  /** The machine-readable reason. */
  readonly code: CaptureErrorCode;
  /** The interface the failure happened on, when there is one. */
  readonly interfaceName?: string;
  /** The libpcap status code, when there is one. */
  readonly pcapStatus?: number;

  /** Builds the error; the message is flattened to one line. */
  constructor(message: string, options: CaptureErrorOptions) {
    // libpcap messages sometimes end in a newline; logs want one line each.
    super(message.replace(/\s*\n\s*/g, " ").trim(), { cause: options.cause });
    this.name = "CaptureError";
    this.code = options.code;
    this.interfaceName = options.interfaceName;
    this.pcapStatus = options.pcapStatus;
  }
}
