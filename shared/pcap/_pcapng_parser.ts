/**
 * pcapng (IETF draft-ietf-opsawg-pcapng): sections in either byte order,
 * interface description blocks with `if_name`, `if_tsresol` (decimal and
 * power-of-two) and `if_tsoffset`, enhanced, simple and obsolete packet
 * blocks. Every other block type is skipped.
 *
 * @module
 */

import type { CaptureFileFrame } from "./capture_file_frame.ts";
import { type CaptureParser, MAX_RECORD_BYTES } from "./_capture_parser.ts";
import { PcapFormatError } from "./pcap_format_error.ts";

/** Section Header Block type; a byte palindrome, so readable before the byte order is known. */
export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_IDB_TYPE = 0x00000001;
const PCAPNG_OPB_TYPE = 0x00000002;
const PCAPNG_SPB_TYPE = 0x00000003;
const PCAPNG_EPB_TYPE = 0x00000006;
/** Block type, block length before the body and block length after it. */
const BLOCK_OVERHEAD_BYTES = 12;
const SHB_MIN_BODY_BYTES = 16;
const IDB_MIN_BODY_BYTES = 8;
const EPB_FIXED_BODY_BYTES = 20;
const OPB_FIXED_BODY_BYTES = 20;
const SPB_FIXED_BODY_BYTES = 4;
const PCAPNG_VERSION_MAJOR = 1;
const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const TSRESOL_BINARY = 0x80;
const DEFAULT_UNITS_PER_SEC = 1_000_000;

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (10^n or 2^n). */
  unitsPerSec: number;
  unitsPerSecBig: bigint;
  offsetSec: number;
  name: string | undefined;
  index: number;
}

const utf8 = new TextDecoder();

/** Parses a pcapng file block by block. */
export class PcapngParser implements CaptureParser {
  readonly unit = "pcapng block";
  needed = BLOCK_OVERHEAD_BYTES;
  #littleEndian = true;
  #interfaces: Interface[] = [];
  #interfaceCount = 0;
  #inSection = false;

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
    let emitted = 0;
    while (emitted < maxFrames) {
      if (end - p < BLOCK_OVERHEAD_BYTES) {
        this.needed = BLOCK_OVERHEAD_BYTES;
        return p;
      }
      const at = fileOffset + p;
      let type = view.getUint32(p, this.#littleEndian);
      if (type === PCAPNG_SHB_TYPE) {
        const order = view.getUint32(p + 8, true);
        if (order === PCAPNG_BYTE_ORDER_MAGIC) this.#littleEndian = true;
        else if (view.getUint32(p + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) {
          this.#littleEndian = false;
        } else {
          throw new PcapFormatError(
            `Cannot read pcapng section header at offset ${at}: bad byte-order magic 0x${
              order.toString(16).padStart(8, "0")
            }`,
            { offset: at },
          );
        }
        type = PCAPNG_SHB_TYPE;
      } else if (!this.#inSection) {
        throw new PcapFormatError(
          `Cannot read pcapng block at offset ${at}: the file does not start with a section header block`,
          { offset: at },
        );
      }
      const le = this.#littleEndian;
      const length = view.getUint32(p + 4, le);
      if (
        length < BLOCK_OVERHEAD_BYTES || length % 4 !== 0 ||
        length > MAX_RECORD_BYTES
      ) {
        throw new PcapFormatError(
          `Cannot read pcapng block at offset ${at}: invalid block length ${length}`,
          { offset: at },
        );
      }
      if (end - p < length) {
        this.needed = length;
        return p;
      }
      if (view.getUint32(p + length - 4, le) !== length) {
        throw new PcapFormatError(
          `Cannot read pcapng block at offset ${at}: trailing length ${
            view.getUint32(p + length - 4, le)
          } differs from leading length ${length}`,
          { offset: at },
        );
      }
      const body = p + 8;
      const bodyEnd = p + length - 4;
      switch (type) {
        case PCAPNG_SHB_TYPE:
          this.#readSectionHeader(view, body, bodyEnd, at);
          break;
        case PCAPNG_IDB_TYPE:
          this.#readInterface(bytes, view, body, bodyEnd, at);
          break;
        case PCAPNG_EPB_TYPE:
        case PCAPNG_OPB_TYPE: {
          const enhanced = type === PCAPNG_EPB_TYPE;
          if (bodyEnd - body < EPB_FIXED_BODY_BYTES) {
            throw new PcapFormatError(
              `Cannot read pcapng packet block at offset ${at}: block too short`,
              { offset: at },
            );
          }
          const interfaceId = enhanced ? view.getUint32(body, le) : view.getUint16(body, le);
          const iface = this.#interfaceFor(interfaceId, at);
          const caplen = view.getUint32(body + 12, le);
          const fixed = enhanced ? EPB_FIXED_BODY_BYTES : OPB_FIXED_BODY_BYTES;
          if (caplen > bodyEnd - body - fixed) {
            throw new PcapFormatError(
              `Cannot read pcapng packet block at offset ${at}: captured length ${caplen} exceeds the block`,
              { offset: at },
            );
          }
          const dataStart = body + fixed;
          out.push(frameOf(
            iface,
            view.getUint32(body + 4, le),
            view.getUint32(body + 8, le),
            caplen,
            view.getUint32(body + 16, le),
            bytes.subarray(dataStart, dataStart + caplen),
          ));
          emitted++;
          break;
        }
        case PCAPNG_SPB_TYPE: {
          if (bodyEnd - body < SPB_FIXED_BODY_BYTES) {
            throw new PcapFormatError(
              `Cannot read pcapng simple packet block at offset ${at}: block too short`,
              { offset: at },
            );
          }
          const iface = this.#interfaceFor(0, at);
          const wireLength = view.getUint32(body, le);
          // The block has no caplen: the packet is the wire length cut by the
          // snap length and by the block itself.
          let caplen = bodyEnd - body - SPB_FIXED_BODY_BYTES;
          if (wireLength < caplen) caplen = wireLength;
          if (iface.snaplen > 0 && iface.snaplen < caplen) caplen = iface.snaplen;
          const dataStart = body + SPB_FIXED_BODY_BYTES;
          out.push(frameOf(
            iface,
            0,
            0,
            caplen,
            wireLength,
            bytes.subarray(dataStart, dataStart + caplen),
          ));
          emitted++;
          break;
        }
        default:
          // Name resolution, statistics, secrets, custom blocks: not frames.
          break;
      }
      p += length;
    }
    return p;
  }

  #readSectionHeader(view: DataView, body: number, bodyEnd: number, at: number): void {
    if (bodyEnd - body < SHB_MIN_BODY_BYTES) {
      throw new PcapFormatError(
        `Cannot read pcapng section header at offset ${at}: block too short`,
        { offset: at },
      );
    }
    const major = view.getUint16(body + 4, this.#littleEndian);
    if (major !== PCAPNG_VERSION_MAJOR) {
      throw new PcapFormatError(
        `Cannot read pcapng section header at offset ${at}: unsupported version ${major}`,
        { offset: at },
      );
    }
    // Interface ids restart in each section.
    this.#interfaces = [];
    this.#inSection = true;
  }

  #readInterface(
    bytes: Uint8Array,
    view: DataView,
    body: number,
    bodyEnd: number,
    at: number,
  ): void {
    const le = this.#littleEndian;
    if (bodyEnd - body < IDB_MIN_BODY_BYTES) {
      throw new PcapFormatError(
        `Cannot read pcapng interface description at offset ${at}: block too short`,
        { offset: at },
      );
    }
    const iface: Interface = {
      linkType: view.getUint16(body, le),
      snaplen: view.getUint32(body + 4, le),
      unitsPerSec: DEFAULT_UNITS_PER_SEC,
      unitsPerSecBig: BigInt(DEFAULT_UNITS_PER_SEC),
      offsetSec: 0,
      name: undefined,
      index: this.#interfaceCount,
    };
    let o = body + IDB_MIN_BODY_BYTES;
    while (o + 4 <= bodyEnd) {
      const code = view.getUint16(o, le);
      const length = view.getUint16(o + 2, le);
      const value = o + 4;
      if (code === OPT_ENDOFOPT || value + length > bodyEnd) break;
      if (code === OPT_IF_NAME) {
        iface.name = utf8.decode(bytes.subarray(value, value + length));
      } else if (code === OPT_IF_TSRESOL && length >= 1) {
        const resolution = bytes[value];
        const exponent = resolution & ~TSRESOL_BINARY;
        const units = (resolution & TSRESOL_BINARY) !== 0
          ? 2n ** BigInt(exponent)
          : 10n ** BigInt(exponent);
        iface.unitsPerSecBig = units;
        iface.unitsPerSec = Number(units);
      } else if (code === OPT_IF_TSOFFSET && length >= 8) {
        iface.offsetSec = Number(view.getBigInt64(value, le));
      }
      o = value + ((length + 3) & ~3);
    }
    this.#interfaces.push(iface);
    this.#interfaceCount++;
  }

