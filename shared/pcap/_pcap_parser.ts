/**
 * Classic libpcap file format (tcpdump.org `pcap-savefile(5)`), both byte
 * orders, microsecond and nanosecond magic, and Kuznetzov's modified format.
 *
 * @module
 */

import type { CaptureFileFrame } from "./capture_file_frame.ts";
import { type CaptureParser, MAX_RECORD_BYTES } from "./_capture_parser.ts";
import { PcapFormatError } from "./pcap_format_error.ts";

/** Microsecond timestamps, as written in the writer's byte order. */
export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
/** Nanosecond timestamps. */
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 8 extra bytes per record header. */
export const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
/** Length of the pcap file header. */
export const PCAP_FILE_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;
const KUZNETZOV_RECORD_HEADER_BYTES = 24;
const PCAP_VERSION_MAJOR = 2;
/** The low bits are the link type; the top six carry FCS information. */
const LINKTYPE_MASK = 0x03ffffff;

/** Whether the first 4 bytes are a pcap magic in either byte order. */
export function isPcapMagic(view: DataView, offset: number): boolean {
  const magic = view.getUint32(offset, true);
  return [PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS, PCAP_MAGIC_KUZNETZOV].some((m) =>
    m === magic || m === swap32(magic)
  );
}

function swap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) |
    ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
}

/** Parses a pcap file: the 24-byte header, then records. */
export class PcapParser implements CaptureParser {
  readonly unit = "pcap record";
  needed = PCAP_FILE_HEADER_BYTES;
  #headerRead = false;
  #littleEndian = true;
  #nanos = false;
  #recordHeaderBytes = PCAP_RECORD_HEADER_BYTES;
  #linkType = 0;

  parse(
    bytes: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    fileOffset: number,
    out: CaptureFileFrame[],
    maxFrames: number,
  ): number {
    let p = start;
    if (!this.#headerRead) {
      if (end - p < PCAP_FILE_HEADER_BYTES) {
        this.needed = PCAP_FILE_HEADER_BYTES;
        return p;
      }
      this.#readHeader(view, p, fileOffset);
      p += PCAP_FILE_HEADER_BYTES;
    }
    const le = this.#littleEndian;
    const headerBytes = this.#recordHeaderBytes;
    const fractionsPerSec = this.#nanos ? 1e9 : 1e6;
    const nsPerFraction = this.#nanos ? 1 : 1000;
    const linkType = this.#linkType;
    // Consecutive packets mostly share a second: reuse its BigInt.
    let lastSeconds = -1;
    let lastSecondsNs = 0n;
    let emitted = 0;
    while (emitted < maxFrames) {
      if (end - p < headerBytes) {
        this.needed = headerBytes;
        return p;
      }
      const seconds = view.getUint32(p, le);
      const fraction = view.getUint32(p + 4, le);
      const caplen = view.getUint32(p + 8, le);
      const wireLength = view.getUint32(p + 12, le);
      if (caplen > MAX_RECORD_BYTES) {
        throw new PcapFormatError(
          `Cannot read pcap record at offset ${
            fileOffset + p
          }: captured length ${caplen} exceeds ${MAX_RECORD_BYTES}`,
          { offset: fileOffset + p },
        );
      }
      if (end - p < headerBytes + caplen) {
        this.needed = headerBytes + caplen;
        return p;
      }
      const dataStart = p + headerBytes;
      if (seconds !== lastSeconds) {
        lastSeconds = seconds;
        lastSecondsNs = BigInt(seconds) * 1_000_000_000n;
      }
      out.push({
        timestampSec: seconds + fraction / fractionsPerSec,
        timestampNs: lastSecondsNs + BigInt(fraction * nsPerFraction),
        caplen,
        wireLength,
        linkType,
        interfaceIndex: 0,
        interfaceName: undefined,
        data: bytes.subarray(dataStart, dataStart + caplen),
      });
      emitted++;
      p = dataStart + caplen;
    }
    return p;
  }

  #readHeader(view: DataView, p: number, fileOffset: number): void {
    const raw = view.getUint32(p, true);
    let magic = raw;
    if (
      raw !== PCAP_MAGIC_MICROS && raw !== PCAP_MAGIC_NANOS &&
      raw !== PCAP_MAGIC_KUZNETZOV
    ) {
      magic = swap32(raw);
      this.#littleEndian = false;
    }
    if (
      magic !== PCAP_MAGIC_MICROS && magic !== PCAP_MAGIC_NANOS &&
      magic !== PCAP_MAGIC_KUZNETZOV
    ) {
      throw new PcapFormatError(
        `Cannot read pcap header at offset ${fileOffset + p}: unknown magic 0x${
          raw.toString(16).padStart(8, "0")
        }`,
        { offset: fileOffset + p },
      );
    }
    const major = view.getUint16(p + 4, this.#littleEndian);
    if (major !== PCAP_VERSION_MAJOR) {
      throw new PcapFormatError(
        `Cannot read pcap header at offset ${fileOffset + p}: unsupported version ${major}`,
        { offset: fileOffset + p },
      );
    }
    this.#nanos = magic === PCAP_MAGIC_NANOS;
    if (magic === PCAP_MAGIC_KUZNETZOV) {
      this.#recordHeaderBytes = KUZNETZOV_RECORD_HEADER_BYTES;
    }
    this.#linkType = view.getUint32(p + 20, this.#littleEndian) & LINKTYPE_MASK;
    this.#headerRead = true;
  }
}
