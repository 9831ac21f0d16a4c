/**
 * Live capture from one interface through libpcap (Deno FFI): opens the
 * interface, reads frames in bursts out of the kernel ring without blocking
 * the event loop, and counts what the kernel dropped.
 *
 * @module
 */
import { LINKTYPE_NFLOG } from "../../shared/packet/link_types.ts";
import { CaptureError } from "./capture_error.ts";
import {
  dltToLinkType,
  type Libpcap,
  loadLibpcap,
  PCAP_ERRBUF_SIZE,
  PCAP_ERROR_BREAK,
  PCAP_ERROR_IFACE_NOT_UP,
  PCAP_ERROR_NO_SUCH_DEVICE,
  PCAP_ERROR_PERM_DENIED,
  PCAP_ERROR_PROMISC_PERM_DENIED,
  PCAP_ERROR_TSTAMP_PRECISION_NOTSUP,
  PCAP_STAT_SIZE,
  PCAP_TSTAMP_PRECISION_MICRO,
  PCAP_TSTAMP_PRECISION_NANO,
  pcapErrorText,
  pcapStatusText,
  PKTHDR_CAPLEN_OFFSET,
  PKTHDR_LEN_OFFSET,
  PKTHDR_SIZE,
  PKTHDR_TV_SEC_OFFSET,
  PKTHDR_TV_USEC_OFFSET,
  readErrbuf,
  toCString,
} from "./libpcap.ts";
import { listInterfaces } from "./list_interfaces.ts";
import { IdleWaiter, pollBursts } from "./_poll_loop.ts";
import { type CopyFromAddress, copyFromAddress } from "./_copy_from_address.ts";
import { compileBpfProgram } from "./_bpf_program.ts";
import {
  type LiveCaptureOptions,
  type ResolvedOptions,
  resolveLiveCaptureOptions,
} from "./live_capture_options.ts";

/**
 * One frame from a live interface, its bytes copied out of the kernel ring.
 * A frame read from a capture file is a `CaptureFileFrame` (`shared/pcap`): it
 * keeps the file's nanosecond time as a bigint and its interface index; the
 * pipeline takes either through `PipelineFrame`, the fields both have.
 */
export interface LiveFrame {
  /** Capture time in epoch seconds with a fraction (a double keeps about 0.25 µs at today's epoch). */
  timestampSec: number;
  /** Whole epoch seconds of the capture time, exact. */
  timestampWholeSec: number;
  /** Nanoseconds past `timestampWholeSec`, exact (a multiple of 1000 at microsecond precision). */
  timestampFracNs: number;
  /** Bytes captured, at most the snap length. */
  caplen: number;
  /** Bytes on the wire. */
  wireLength: number;
  /** LINKTYPE_ value of the capture (1 Ethernet, 113 Linux SLL for `any`, 101 raw IP). */
  linkType: number;
  /** Interface the frame was captured on. */
  interfaceName: string;
  /**
   * The captured bytes, copied out of the kernel ring. Several frames share
   * one 64 KiB buffer that is never reused, so the bytes stay valid; to
   * keep one frame for long without keeping its neighbours, `slice()` it.
   */
  data: Uint8Array;
}

/**
 * Counters of a capture. On `lo` the kernel hands every packet to the
 * capture socket twice and libpcap drops the outgoing copy, so `received`
 * is about twice the frames delivered there.
 */
export interface CaptureStats {
  /** Packets that passed the kernel filter (`ps_recv`; a 32-bit counter that wraps). */
  received: number;
  /** Packets dropped because the ring buffer was full (`ps_drop`). */
  kernelDropped: number;
  /** Packets the interface or driver dropped (`ps_ifdrop`). */
  interfaceDropped: number;
  /** Frames this object has returned to its caller. */
  delivered: number;
}

/** Timestamp precision a capture ended up with. */
export type TimestampPrecision = "nano" | "micro";

// Whether this host stores integers little-endian, as pcap_pkthdr fields are in host order.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO_POW_32 = 4294967296;
/** Size of the buffers frames are copied into; a held frame keeps at most this much alive. */
const SLAB_BYTES = 64 * 1024;

/** strerror(EAGAIN) in the C locale, as libpcap words a read with nothing queued. */
const EAGAIN_TEXT = "Resource temporarily unavailable";

