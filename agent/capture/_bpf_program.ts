/**
 * The one place the agent calls `pcap_compile`: for a live handle, whose
 * program is then installed in the kernel (`live_capture.ts`), and for a
 * dead one, whose program checks `--filter` or runs in user space
 * (`compiled_capture_filter.ts`). Private to the capture folder.
 *
 * @module
 */
import { CaptureError } from "./capture_error.ts";
import {
  BPF_PROGRAM_SIZE,
  type Libpcap,
  PCAP_NETMASK_UNKNOWN,
  pcapErrorText,
  toCString,
} from "./libpcap.ts";

/** Options of {@linkcode compileBpfProgram}. */
export interface CompileBpfProgramOptions {
  /** The interface the handle captures on, named in the error; none for a dead handle. */
  interfaceName?: string;
}

/**
 * Compiles `filter` (optimised, netmask unknown) for `handle` into a new
 * `struct bpf_program`, which the caller frees with `pcap_freecode`. Throws
 * {@linkcode CaptureError} with code `BAD_FILTER` and libpcap's text when
 * the filter does not compile.
 *
 * @example
 * ```ts
 * const program = compileBpfProgram(pcap, handle, "tcp port 443", { interfaceName: "eth0" });
 * try {
 *   pcap.pcap_setfilter(handle, program);
 * } finally {
 *   pcap.pcap_freecode(program);
 * }
 * ```
 */
export function compileBpfProgram(
  pcap: Libpcap,
  handle: Deno.PointerObject,
  filter: string,
  options: CompileBpfProgramOptions = {},
): Uint8Array<ArrayBuffer> {
  const program = new Uint8Array(BPF_PROGRAM_SIZE);
  if (pcap.pcap_compile(handle, program, toCString(filter), 1, PCAP_NETMASK_UNKNOWN) !== 0) {
    const text = pcapErrorText(pcap, handle);
    const { interfaceName } = options;
    const where = interfaceName === undefined ? "" : ` on ${interfaceName}`;
    throw new CaptureError(`invalid capture filter "${filter}"${where}: ${text}`, {
      code: "BAD_FILTER",
      interfaceName,
      cause: new Error(text),
    });
  }
  return program;
}
