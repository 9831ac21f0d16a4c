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

import type { PacketHeaders } from "../packet/packet_headers.ts";
import { TUNNEL_TYPES } from "../packet/packet_record.ts";
import {
  AppLayerExtractor,
  type AppLayerExtractorOptions,
  type AppPacket,
} from "./app_layer_extractor.ts";
import type { AppMetadata } from "./app_metadata.ts";
import { type AppRecordFields, appRecordFields } from "./app_record_fields.ts";
import { EMPTY_BYTES as EMPTY } from "./_bytes.ts";

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
  readonly #packet = new FramePacket();

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
    const packet = this.#packet;
    packet.frame = frame;
    packet.headers = h;
    packet.key = null;
    packet.units = null;
    packet.transport = proto === TCP ? "tcp" : "udp";
    packet.srcPort = h.srcPort;
    packet.dstPort = h.dstPort;
    packet.tcpSeq = h.tcpSeq < 0 ? 0 : h.tcpSeq;
    packet.syn = syn;
    packet.payloadStart = start;
    packet.payloadEnd = end;
    packet.payloadLength = end - start;
    packet.payloadFirstByte = end > start ? frame[start] : -1;
    packet.view = null;
    packet.truncated = end - start < h.payloadLength;
    const found = this.#extractor.extract(packet);
    if (found instanceof Promise) return found.then(toFields);
    return toFields(found);
  }
}

/**
 * The {@linkcode AppPacket} of one decoded frame, reused for every frame.
 * Its direction key and its payload view are made only when the extractor
 * asks for them: a UDP datagram while no QUIC connection is followed needs
 * no key, and a segment of a TCP direction already done needs no payload.
 * Per-packet allocation in the read loop costs more than its own making:
 * it brings scavenges on while a batch of frames is alive (see
 * `batchFrames` in shared/pcap/capture_reader.ts).
 */
class FramePacket implements AppPacket {
  transport: "tcp" | "udp" = "tcp";
  srcPort = 0;
  dstPort = 0;
  tcpSeq = 0;
  syn = false;
  truncated = false;
  /** The payload's bounds in `frame`. */
  payloadStart = 0;
  payloadEnd = 0;
  payloadLength = 0;
  payloadFirstByte = -1;
  /** The payload view once made for this frame, else null. */
  view: Uint8Array | null = null;
  frame: Uint8Array = EMPTY;
  headers: PacketHeaders | null = null;
  /** The direction key once made for this frame, else null. */
  key: string | null = null;
  /**
   * The direction key's UTF-16 units once made for this frame, else null:
   * one of {@link UNIT_ARRAYS}' lengths, each an array reused frame after
   * frame and written by index (emptying and refilling one array made V8
   * drop and reallocate its backing store on every frame).
   */
  units: number[] | null = null;
  readonly #arrays: number[][] = UNIT_ARRAYS.map((length) => new Array<number>(length).fill(0));

  get directionUnits(): readonly number[] {
    return this.units ??= directionUnits(this.frame, this.headers!, this.#arrays);
  }

  get directionKey(): string {
    return this.key ??= String.fromCharCode.apply(null, this.directionUnits as number[]);
  }

  get payload(): Uint8Array {
    // A SYN without data (a flood's every packet) needs no view of its empty payload.
    return this.view ??= this.payloadEnd === this.payloadStart
      ? EMPTY
      : this.frame.subarray(this.payloadStart, this.payloadEnd);
  }
}

const TUNNEL_CODES: ReadonlyMap<string, number> = new Map(TUNNEL_TYPES.map((t, i) => [t, i + 1]));

/**
 * Lengths of a direction key in units: plain IPv4, IPv4 behind a tunnel or
 * VLAN, plain IPv6, IPv6 behind a tunnel or VLAN.
 */
const UNIT_ARRAYS = [7, 12, 19, 24] as const;

/**
 * The direction's key, as the UTF-16 units of its string: its 5-tuple (and
 * tunnel and VLANs) as raw 16-bit units, not formatted text. Every SYN and
 * every packet with payload is looked up by these (7 units for plain IPv4),
 * and a direction is held by them too (see shared/app_layer/_direction_map.ts):
 * the string is made only for a QUIC connection. It never leaves the
 * extractor. Written into the one of
 * `arrays` (see {@link UNIT_ARRAYS}) of the key's length, which it returns.
 */
function directionUnits(frame: Uint8Array, h: PacketHeaders, arrays: number[][]): number[] {
  const s = h.srcAddrOffset;
  const d = h.dstAddrOffset;
  const v6 = h.addressFamily === 6;
  const wrapped = h.tunnelDepth !== 0 || h.vlanId >= 0;
  if (!v6 && !wrapped) {
    const units = arrays[0];
    units[0] = h.ipProto;
    units[1] = (frame[s] << 8) | frame[s + 1];
    units[2] = (frame[s + 2] << 8) | frame[s + 3];
    units[3] = h.srcPort;
    units[4] = (frame[d] << 8) | frame[d + 1];
    units[5] = (frame[d + 2] << 8) | frame[d + 3];
    units[6] = h.dstPort;
    return units;
  }
  const units = arrays[(v6 ? 2 : 0) + (wrapped ? 1 : 0)];
  let n = 0;
  // Tunnel and VLAN first: two tenants' overlapping addresses are two flows.
  if (wrapped) {
    const id = h.tunnelId < 0 ? 0 : h.tunnelId + 1;
    units[n++] = 0x8000 | (h.tunnelType === null ? 0 : TUNNEL_CODES.get(h.tunnelType) ?? 0xff);
    units[n++] = Math.floor(id / 65536) & 0xffff; // a unit holds 16 bits, as the string's would
    units[n++] = id % 65536;
    units[n++] = h.vlanId + 1;
    units[n++] = h.vlanInnerId + 1;
  }
  const bytes = v6 ? 16 : 4;
  units[n++] = h.ipProto | (bytes << 8);
  for (let i = 0; i < bytes; i += 2) units[n++] = (frame[s + i] << 8) | frame[s + i + 1];
  units[n++] = h.srcPort;
  for (let i = 0; i < bytes; i += 2) units[n++] = (frame[d + i] << 8) | frame[d + i + 1];
  units[n++] = h.dstPort;
  return units;
}

function toFields(metadata: AppMetadata | null): AppRecordFields | null {
  return metadata === null ? null : appRecordFields(metadata);
}
