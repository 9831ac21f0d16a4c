/**
 * Application metadata for a stream of decoded packets, with the per-flow
 * state that needs: TCP stream directions whose hello or head spans
 * segments, and QUIC connections whose ClientHello spans Initials. The
 * caller names each flow direction; state is bounded in count and dropped
 * once a direction has nothing more to give.
 *
 * @module
 */

import { DirectionMap } from "./_direction_map.ts";
import { type AppMetadata, dnsAppMetadata } from "./app_metadata.ts";
import { mayRecogniseDatagram, recogniseAppProtocol, type RecogniseHint } from "./app_protocol.ts";
import { parseDhcpMessage } from "./dhcp_message.ts";
import { parseDnsMessage } from "./dns_message.ts";
import { QuicInitialReader } from "./quic_initial.ts";
import { type OpeningSegment, TcpAppStream, type TcpSegment } from "./tcp_app_stream.ts";
import { EMPTY_BYTES as EMPTY } from "./_bytes.ts";

/** One decoded TCP or UDP packet, as {@linkcode AppLayerExtractor.extract} wants it. */
export interface AppPacket {
  /** `tcp` or `udp`. */
  transport: "tcp" | "udp";
  /**
   * Names the flow direction (source and destination address and port, and
   * the transport), e.g. `10.0.0.5:51000>192.0.2.1:443/tcp`. Packets of one
   * direction must share it, and the two directions must differ.
   */
  directionKey: string;
  /**
   * The direction key's UTF-16 units, when the caller has them without the
   * string (`directionKey` is then `String.fromCharCode(...directionUnits)`):
   * a direction is then looked up, held and let go by them, and the key
   * string is read only for a QUIC connection (its state outlives the
   * packet, across WebCrypto's await).
   */
  directionUnits?: readonly number[];
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** TCP sequence number (ignored for UDP). */
  tcpSeq: number;
  /** TCP SYN flag (ignored for UDP). */
  syn: boolean;
  /** Transport payload as captured (may be cut by the snap length). */
  payload: Uint8Array;
  /**
   * `payload.length`, when the caller knows it without making the payload
   * (which it may make lazily): most segments are then passed over without it.
   */
  payloadLength?: number;
  /** `payload[0]` (-1 for an empty payload), given with `payloadLength`. */
  payloadFirstByte?: number;
  /**
   * Whether the snap length cut the payload (captured bytes fewer than the
   * headers say). A TCP message it begins is then read as far as it goes.
   * @default {false}
   */
  truncated?: boolean;
}

/** Options for {@linkcode AppLayerExtractor}. */
export interface AppLayerExtractorOptions {
  /**
   * Flow directions followed at once; past this the oldest of the same
   * transport is forgotten (a later segment of it is then read as if it
   * began a stream).
   * @default {65536}
   */
  maxDirections?: number;
}

const DEFAULT_MAX_DIRECTIONS = 65536;
/** A client's Initial datagrams are padded to at least 1200 bytes (RFC 9000 §14.1). */
const MIN_CLIENT_INITIAL_DATAGRAM = 1200;
/** Marks a direction with nothing more to find: one shared value, not an object per flow. */
const DONE = Symbol("done");
type TcpState = TcpAppStream | typeof DONE;
type DatagramState = QuicInitialReader | typeof DONE;

/** The state of the packet's direction in `map`, looked up by its key's units when it has them. */
function lookUp<V>(map: DirectionMap<V>, packet: AppPacket): V | undefined {
  const units = packet.directionUnits;
  return units === undefined ? map.get(packet.directionKey) : map.getByUnits(units);
}

/** Holds `state` for the packet's direction in `map`, by its key's units when it has them. */
function hold<V>(map: DirectionMap<V>, packet: AppPacket, state: V): void {
  const units = packet.directionUnits;
  if (units === undefined) map.set(packet.directionKey, state);
  else map.setByUnits(units, state);
}