/**
 * libpcap's netfilter devices take a group (`nflog:5`, `nfqueue:2`) but are
 * listed bare (`nflog`), so the group is dropped before looking the name up.
 */
const NETFILTER_GROUP_DEVICE = /^(nflog|nfqueue):\d+$/;

/** Rejects a name libpcap does not list, with the valid names; falls through if listing fails. */
function checkInterfaceExists(interfaceName: string): void {
  let names: string[];
  try {
    names = listInterfaces().map((iface) => iface.name);
  } catch {
    return; // pcap_activate reports an unknown device as well
  }
  const listed = names.includes(interfaceName) ||
    names.includes(interfaceName.replace(NETFILTER_GROUP_DEVICE, "$1"));
  if (!listed) {
    throw new CaptureError(
      `no capture interface named "${interfaceName}": available are ${names.join(", ")}`,
      { code: "NO_SUCH_DEVICE", interfaceName },
    );
  }
}

/**
 * The running Deno binary, shell-quoted when it needs to be, for the setcap
 * hint. `command -v deno` would print nothing on the npx route, where deno is
 * not on PATH.
 */
function runningDenoPath(): string {
  let path: string;
  try {
    path = Deno.execPath();
  } catch {
    // Without read permission Deno will not say where it is.
    return "/path/to/deno";
  }
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

function activationError(
  pcap: Libpcap,
  handle: Deno.PointerObject,
  status: number,
  interfaceName: string,
): CaptureError {
  const detail = pcapErrorText(pcap, handle) || pcapStatusText(pcap, status);
  const cause = new Error(`${pcapStatusText(pcap, status)}: ${detail}`);
  const options = { interfaceName, pcapStatus: status, cause };
  switch (status) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return new CaptureError(
        `capture on ${interfaceName} needs root or CAP_NET_RAW: run with sudo or ` +
          `\`setcap cap_net_raw,cap_net_admin+ep ${runningDenoPath()}\` (libpcap: ${detail})`,
        { ...options, code: "PERM_DENIED" },
      );
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return new CaptureError(
        `no capture interface named "${interfaceName}" (libpcap: ${detail})`,
        { ...options, code: "NO_SUCH_DEVICE" },
      );
    case PCAP_ERROR_IFACE_NOT_UP:
      return new CaptureError(
        `capture on ${interfaceName} failed: the interface is down (bring it up with \`ip link set ${interfaceName} up\`)`,
        { ...options, code: "IFACE_NOT_UP" },
      );
    default:
      return new CaptureError(
        `capture on ${interfaceName} failed to start: ${detail}`,
        { ...options, code: "ACTIVATE_FAILED" },
      );
  }
}

/**
 * A live capture on one interface through libpcap. Reads never block the
 * event loop: the handle is non-blocking, frames are drained in bursts of at
 * most `burstSize`, and between bursts the loop yields (after a full burst)
 * or waits up to `idleSleepMs` for the socket to become readable, polled on
 * a worker thread (after the ring was found empty).
 *
 * Iterate it for frames, or call `bursts()` for arrays of frames; use one
 * iterator at a time. Iteration ends when `close()` is called.
 *
 * @example
 * ```ts
 * using capture = LiveCapture.open({ interfaceName: "eth0", filter: "tcp" });
 * for await (const frame of capture) {
 *   console.log(frame.timestampSec, frame.wireLength);
 * }
 * ```
 */
export class LiveCapture {
  /** Interface this capture is on. */
  readonly interfaceName: string;
  /** LINKTYPE_ value of the frames (1 Ethernet, 113 Linux SLL for `any`). */
  readonly linkType: number;
  /** Snap length in force. */
  readonly snaplenBytes: number;
  /** Filter in force ("" when none). */
  readonly filter: string;
  /** Precision libpcap granted; nano is asked for and micro is the fallback. */
  readonly timestampPrecision: TimestampPrecision;
  /** Warnings `pcap_activate` returned (e.g. promiscuous mode not supported). */
  readonly warnings: readonly string[];

