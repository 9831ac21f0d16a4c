/**
 * Allocation-free header decoding: the numeric core of
 * {@linkcode decodePacket}.
 *
 * @module
 */

import { PacketHeaders } from "./packet_headers.ts";
import { decodeLink } from "./_decode_link.ts";

/** Options for {@linkcode decodeHeaders}: how to read the frame. */
export interface DecodeHeadersOptions {
  /** LINKTYPE_ value of the capture (1 Ethernet, 113 SLL, 276 SLL2, 101 raw, 0 null, 239 NFLOG, …). */
  linkType: number;
  /**
   * Bytes on the wire (pcap `orig_len`); values below `frame.length` are
   * raised to it.
   *
   * @default {frame.length}
   */
  wireLength?: number;
}

/**
 * Decodes every header of one captured frame into `out`, without building a
 * string or allocating anything but a `DataView`. Never throws on bad bytes:
 * a truncated or invalid header sets `out.malformedReason` and keeps what
 * could be read. Use this directly where only numbers are needed (counting,
 * flow keys by offset); use {@linkcode decodePacket} for a stored record.
 * The options object may be reused (and mutated) between calls.
 *
 * @param frame the captured bytes, starting at the link-layer header
 * @param out instance to fill; pass one and reuse it to avoid garbage
 *
 * @example
 * ```ts
 * const headers = new PacketHeaders();
 * decodeHeaders(frame, { linkType: 1 }, headers);
 * if (headers.ipProto === 6) console.log(headers.srcPort, headers.dstPort);
 * ```
 */
export function decodeHeaders(
  frame: Uint8Array,
  options: DecodeHeadersOptions,
  out: PacketHeaders = new PacketHeaders(),
): PacketHeaders {
  out.reset(options.linkType, frame.length, options.wireLength ?? frame.length);
  decodeLink(
    frame,
    new DataView(frame.buffer, frame.byteOffset, frame.byteLength),
    out,
  );
  return out;
}