/**
 * Extracts the metadata of each packet, keeping what state a flow direction
 * needs. `extract` is synchronous except for a QUIC client Initial, whose
 * decryption goes through WebCrypto: it then returns a promise.
 *
 * @example
 * ```ts
 * const extractor = new AppLayerExtractor();
 * for (const packet of packets) {
 *   const found = extractor.extract(packet);
 *   const metadata = found instanceof Promise ? await found : found;
 *   if (metadata !== null) Object.assign(record, metadata);
 * }
 * ```
 */
export class AppLayerExtractor {
  readonly #maxDirections: number;
  /** TCP directions: a stream being read, or done. */
  readonly #streams = new DirectionMap<TcpState>();
  /**
   * UDP directions: only QUIC connections leave state. Apart from the TCP
   * directions, so that while no QUIC is seen (most captures) a datagram
   * needs neither its direction key nor a lookup.
   */
  readonly #datagrams = new DirectionMap<DatagramState>();
  readonly #segment: TcpSegment = { seq: 0, syn: false, payload: EMPTY, truncated: false };
  /** One opening segment for every new direction (see {@linkcode TcpAppStream.opensOver}). */
  readonly #opening: OpeningSegment = { seq: 0, syn: false, length: 0, firstByte: -1 };
  /** The key string's units of a packet that hands over none (see {@linkcode #unitsOf}). */
  readonly #keyUnits: number[] = [];

  /** Checks the options; throws `RangeError` naming a bad one. */
  constructor(options: AppLayerExtractorOptions = {}) {
    const maxDirections = options.maxDirections ?? DEFAULT_MAX_DIRECTIONS;
    if (!Number.isInteger(maxDirections) || maxDirections < 1) {
      throw new RangeError(
        `Cannot extract app-layer metadata as 'maxDirections' must be an integer >= 1: current value is ${maxDirections}`,
      );
    }
    this.#maxDirections = maxDirections;
  }

  /** Flow directions held (followed or finished). */
  get size(): number {
    return this.#streams.size + this.#datagrams.size;
  }

  /**
   * The metadata one packet yields, or null. Never throws on the packet's
   * bytes; a promise only for a QUIC client Initial. A TCP packet without
   * payload never yields anything, but pass SYNs: one ends the state of an
   * earlier connection on the same tuple.
   */
  extract(packet: AppPacket): AppMetadata | null | Promise<AppMetadata | null> {
    return packet.transport === "tcp" ? this.#extractTcp(packet) : this.#extractUdp(packet);
  }

  /**
   * A TCP packet's direction is hashed and probed for once: its slot serves
   * a SYN's removal, a new stream's insertion and the mark of a finished one.
   */
  #extractTcp(packet: AppPacket): AppMetadata | null {
    const units = packet.directionUnits ?? this.#unitsOf(packet.directionKey);
    const streams = this.#streams;
    let slot = streams.slotOfUnits(units);
    const state = slot < 0 ? undefined : streams.valueAt(slot);
    // Most data segments belong to a direction already done: they need
    // nothing more, not even their payload (which a caller may make lazily).
    if (state === DONE && !packet.syn) return null;
    if ((packet.payloadLength ?? packet.payload.length) === 0) {
      // A SYN starts a new connection, even on a tuple seen before. No
      // state is made for it: a SYN flood would fill the table, and the
      // stream can start at its first data segment instead.
      if (packet.syn && slot >= 0) streams.deleteAt(slot);
      return null;
    }
    if (state === DONE) return null;
    // A watched stream passes over a segment that can begin no message on its first byte alone.
    const first = packet.payloadFirstByte;
    if (state !== undefined && first !== undefined && state.passesOver(first, packet)) return null;
    let stream = state;
    if (stream === undefined) {
      stream = new TcpAppStream();
      // Forgetting the oldest direction moves slots but keeps the miss a miss.
      if (streams.size + this.#datagrams.size >= this.#maxDirections) {
        (streams.size > 0 ? streams : this.#datagrams).deleteOldest();
      }
      slot = streams.insertAfterMiss(units, stream);
      // A direction whose first segment can begin no message is watched without reading it.
      const length = packet.payloadLength;
      if (first !== undefined && length !== undefined) {
        const opening = this.#opening;
        opening.seq = packet.tcpSeq;
        opening.syn = packet.syn;
        opening.length = length;
        opening.firstByte = first;
        if (stream.opensOver(opening, packet)) return null;
      }
    }
    // One segment object for every push: the stream reads it and keeps none of it but the payload.
    const segment = this.#segment;
    segment.seq = packet.tcpSeq;
    segment.syn = packet.syn;
    segment.payload = packet.payload;
    segment.truncated = packet.truncated ?? false;
    const found = stream.push(segment, packet);
    segment.payload = EMPTY; // hold no view into the caller's buffer
    // The stream reads its segment and touches no direction: the slot still holds it.
    if (stream.done) streams.setAt(slot, DONE);
    return found;
  }

