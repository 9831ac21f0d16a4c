/**
 * Writing classic pcap files (little-endian, microsecond or nanosecond
 * magic), to export stored packets for Wireshark and tcpdump.
 *
 * @module
 */

import { PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS } from "./_pcap_parser.ts";

/** Options for {@linkcode PcapWriter} and {@linkcode encodePcap}. */
export interface PcapWriterOptions {
  /** LINKTYPE_ value written in the file header; every frame must have it. */
  linkType: number;
  /**
   * Snap length in the header; longer frames are cut to it.
   *
   * @default {262144}
   */
  snaplenBytes?: number;
  /**
   * Timestamp precision of the file: `us` (magic a1b2c3d4) or `ns` (a1b23c4d).
   *
   * @default {"us"}
   */
  precision?: "us" | "ns";
}

/** A frame to write: bytes plus a timestamp (exact nanoseconds preferred, else seconds). */
export interface PcapWriterFrame {
  /** Captured bytes, starting at the link-layer header. */
  data: Uint8Array;
  /** Capture time in epoch nanoseconds; wins over `timestampSec`. */
  timestampNs?: bigint;
  /** Capture time in epoch seconds, used when `timestampNs` is absent. */
  timestampSec?: number;
  /**
   * Bytes on the wire.
   *
   * @default {data.length}
   */
  wireLength?: number;
}

/** Anything with a `write` like `Deno.FsFile`: writes some of `p`, returns how much. */
export interface PcapByteWriter {
  /** Writes up to `p.length` bytes, returning the count written. */
  write(p: Uint8Array): Promise<number>;
}

const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
const DEFAULT_SNAPLEN_BYTES = 262144;
const FLUSH_BYTES = 1 << 16;

interface Checked {
  linkType: number;
  snaplenBytes: number;
  nanos: boolean;
}

function checkOptions(options: PcapWriterOptions): Checked {
  const { linkType } = options;
  if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
    throw new RangeError(
      `Cannot write pcap as 'linkType' must be an integer 0..65535: current value is ${linkType}`,
    );
  }
  const snaplenBytes = options.snaplenBytes ?? DEFAULT_SNAPLEN_BYTES;
  if (!Number.isInteger(snaplenBytes) || snaplenBytes < 1) {
    throw new RangeError(
      `Cannot write pcap as 'snaplenBytes' must be a positive integer: current value is ${snaplenBytes}`,
    );
  }
  const precision = options.precision ?? "us";
  if (precision !== "us" && precision !== "ns") {
    throw new RangeError(
      `Cannot write pcap as 'precision' must be "us" or "ns": current value is ${precision}`,
    );
  }
  return { linkType, snaplenBytes, nanos: precision === "ns" };
}

function fileHeader(options: Checked): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, options.nanos ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, options.snaplenBytes, true);
  view.setUint32(20, options.linkType, true);
  return header;
}

/** Seconds and sub-second units of a frame's time, rounded to the file's precision. */
function splitTime(frame: PcapWriterFrame, nanos: boolean): [number, number] {
  if (frame.timestampNs !== undefined) {
    const ns = frame.timestampNs;
    const seconds = ns / 1_000_000_000n;
    const rest = Number(ns - seconds * 1_000_000_000n);
    return [Number(seconds), nanos ? rest : Math.floor(rest / 1000)];
  }
  const sec = frame.timestampSec;
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) {
    throw new RangeError(
      `Cannot write pcap record as 'timestampSec' must be a finite number >= 0 when 'timestampNs' is absent: current value is ${sec}`,
    );
  }
  const unitsPerSec = nanos ? 1e9 : 1e6;
  let seconds = Math.floor(sec);
  let fraction = Math.round((sec - seconds) * unitsPerSec);
  if (fraction >= unitsPerSec) {
    seconds++;
    fraction -= unitsPerSec;
  }
  return [seconds, fraction];
}

function writeRecord(
  target: Uint8Array,
  view: DataView,
  offset: number,
  frame: PcapWriterFrame,
  options: Checked,
): number {
  const caplen = Math.min(frame.data.length, options.snaplenBytes);
  const [seconds, fraction] = splitTime(frame, options.nanos);
  view.setUint32(offset, seconds, true);
  view.setUint32(offset + 4, fraction, true);
  view.setUint32(offset + 8, caplen, true);
  view.setUint32(
    offset + 12,
    Math.max(frame.wireLength ?? frame.data.length, caplen),
    true,
  );
  target.set(
    frame.data.subarray(0, caplen),
    offset + RECORD_HEADER_BYTES,
  );
  return offset + RECORD_HEADER_BYTES + caplen;
}

/**
 * Builds a whole pcap file in memory.
 *
 * @example
 * ```ts
 * const file = encodePcap([{ data: frame, timestampNs: 1700000000123456789n }], {
 *   linkType: 1,
 *   precision: "ns",
 * });
 * await Deno.writeFile("out.pcap", file);
 * ```
 */
export function encodePcap(
  frames: Iterable<PcapWriterFrame>,
  options: PcapWriterOptions,
): Uint8Array {
  const checked = checkOptions(options);
  const list = Array.from(frames);
  let size = FILE_HEADER_BYTES;
  for (const frame of list) {
    size += RECORD_HEADER_BYTES +
      Math.min(frame.data.length, checked.snaplenBytes);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(fileHeader(checked));
  let offset = FILE_HEADER_BYTES;
  for (const frame of list) {
    offset = writeRecord(out, view, offset, frame, checked);
  }
  return out;
}

/**
 * Streams frames into a pcap file through a writer such as `Deno.FsFile`,
 * buffering small records. The header goes out with the first flush. Call
 * {@linkcode PcapWriter.flush} (or `close`) at the end; the sink itself is
 * left open for its owner to close.
 *
 * @example
 * ```ts
 * using file = await Deno.open("export.pcap", { write: true, create: true, truncate: true });
 * const writer = new PcapWriter(file, { linkType: 1 });
 * for (const frame of frames) await writer.write(frame);
 * await writer.flush();
 * ```
 */
export class PcapWriter {
  #sink: PcapByteWriter;
  #options: Checked;
  #buffer = new Uint8Array(FLUSH_BYTES * 2);
  #view = new DataView(this.#buffer.buffer);
  #used = 0;

  /** Checks the options and prepares the file header. */
  constructor(sink: PcapByteWriter, options: PcapWriterOptions) {
    this.#sink = sink;
    this.#options = checkOptions(options);
    this.#buffer.set(fileHeader(this.#options));
    this.#used = FILE_HEADER_BYTES;
  }

  /** Appends one frame, flushing when the buffer fills. */
  async write(frame: PcapWriterFrame): Promise<void> {
    const needed = RECORD_HEADER_BYTES +
      Math.min(frame.data.length, this.#options.snaplenBytes);
    if (this.#used + needed > this.#buffer.length) {
      await this.flush();
      if (needed > this.#buffer.length) {
        this.#buffer = new Uint8Array(needed);
        this.#view = new DataView(this.#buffer.buffer);
      }
    }
    this.#used = writeRecord(
      this.#buffer,
      this.#view,
      this.#used,
      frame,
      this.#options,
    );
    if (this.#used >= FLUSH_BYTES) await this.flush();
  }

  /** Writes out everything buffered. */
  async flush(): Promise<void> {
    let offset = 0;
    while (offset < this.#used) {
      offset += await this.#sink.write(
        this.#buffer.subarray(offset, this.#used),
      );
    }
    this.#used = 0;
  }

  /** Flushes; the same as `flush`, named for `await using`-style cleanup. */
  async close(): Promise<void> {
    await this.flush();
  }
}
