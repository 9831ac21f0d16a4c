/**
 * The ClientHello inside a QUIC connection's Initial packets (v1, v2 and the
 * late drafts): decrypted with the keys every observer can derive from the
 * client's first destination connection id, its CRYPTO frames put back in
 * order across packets, and read for SNI, ALPN and the JA4 (`q` prefix).
 *
 * @module
 */

import { u24 } from "./_bytes.ts";
import type { TlsClientAppMetadata } from "./app_metadata.ts";
import { cryptoFrames } from "./quic_frames.ts";
import {
  deriveQuicInitialKeys,
  openQuicInitial,
  type QuicInitialKeys,
} from "./quic_initial_keys.ts";
import { readQuicLongHeader } from "./quic_header.ts";
import { TcpStreamPrefix } from "./tcp_stream_prefix.ts";
import { parseClientHello, TLS_HANDSHAKE_CLIENT_HELLO } from "./tls_hello.ts";
import { TLS_MAX_HELLO_BYTES } from "./tls_record.ts";
import { tlsClientMetadata } from "./tls_metadata.ts";

/** Options for {@linkcode QuicInitialReader}. */
export interface QuicInitialReaderOptions {
  /**
   * Client Initial packets read at most before giving up (a ClientHello
   * takes one or two; a client retrying adds a few).
   * @default {8}
   */
  maxPackets?: number;
}

const DEFAULT_MAX_PACKETS = 8;
const HANDSHAKE_HEADER_BYTES = 4;
/** Long packets a datagram may coalesce that are looked at. */
const MAX_PACKETS_PER_DATAGRAM = 4;

/**
 * Reads the ClientHello of one QUIC connection from the client's datagrams,
 * fed in arrival order. Keeps the CRYPTO stream between datagrams, bounded
 * by {@linkcode TLS_MAX_HELLO_BYTES} and by `maxPackets`. Feed it only the
 * client-to-server direction.
 *
 * @example
 * ```ts
 * const reader = new QuicInitialReader();
 * for (const datagram of clientDatagrams) {
 *   const hello = await reader.push(datagram);
 *   if (hello !== null) console.log(hello.tls_sni, hello.tls_ja4);
 *   if (reader.done) break;
 * }
 * ```
 */
export class QuicInitialReader {
  readonly #maxPackets: number;
  #packets = 0;
  /** Initial packets that opened. */
  #opened = 0;
  #done = false;
  #keys: QuicInitialKeys | null = null;
  #keysId = "";
  #stream = new TcpStreamPrefix({
    maxBytes: TLS_MAX_HELLO_BYTES + HANDSHAKE_HEADER_BYTES,
    maxRanges: 32,
    startSeq: 0,
  });

  /** Checks the options; throws `RangeError` naming a bad one. */
  constructor(options: QuicInitialReaderOptions = {}) {
    const maxPackets = options.maxPackets ?? DEFAULT_MAX_PACKETS;
    if (!Number.isInteger(maxPackets) || maxPackets < 1) {
      throw new RangeError(
        `Cannot read QUIC Initials as 'maxPackets' must be an integer >= 1: current value is ${maxPackets}`,
      );
    }
    this.#maxPackets = maxPackets;
  }

  /** Whether the ClientHello was read, or the reader gave up: later datagrams are ignored. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Feeds one client datagram. Resolves to the ClientHello's metadata once
   * it is whole (once per connection), else null. Never rejects on the
   * datagram's bytes.
   */
  async push(datagram: Uint8Array): Promise<TlsClientAppMetadata | null> {
    let at = 0;
    for (let n = 0; n < MAX_PACKETS_PER_DATAGRAM && at < datagram.length && !this.#done; n++) {
      const header = readQuicLongHeader(datagram, at);
      if (header === null || header.end < 0 || header.end > datagram.length) return null;
      if (header.isInitial) {
        if (++this.#packets > this.#maxPackets) {
          this.#done = true;
          return null;
        }
        const keys = await this.#keysFor(header.dcid, header.version);
        const opened = await openQuicInitial(
          datagram,
          at,
          header.packetNumberOffset,
          header.end,
          keys,
        );
        if (opened === null && this.#opened === 0) {
          // A client's first Initial always opens under keys from its own
          // DCID: this is the server's direction, or no QUIC we can read.
          this.#done = true;
          return null;
        }
        if (opened !== null) {
          this.#opened++;
          for (const frame of cryptoFrames(opened.payload)) {
            if (frame.offset <= TLS_MAX_HELLO_BYTES) {
              this.#stream.push(frame.offset, frame.data);
            }
          }
          const hello = this.#hello();
          if (hello !== null) return hello;
        }
      }
      at = header.end;
    }
    return null;
  }

  /** Keys for this DCID and version: a Retry makes the client start over with a new DCID. */
  async #keysFor(dcid: Uint8Array, version: number): Promise<QuicInitialKeys> {
    const id = `${version}:${dcid.toHex()}`;
    if (this.#keys === null || this.#keysId !== id) {
      this.#keys = await deriveQuicInitialKeys(dcid, version, "client");
      this.#keysId = id;
    }
    return this.#keys;
  }

  #hello(): TlsClientAppMetadata | null {
    const stream = this.#stream.bytes();
    if (stream.length < HANDSHAKE_HEADER_BYTES) return null;
    if (stream[0] !== TLS_HANDSHAKE_CLIENT_HELLO) {
      this.#done = true;
      return null;
    }
    const needed = HANDSHAKE_HEADER_BYTES + u24(stream, 1);
    if (needed > HANDSHAKE_HEADER_BYTES + TLS_MAX_HELLO_BYTES) {
      this.#done = true;
      return null;
    }
    if (stream.length < needed) return null;
    this.#done = true;
    const hello = parseClientHello(stream.subarray(HANDSHAKE_HEADER_BYTES, needed));
    return hello === null ? null : { app_protocol: "quic", ...tlsClientMetadata(hello, "q") };
  }
}

/**
 * The ClientHello metadata of a single client datagram, when its Initial
 * packet(s) hold the whole hello. For hellos spanning datagrams (post-quantum
 * key shares make them larger than one), use a {@linkcode QuicInitialReader}
 * per connection.
 */
export function parseQuicInitial(datagram: Uint8Array): Promise<TlsClientAppMetadata | null> {
  return new QuicInitialReader().push(datagram);
}