  /** A key string's UTF-16 units, in a reused array (for callers that hand over no units). */
  #unitsOf(key: string): number[] {
    const units = this.#keyUnits;
    units.length = key.length;
    for (let k = 0; k < key.length; k++) units[k] = key.charCodeAt(k);
    return units;
  }

  #extractUdp(packet: AppPacket): AppMetadata | null | Promise<AppMetadata | null> {
    // Only QUIC leaves UDP state: with none held, the direction is not looked up.
    if (this.#datagrams.size !== 0) {
      const state = lookUp(this.#datagrams, packet);
      if (state === DONE) return null;
      if (state !== undefined) return this.#readQuic(packet, state);
    }
    // A datagram no recogniser could name (by its first byte, length and
    // ports) is passed over before its payload is looked at: a caller may
    // make the payload lazily, and a UDP flood is all such datagrams.
    const first = packet.payloadFirstByte;
    if (
      first !== undefined && packet.payloadLength !== undefined &&
      !mayRecogniseDatagram(first, packet.payloadLength, packet)
    ) {
      return null;
    }
    const hint: RecogniseHint = packet;
    switch (recogniseAppProtocol(packet.payload, hint)) {
      case "dns":
      case "mdns":
      case "llmnr": {
        const app_protocol = packet.dstPort === 5353 || packet.srcPort === 5353
          ? "mdns"
          : packet.dstPort === 5355 || packet.srcPort === 5355
          ? "llmnr"
          : "dns";
        const dns = parseDnsMessage(packet.payload, { listNames: app_protocol !== "dns" });
        return dns === null ? null : dnsAppMetadata(app_protocol, dns);
      }
      case "dhcp": {
        const dhcp = parseDhcpMessage(packet.payload);
        return dhcp === null ? null : { app_protocol: "dhcp", ...dhcp };
      }
      case "quic": {
        if (packet.payload.length < MIN_CLIENT_INITIAL_DATAGRAM) return null;
        const reader = new QuicInitialReader();
        this.#remember(this.#datagrams, this.#streams, packet, reader);
        return this.#readQuic(packet, reader);
      }
      default:
        return null;
    }
  }

  async #readQuic(packet: AppPacket, reader: QuicInitialReader): Promise<AppMetadata | null> {
    if (packet.payload.length < MIN_CLIENT_INITIAL_DATAGRAM) return null;
    const key = packet.directionKey; // before the await: the caller may reuse the packet
    const found = await reader.push(packet.payload);
    if (reader.done) this.#datagrams.set(key, DONE);
    return found;
  }

  /**
   * Holds `state` for the packet's direction in `into`. When the extractor
   * is full it first forgets the oldest direction of the same transport (of
   * the other one when this one holds none).
   */
  #remember<V>(
    into: DirectionMap<V>,
    other: DirectionMap<unknown>,
    packet: AppPacket,
    state: V,
  ): void {
    if (into.size + other.size >= this.#maxDirections) {
      (into.size > 0 ? into : other).deleteOldest();
    }
    hold(into, packet, state);
  }

  /**
   * Forgets a flow direction whose flow ended, returning what its
   * incomplete message still gives (an HTTP request head cut short).
   */
  end(directionKey: string): AppMetadata | null {
    const state = this.#streams.get(directionKey);
    this.#streams.delete(directionKey);
    this.#datagrams.delete(directionKey);
    return state instanceof TcpAppStream ? state.finish() : null;
  }
}
