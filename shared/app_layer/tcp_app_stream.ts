/**
 * The application metadata of one TCP stream direction, found as segments
 * arrive: the protocol is recognised from the first bytes of the stream, the
 * message that names the flow (a TLS hello, an HTTP head, an SSH
 * identification, a DNS message) is read once it is whole, even when it
 * spans segments, and a TLS hello that follows plaintext (STARTTLS, an HTTP
 * CONNECT, SOCKS) is still found.
 *
 * @module
 */

import type { AppMetadata, AppProtocol } from "./app_metadata.ts";
import { recogniseAppProtocol, type RecogniseHint } from "./app_protocol.ts";
import { parseDnsOverTcp } from "./dns_message.ts";
import {
  httpHeadComplete,
  looksLikeHttpRequest,
  parseHttpRequest,
  parseHttpResponse,
} from "./http_message.ts";
import { parseSshBanner, SSH_MAX_BANNER_BYTES } from "./ssh_banner.ts";
import { TcpStreamPrefix } from "./tcp_stream_prefix.ts";
import { parseTlsStream } from "./tls_metadata.ts";
import { isTlsRecordHeader, TLS_CONTENT_HANDSHAKE } from "./tls_record.ts";
import { u16 } from "./_bytes.ts";

/** Options for {@linkcode TcpAppStream}. */
export interface TcpAppStreamOptions {
  /**
   * Most stream bytes buffered while a message is incomplete.
   * @default {16384}
   */
  maxBytes?: number;
  /**
   * Data segments looked at before giving up (a TLS hello after STARTTLS
   * comes within the first few exchanges).
   * @default {24}
   */
  maxSegments?: number;
}

/** One TCP segment of the direction. */
export interface TcpSegment {
  /** Sequence number. */
  seq: number;
  /** Whether the SYN flag is set. */
  syn: boolean;
  /** Payload bytes (may be empty). */
  payload: Uint8Array;
  /**
   * Whether the snap length cut the payload short: the stream then has a
   * hole after it, so a message it begins is read as far as it goes rather
   * than waited for.
   */
  truncated?: boolean;
}

const DEFAULT_MAX_BYTES = 16384;
const DEFAULT_MAX_SEGMENTS = 24;
const TLS_CLIENT_HELLO = 1;
const TLS_SERVER_HELLO = 2;
/** Bytes that let the recogniser decide (an HTTP method and space, a TLS record header, `SSH-`). */
const RECOGNISE_BYTES = 8;

type Phase =
  /** Reading the stream from its first byte. */
  | "start"
  /** Watching each new segment for the start of a message not yet found. */
  | "watch"
  /** Nothing more to find. */
  | "done";

/** Whether a segment begins with a TLS handshake record holding a hello. */
function startsTlsHello(payload: Uint8Array): boolean {
  return isTlsRecordHeader(payload) && payload[0] === TLS_CONTENT_HANDSHAKE &&
    (payload.length < 6 || payload[5] === TLS_CLIENT_HELLO || payload[5] === TLS_SERVER_HELLO);
}

/**
 * Finds the metadata of one TCP stream direction. Feed it every segment of
 * the direction, in capture order; {@linkcode push} returns the metadata of
 * the message a segment completes (at most one TLS hello and one other
 * message per direction), and {@linkcode done} tells when the direction has
 * nothing more to give, so the caller can drop it.
 *
 * @example
 * ```ts
 * const stream = new TcpAppStream();
 * const found = stream.push({ seq, syn, payload }, { transport: "tcp", srcPort, dstPort });
 * if (found?.app_protocol === "tls" && "tls_sni" in found) console.log(found.tls_sni);
 * ```
 */
export class TcpAppStream {
  readonly #maxBytes: number;
  readonly #maxSegments: number;
  #phase: Phase = "start";
  #protocol: AppProtocol | null = null;
  /** Null once nothing is buffered any more (watching, or done). */
  #prefix: TcpStreamPrefix | null;
  #segments = 0;
  /** Protocols whose message was found: each is reported once per direction. */
  readonly #found = new Set<AppProtocol>();

  /** Checks the options; throws `RangeError` naming a bad one. */
  constructor(options: TcpAppStreamOptions = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const maxSegments = options.maxSegments ?? DEFAULT_MAX_SEGMENTS;
    if (!Number.isInteger(maxSegments) || maxSegments < 1) {
      throw new RangeError(
        `Cannot follow a TCP stream as 'maxSegments' must be an integer >= 1: current value is ${maxSegments}`,
      );
    }
    this.#maxSegments = maxSegments;
    this.#prefix = new TcpStreamPrefix({ maxBytes: this.#maxBytes });
  }

  /** Whether there is nothing more to find in this direction. */
  get done(): boolean {
    return this.#phase === "done";
  }

  /** The protocol recognised at the start of the stream, or null. */
  get protocol(): AppProtocol | null {
    return this.#protocol;
  }