  #pcap: Libpcap;
  #handle: Deno.PointerObject | null;
  #burstSize: number;
  #idleSleepMs: number;
  #waiter: IdleWaiter | null = null;
  #hdrOut = new BigUint64Array(1);
  #dataOut = new BigUint64Array(1);
  readonly #copy: CopyFromAddress = copyFromAddress();
  #hdrOutWords = new Uint32Array(this.#hdrOut.buffer);
  #hdrAddressLow = 0;
  #hdrAddressHigh = 0;
  #hdrView: DataView | null = null;
  #slab = new Uint8Array(0);
  #slabUsed = 0;
  #nsPerFraction: number;
  #delivered = 0;
  #lastBurstFull = false;
  #finalStats: CaptureStats | null = null;
  #pendingError: CaptureError | null = null;

  private constructor(
    pcap: Libpcap,
    handle: Deno.PointerObject,
    options: ResolvedOptions,
    precision: TimestampPrecision,
    warnings: string[],
  ) {
    this.#pcap = pcap;
    this.#handle = handle;
    this.interfaceName = options.interfaceName;
    this.snaplenBytes = options.snaplenBytes;
    this.filter = options.filter;
    this.#burstSize = options.burstSize;
    this.#idleSleepMs = options.idleSleepMs;
    this.timestampPrecision = precision;
    this.#nsPerFraction = precision === "nano" ? 1 : 1000;
    this.linkType = dltToLinkType(pcap.pcap_datalink(handle));
    this.warnings = warnings;
  }