  #interfaceFor(id: number, at: number): Interface {
    const iface = this.#interfaces[id];
    if (iface === undefined) {
      throw new PcapFormatError(
        `Cannot read pcapng packet block at offset ${at}: interface ${id} is not described in this section`,
        { offset: at },
      );
    }
    return iface;
  }
}

/**
 * Builds a frame, splitting the 64-bit tick count into whole seconds and
 * nanoseconds. Decimal resolutions up to nanoseconds stay in exact double
 * arithmetic (BigInt division is slow); finer and binary resolutions take the
 * exact BigInt path, truncating sub-nanosecond parts as tshark does.
 */
function frameOf(
  iface: Interface,
  high: number,
  low: number,
  caplen: number,
  wireLength: number,
  data: Uint8Array,
): CaptureFileFrame {
  let seconds: number;
  let nanos: number;
  const units = iface.unitsPerSec;
  const decimal = units <= 1e9 && 1e9 % units === 0;
  if (decimal && high < 0x200000) {
    const ticks = high * 0x100000000 + low;
    seconds = Math.floor(ticks / units);
    nanos = (ticks - seconds * units) * (1e9 / units);
  } else if (decimal && units >= 2048) {
    // Long division in 16-bit limbs keeps every intermediate below 2^53.
    let remainder = 0;
    seconds = 0;
    for (let i = 0; i < 4; i++) {
      const limb = i === 0
        ? high >>> 16
        : i === 1
        ? high & 0xffff
        : i === 2
        ? low >>> 16
        : low & 0xffff;
      const current = remainder * 0x10000 + limb;
      const digit = Math.floor(current / units);
      remainder = current - digit * units;
      seconds = seconds * 0x10000 + digit;
    }
    nanos = remainder * (1e9 / units);
  } else {
    const ticks = (BigInt(high) << 32n) | BigInt(low);
    const unitsBig = iface.unitsPerSecBig;
    seconds = Number(ticks / unitsBig);
    nanos = Number((ticks % unitsBig) * 1_000_000_000n / unitsBig);
  }
  seconds += iface.offsetSec;
  return {
    timestampSec: seconds + nanos / 1e9,
    timestampNs: BigInt(seconds) * 1_000_000_000n + BigInt(nanos),
    caplen,
    wireLength,
    linkType: iface.linkType,
    interfaceIndex: iface.index,
    interfaceName: iface.name,
    data,
  };
}