  /** Feeds one segment; returns the metadata of a message it completes, else null. Never throws. */
  push(segment: TcpSegment, hint: RecogniseHint): AppMetadata | null {
    if (this.#phase === "done") return null;
    if (segment.payload.length === 0) {
      if (segment.syn) this.#prefix?.push(segment.seq, segment.payload, true);
      return null;
    }
    if (++this.#segments > this.#maxSegments) {
      this.#finish();
      return null;
    }
    if (this.#phase === "watch" && !this.#restart(segment, hint)) return null;
    const prefix = this.#prefix!;
    prefix.push(segment.seq, segment.payload, segment.syn);
    const bytes = prefix.bytes();
    if (bytes.length === 0) return null; // a hole before this segment
    this.#protocol ??= recogniseAppProtocol(bytes, hint);
    const found = this.#read(bytes, prefix);
    if (found !== null || !segment.truncated || this.#phase !== "start") return found;
    // Nothing after this segment can join it: take what it holds.
    return this.#conclude();
  }

  #read(bytes: Uint8Array, prefix: TcpStreamPrefix): AppMetadata | null {
    switch (this.#protocol) {
      case "tls":
        return this.#readTls(bytes);
      case "http":
        return this.#readHttp(bytes);
      case "ssh":
        return this.#readSsh(bytes);
      case "dns":
        return this.#readDns(bytes);
      default:
        if (bytes.length >= RECOGNISE_BYTES || prefix.full) this.#watch();
        return null;
    }
  }

  /**
   * Drops the buffer and watches later segments for the start of a message
   * not yet found: a TLS hello after plaintext (STARTTLS, HTTP CONNECT,
   * SOCKS), or the first HTTP head of a connection whose start was not
   * captured.
   */
  #watch(): void {
    this.#phase = "watch";
    this.#prefix = null;
    this.#protocol = null;
  }

  /** Starts reading afresh at a watched segment that begins a message not yet found. */
  #restart(segment: TcpSegment, hint: RecogniseHint): boolean {
    const protocol = recogniseAppProtocol(segment.payload, hint);
    if (protocol === null || this.#found.has(protocol)) return false;
    if (protocol === "tls" && !startsTlsHello(segment.payload)) return false;
    this.#prefix = new TcpStreamPrefix({ maxBytes: this.#maxBytes, startSeq: segment.seq });
    this.#protocol = protocol;
    this.#phase = "start";
    return true;
  }

  #finish(): void {
    this.#phase = "done";
    this.#prefix = null;
  }

  #readTls(bytes: Uint8Array): AppMetadata | null {
    const read = parseTlsStream(bytes);
    if (read.status === "partial") {
      if (this.#prefix!.full) this.#finish();
      return null;
    }
    this.#finish();
    if (read.status === "invalid") return null;
    return { app_protocol: "tls", ...read.metadata };
  }

  #readHttp(bytes: Uint8Array): AppMetadata | null {
    if (!looksLikeHttpRequest(bytes)) {
      const response = parseHttpResponse(bytes);
      this.#found.add("http");
      this.#watch();
      return response === null ? null : { app_protocol: "http", ...response };
    }
    if (!httpHeadComplete(bytes) && !this.#prefix!.full) return null;
    const request = parseHttpRequest(bytes);
    this.#found.add("http");
    this.#watch();
    return request === null ? null : { app_protocol: "http", ...request };
  }

  #readSsh(bytes: Uint8Array): AppMetadata | null {
    const banner = parseSshBanner(bytes);
    if (banner === null) {
      if (this.#prefix!.full || bytes.length > 2048 + SSH_MAX_BANNER_BYTES) this.#finish();
      return null;
    }
    this.#finish(); // the rest of an SSH stream is encrypted
    return { app_protocol: "ssh", ...banner };
  }

  #readDns(bytes: Uint8Array): AppMetadata | null {
    if (bytes.length < 2 || bytes.length < 2 + u16(bytes, 0)) {
      if (this.#prefix!.full) this.#finish();
      return null;
    }
    const dns = parseDnsOverTcp(bytes);
    this.#finish();
    return dns === null ? null : { app_protocol: "dns", ...dns };
  }

  /**
   * The metadata of a message still incomplete when the flow ends: an HTTP
   * request head cut short (the method and target are known), a DNS
   * message. Call it once when the connection closes or times out.
   */
  finish(): AppMetadata | null {
    const found = this.#phase === "start" ? this.#conclude() : null;
    this.#finish();
    return found;
  }

  /**
   * Reads a message that cannot grow any more (the flow ended, or the snap
   * length cut it): an HTTP request head or a DNS message as far as it
   * goes. A cut TLS hello gives nothing: fingerprints of part of a hello
   * would be wrong.
   */
  #conclude(): AppMetadata | null {
    const bytes = this.#prefix?.bytes() ?? new Uint8Array(0);
    if (this.#protocol === "http") {
      const request = parseHttpRequest(bytes, { cutByCapture: true });
      this.#found.add("http");
      this.#watch();
      return request === null ? null : { app_protocol: "http", ...request };
    }
    if (this.#protocol === "dns") {
      const dns = parseDnsOverTcp(bytes);
      this.#finish();
      return dns === null ? null : { app_protocol: "dns", ...dns };
    }
    if (this.#protocol !== null) this.#finish();
    return null;
  }
}