  /**
   * Opens and activates a capture, installs the filter and switches to
   * non-blocking reads. Throws `RangeError` for a bad option and
   * {@linkcode CaptureError} for an unknown interface (`NO_SUCH_DEVICE`),
   * missing privileges (`PERM_DENIED`), a down interface (`IFACE_NOT_UP`),
   * an invalid filter (`BAD_FILTER`) or a missing libpcap.
   */
  static open(options: LiveCaptureOptions): LiveCapture {
    const resolved = resolveLiveCaptureOptions(options);
    const pcap = loadLibpcap();
    const { interfaceName } = resolved;
    checkInterfaceExists(interfaceName);

    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const handle = pcap.pcap_create(toCString(interfaceName), errbuf);
    if (handle === null) {
      throw new CaptureError(
        `capture on ${interfaceName} failed to start: ${readErrbuf(errbuf)}`,
        { code: "ACTIVATE_FAILED", interfaceName },
      );
    }
    try {
      pcap.pcap_set_snaplen(handle, resolved.snaplenBytes);
      // The "any" device cannot be promiscuous; asking only earns a warning.
      pcap.pcap_set_promisc(
        handle,
        resolved.promiscuous && interfaceName !== "any" ? 1 : 0,
      );
      pcap.pcap_set_timeout(handle, resolved.readTimeoutMs);
      pcap.pcap_set_buffer_size(handle, resolved.bufferSizeBytes);
      if (resolved.immediateMode) {
        pcap.pcap_set_immediate_mode?.(handle, 1);
      }
      let precision: TimestampPrecision = "micro";
      const precisionStatus = pcap.pcap_set_tstamp_precision?.(
        handle,
        PCAP_TSTAMP_PRECISION_NANO,
      );
      if (precisionStatus === 0) precision = "nano";
      else if (
        precisionStatus !== undefined &&
        precisionStatus !== PCAP_ERROR_TSTAMP_PRECISION_NOTSUP
      ) {
        pcap.pcap_set_tstamp_precision?.(handle, PCAP_TSTAMP_PRECISION_MICRO);
      }

      const status = pcap.pcap_activate(handle);
      if (status < 0) throw activationError(pcap, handle, status, interfaceName);
      const warnings = status > 0 ? [pcapErrorText(pcap, handle)] : [];
      if (
        resolved.dataLinkType !== null &&
        pcap.pcap_set_datalink(handle, resolved.dataLinkType) !== 0
      ) {
        throw new CaptureError(
          `capture on ${interfaceName} cannot use link type ${resolved.dataLinkType}: ${
            pcapErrorText(pcap, handle)
          }`,
          { code: "ACTIVATE_FAILED", interfaceName },
        );
      }
      const granted = pcap.pcap_get_tstamp_precision?.(handle);
      if (granted !== undefined) {
        precision = granted === PCAP_TSTAMP_PRECISION_NANO ? "nano" : "micro";
      }

      if (resolved.filter.trim() !== "") {
        if (dltToLinkType(pcap.pcap_datalink(handle)) === LINKTYPE_NFLOG) {
          // libpcap cannot filter NFLOG ("filtering not implemented"): the
          // netfilter rule that logs to the group is the filter.
          warnings.push(
            `capture filter not applied on ${interfaceName}: libpcap cannot filter NFLOG, ` +
              `so the iptables/nftables rule logging to the group chooses the packets`,
          );
        } else {
          installFilter(pcap, handle, resolved.filter, interfaceName);
        }
      }
      if (pcap.pcap_setnonblock(handle, 1, errbuf) !== 0) {
        throw new CaptureError(
          `capture on ${interfaceName} cannot switch to non-blocking reads: ${readErrbuf(errbuf)}`,
          { code: "ACTIVATE_FAILED", interfaceName },
        );
      }
      return new LiveCapture(pcap, handle, resolved, precision, warnings);
    } catch (error) {
      pcap.pcap_close(handle);
      throw error;
    }
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** The socket to poll for readability (`pcap_get_selectable_fd`), or -1 when closed or unavailable. */
  get selectableFd(): number {
    return this.#handle === null ? -1 : this.#pcap.pcap_get_selectable_fd(this.#handle);
  }

  /** True when the last `readBurst()` stopped at `burstSize`, so more frames are likely waiting. */
  get lastBurstFull(): boolean {
    return this.#lastBurstFull;
  }

  /**
   * Reads the frames that are ready now, at most `maxFrames`, without
   * blocking; an empty array means the ring buffer is empty. The async
   * iterators are built on this; call it directly to run your own loop.
   */
  readBurst(maxFrames: number = this.#burstSize): LiveFrame[] {
    if (!Number.isInteger(maxFrames) || maxFrames < 1) {
      throw new RangeError(
        `Cannot read a burst as 'maxFrames' must be a positive integer: current value is ${maxFrames}`,
      );
    }
    const handle = this.#handle;
    const frames: LiveFrame[] = [];
    this.#lastBurstFull = false;
    if (this.#pendingError !== null) {
      const error = this.#pendingError;
      this.#pendingError = null;
      throw error;
    }
    if (handle === null) return frames;
    const pcap = this.#pcap;
    const hdrOut = this.#hdrOut;
    const dataOut = this.#dataOut;
    while (frames.length < maxFrames) {
      const status = pcap.pcap_next_ex(handle, hdrOut, dataOut);
      if (status === 0 || status === PCAP_ERROR_BREAK) break;
      if (status !== 1) {
        const text = pcapErrorText(pcap, handle);
        // libpcap's netfilter reader does not know non-blocking mode: an
        // empty NFLOG queue comes back as an error with EAGAIN's text.
        if (this.linkType === LINKTYPE_NFLOG && text.endsWith(EAGAIN_TEXT)) break;
        const error = new CaptureError(
          `reading from ${this.interfaceName} failed: ${text}`,
          {
            code: "READ_FAILED",
            interfaceName: this.interfaceName,
            pcapStatus: status,
            cause: new Error(`${pcapStatusText(pcap, status)}: ${text}`),
          },
        );
        if (frames.length === 0) throw error;
        // Hand over what was read; the next call reports the failure.
        this.#pendingError = error;
        break;
      }
      frames.push(this.#frameFromHeader());
    }
    this.#delivered += frames.length;
    this.#lastBurstFull = frames.length === maxFrames;
    return frames;
  }

  #frameFromHeader(): LiveFrame {
    // libpcap hands back the same header struct inside pcap_t on every call,
    // so one view over it saves a pointer object and a copy per packet.
    const hdrWords = this.#hdrOutWords;
    if (
      this.#hdrView === null || hdrWords[0] !== this.#hdrAddressLow ||
      hdrWords[1] !== this.#hdrAddressHigh
    ) {
      const pointer = Deno.UnsafePointer.create(this.#hdrOut[0])!;
      this.#hdrView = new DataView(
        Deno.UnsafePointerView.getArrayBuffer(pointer, PKTHDR_SIZE),
      );
      this.#hdrAddressLow = hdrWords[0];
      this.#hdrAddressHigh = hdrWords[1];
    }
    const hdr = this.#hdrView;
    const le = HOST_LITTLE_ENDIAN;
    const secLow = hdr.getUint32(PKTHDR_TV_SEC_OFFSET + (le ? 0 : 4), le);
    const secHigh = hdr.getInt32(PKTHDR_TV_SEC_OFFSET + (le ? 4 : 0), le);
    const fraction = hdr.getUint32(PKTHDR_TV_USEC_OFFSET + (le ? 0 : 4), le);
    const caplen = hdr.getUint32(PKTHDR_CAPLEN_OFFSET, le);
    const wireLength = hdr.getUint32(PKTHDR_LEN_OFFSET, le);
    const wholeSec = secHigh * TWO_POW_32 + secLow;
    const fracNs = fraction * this.#nsPerFraction;
    // Frames are carved out of shared slabs: one ArrayBuffer per packet
    // costs more than everything else in this loop together (measured:
    // 1.3 M against 2.6 M frames/s). Slabs under glibc's mmap threshold
    // reuse heap pages instead of faulting in fresh ones.
    if (this.#slabUsed + caplen > this.#slab.length) {
      this.#slab = new Uint8Array(Math.max(SLAB_BYTES, caplen));
      this.#slabUsed = 0;
    }
    const data = this.#slab.subarray(this.#slabUsed, this.#slabUsed + caplen);
    this.#slabUsed += caplen;
    if (caplen > 0) this.#copy(data, this.#dataOut[0]);
    return {
      timestampSec: wholeSec + fracNs / 1e9,
      timestampWholeSec: wholeSec,
      timestampFracNs: fracNs,
      caplen,
      wireLength,
      linkType: this.linkType,
      interfaceName: this.interfaceName,
      data,
    };
  }

  /**
   * Bursts of frames until `close()`; each array is non-empty. The cheaper
   * way to consume a busy interface.
   */
  bursts(): AsyncGenerator<LiveFrame[], void, undefined> {
    this.#waiter ??= new IdleWaiter([this.selectableFd]);
    return pollBursts(this, this.#waiter, this.#idleSleepMs);
  }

  /** Frames one at a time until `close()`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<LiveFrame, void, undefined> {
    for await (const burst of this.bursts()) yield* burst;
  }

  /** Counters from `pcap_stats`; after `close()`, the last values read before closing. */
  stats(): CaptureStats {
    if (this.#handle === null) {
      return this.#finalStats ?? {
        received: 0,
        kernelDropped: 0,
        interfaceDropped: 0,
        delivered: this.#delivered,
      };
    }
    const buffer = new Uint32Array(PCAP_STAT_SIZE / 4);
    if (this.#pcap.pcap_stats(this.#handle, buffer) !== 0) {
      throw new CaptureError(
        `reading capture statistics of ${this.interfaceName} failed: ${
          pcapErrorText(this.#pcap, this.#handle)
        }`,
        { code: "READ_FAILED", interfaceName: this.interfaceName },
      );
    }
    return {
      received: buffer[0],
      kernelDropped: buffer[1],
      interfaceDropped: buffer[2],
      delivered: this.#delivered,
    };
  }

  /** Stops the capture and frees the handle; iteration ends. Safe to call twice. */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    try {
      this.#finalStats = this.stats();
    } catch {
      this.#finalStats = null;
    }
    this.#handle = null;
    this.#hdrView = null;
    this.#waiter?.close();
    this.#pcap.pcap_close(handle);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Compiles `filter` for the handle and installs it in the kernel. */
function installFilter(
  pcap: Libpcap,
  handle: Deno.PointerObject,
  filter: string,
  interfaceName: string,
): void {
  const program = compileBpfProgram(pcap, handle, filter, { interfaceName });
  try {
    if (pcap.pcap_setfilter(handle, program) !== 0) {
      const text = pcapErrorText(pcap, handle);
      throw new CaptureError(
        `cannot install capture filter "${filter}" on ${interfaceName}: ${text}`,
        { code: "BAD_FILTER", interfaceName, cause: new Error(text) },
      );
    }
  } finally {
    // The kernel keeps its own copy once installed.
    pcap.pcap_freecode(program);
  }
}
