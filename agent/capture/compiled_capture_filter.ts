import { CaptureError } from "./capture_error.ts";
import {
  type Libpcap,
  loadLibpcap,
  PKTHDR_CAPLEN_OFFSET,
  PKTHDR_LEN_OFFSET,
  PKTHDR_SIZE,
} from "./libpcap.ts";
import { MAX_SNAPLEN_BYTES } from "./live_capture_options.ts";
import { compileBpfProgram } from "./_bpf_program.ts";

/** Options of {@linkcode CompiledCaptureFilter.compile} and {@linkcode checkCaptureFilter}. */
export interface CompileCaptureFilterOptions {
  /**
   * Link type to compile for, as `pcap_open_dead` takes it (a DLT_ value;
   * the same number as LINKTYPE_ for Ethernet 1 and Linux SLL 113).
   * @default {1}
   */
  linkType?: number;
  /**
   * Snap length to compile for.
   * @default {262144}
   */
  snaplenBytes?: number;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A BPF filter compiled by libpcap without opening an interface
 * (`pcap_open_dead`), so it needs no capture privileges. The agent checks
 * `--filter` with it at startup; `matches()` runs the program on a frame in
 * user space (`pcap_offline_filter`), which is how tests check what a
 * filter keeps without live traffic.
 *
 * @example
 * ```ts
 * using filter = CompiledCaptureFilter.compile("tcp port 443");
 * filter.matches(frameBytes); // true or false
 * ```
 */
export class CompiledCaptureFilter {
  /** The filter text. */
  readonly filter: string;
  /** Number of BPF instructions after optimisation (a filter that keeps everything has 1). */
  readonly instructionCount: number;

  #pcap: Libpcap;
  #program: Uint8Array<ArrayBuffer> | null;
  #header = new Uint8Array(PKTHDR_SIZE);

  private constructor(pcap: Libpcap, filter: string, program: Uint8Array<ArrayBuffer>) {
    this.#pcap = pcap;
    this.filter = filter;
    this.#program = program;
    // bf_len is a host-order u_int at the start of struct bpf_program.
    this.instructionCount = new Uint32Array(program.buffer, 0, 1)[0];
  }

  /**
   * Compiles `filter` for a link type. Throws {@linkcode CaptureError} with
   * code `BAD_FILTER` and libpcap's text when it does not compile.
   */
  static compile(
    filter: string,
    options: CompileCaptureFilterOptions = {},
  ): CompiledCaptureFilter {
    const { linkType = 1, snaplenBytes = MAX_SNAPLEN_BYTES } = options;
    const pcap = loadLibpcap();
    const handle = pcap.pcap_open_dead(linkType, snaplenBytes);
    if (handle === null) {
      throw new CaptureError(
        `cannot compile capture filter "${filter}": libpcap has no handle for link type ${linkType}`,
        { code: "BAD_FILTER" },
      );
    }
    try {
      const program = compileBpfProgram(pcap, handle, filter);
      return new CompiledCaptureFilter(pcap, filter, program);
    } finally {
      // The compiled program does not refer to the handle.
      pcap.pcap_close(handle);
    }
  }

  /** True when the filter keeps this frame; `wireLength` defaults to the captured length. */
  matches(data: Uint8Array<ArrayBuffer>, wireLength: number = data.length): boolean {
    if (this.#program === null) {
      throw new CaptureError(`capture filter "${this.filter}" was freed`, {
        code: "CLOSED",
      });
    }
    const view = new DataView(this.#header.buffer);
    view.setUint32(PKTHDR_CAPLEN_OFFSET, data.length, HOST_LITTLE_ENDIAN);
    view.setUint32(PKTHDR_LEN_OFFSET, wireLength, HOST_LITTLE_ENDIAN);
    return this.#pcap.pcap_offline_filter(this.#program, this.#header, data) !== 0;
  }

  /** Frees the program; safe to call twice. */
  close(): void {
    if (this.#program === null) return;
    this.#pcap.pcap_freecode(this.#program);
    this.#program = null;
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Checks that a BPF filter compiles and returns its instruction count, so
 * the agent can reject a bad `--filter` before it needs privileges.
 *
 * @example
 * ```ts
 * checkCaptureFilter("tcp port 443"); // 1 or more
 * checkCaptureFilter("tcp prot 443"); // throws CaptureError: invalid capture filter "tcp prot 443": syntax error
 * ```
 */
export function checkCaptureFilter(
  filter: string,
  options: CompileCaptureFilterOptions = {},
): number {
  using compiled = CompiledCaptureFilter.compile(filter, options);
  return compiled.instructionCount;
}
