/**
 * App-layer extraction from decoded frames: what the agent runs on every
 * packet it decodes, before PAYLOAD_CAPTURE cuts the payload, so the record
 * carries the names even when no payload bytes leave the agent. It turns a
 * frame and its {@linkcode PacketHeaders} into the {@linkcode AppPacket} the
 * {@linkcode AppLayerExtractor} wants (the transport payload as captured,
 * and a direction key that keeps tunnels and VLANs apart) and returns the
 * record fields.
 *
 * @module
 */

import { formatIpv4, formatIpv6 } from "../packet/address_format.ts";
import type { PacketHeaders } from "../packet/packet_headers.ts";
import { AppLayerExtractor, type AppLayerExtractorOptions } from "./app_layer_extractor.ts";
import type { AppMetadata } from "./app_metadata.ts";
import { type AppRecordFields, appRecordFields } from "./app_record_fields.ts";

const TCP = 6;
const UDP = 17;
const SYN = 0x02;

/**
 * Extracts the app-layer record fields of decoded frames, keeping the
 * per-direction state of an {@linkcode AppLayerExtractor}. Synchronous
 * except for a QUIC client Initial (WebCrypto): it then returns a promise.
 *
 * @example
 * ```ts
 * const extractor = new HeaderAppExtractor();
 * decodeHeaders(frame, { linkType: 1, wireLength: frame.length }, headers);
 * let app = extractor.extract(frame, headers);
 * if (app instanceof Promise) app = await app;
 * ```
 */
export class HeaderAppExtractor {
  readonly #extractor: AppLayerExtractor;
  readonly #packet = {
    transport: "tcp" as "tcp" | "udp",
    directionKey: "",
    srcPort: 0,
    dstPort: 0,
    tcpSeq: 0,
    syn: false,
    payload: new Uint8Array(0) as Uint8Array,
    truncated: false,
  };

  /**
   * Creates an extractor with no flow directions followed yet.
   *
   * @param options passed to the {@linkcode AppLayerExtractor}
   */
  constructor(options: AppLayerExtractorOptions = {}) {
    this.#extractor = new AppLayerExtractor(options);
  }

  /** Flow directions followed. */
  get size(): number {
    return this.#extractor.size;
  }

  /**
   * The app-layer fields of one decoded frame, or null when it yields none
   * (not TCP/UDP, a non-first fragment, no payload, or nothing recognised).
   * Never throws on the frame's bytes.
   */
  extract(
    frame: Uint8Array,
    h: PacketHeaders,
  ): AppRecordFields | null | Promise<AppRecordFields | null> {
    const proto = h.ipProto;
    if ((proto !== TCP && proto !== UDP) || h.srcPort < 0 || h.isFragment) return null;
    const syn = proto === TCP && h.tcpFlags >= 0 && (h.tcpFlags & SYN) !== 0;
    if (h.payloadLength === 0 && !syn) return null;
    const start = h.headerEnd;
    const end = Math.max(start, Math.min(h.captureEnd, frame.length, start + h.payloadLength));
    const v6 = h.addressFamily === 6;
    const src = v6 ? formatIpv6(frame, h.srcAddrOffset) : formatIpv4(frame, h.srcAddrOffset);
    const dst = v6 ? formatIpv6(frame, h.dstAddrOffset) : formatIpv4(frame, h.dstAddrOffset);
    const packet = this.#packet;
    packet.transport = proto === TCP ? "tcp" : "udp";
    // Tunnel and VLAN first: two tenants' overlapping addresses are two
    // flows. Most packets have neither, and a shorter key hashes faster.
    const tuple = `${src}|${h.srcPort}|${dst}|${h.dstPort}|${proto}`;
    packet.directionKey = h.tunnelDepth === 0 && h.vlanId < 0
      ? tuple
      : `${h.tunnelType ?? ""}${h.tunnelId}.${h.vlanId}.${h.vlanInnerId}|${tuple}`;
    packet.srcPort = h.srcPort;
    packet.dstPort = h.dstPort;
    packet.tcpSeq = h.tcpSeq < 0 ? 0 : h.tcpSeq;
    packet.syn = syn;
    packet.payload = frame.subarray(start, end);
    packet.truncated = end - start < h.payloadLength;
    const found = this.#extractor.extract(packet);
    if (found instanceof Promise) return found.then(toFields);
    return toFields(found);
  }
}

function toFields(metadata: AppMetadata | null): AppRecordFields | null {
  return metadata === null ? null : appRecordFields(metadata);
}
