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

import {
  type AppMetadata,
  type AppProtocol,
  dnsAppMetadata,
  httpRequestAppMetadata,
  httpResponseAppMetadata,
  sshAppMetadata,
} from "./app_metadata.ts";
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
import { EMPTY_BYTES as EMPTY, u16 } from "./_bytes.ts";

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

/** What {@linkcode TcpAppStream.opensOver} reads of a segment: not its payload. */
export interface OpeningSegment {
  /** Sequence number. */
  seq: number;
  /** Whether the SYN flag is set. */
  syn: boolean;
  /** Payload bytes as captured. */
  length: number;
  /** The payload's first byte. */
  firstByte: number;
}

const DEFAULT_MAX_BYTES = 16384;
const PORT_DNS = 53;
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

/**
 * Whether a TCP segment starting with `firstByte` may be one that
 * `recogniseAppProtocol` names: a TLS handshake record (0x16), an HTTP
 * request or response or an SSH identification (an upper-case letter), or
 * anything on the DNS port. False means it names none.
 */
function mayBeginMessage(firstByte: number, hint: RecogniseHint): boolean {
  return firstByte === TLS_CONTENT_HANDSHAKE || (firstByte >= 0x41 && firstByte <= 0x5a) ||
    hint.srcPort === PORT_DNS || hint.dstPort === PORT_DNS;
}

/** `S`, the only upper-case letter that begins a message other than HTTP's (`SSH-`). */
const SSH_FIRST_BYTE = 0x53;

/**
 * Whether a segment starting with `firstByte` may begin a message a watched
 * stream restarts at ({@linkcode mayBeginMessage}), once the direction's
 * HTTP head was found: a second one is not reported, so of the upper-case
 * letters only SSH's `S` is left (a keep-alive connection's every later
 * request and response begins with another).
 */
function mayRestartAfterHttp(firstByte: number, hint: RecogniseHint): boolean {
  return firstByte === TLS_CONTENT_HANDSHAKE || firstByte === SSH_FIRST_BYTE ||
    hint.srcPort === PORT_DNS || hint.dstPort === PORT_DNS;
}

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
  /**
   * The stream bytes gathered while a message spans segments; null while
   * none are buffered. A message within one segment is read from the
   * segment itself, with no copy: the common case.
   */
  #prefix: TcpStreamPrefix | null = null;
  /** Sequence number of the stream's first byte: after a SYN, else the first data segment's; -1 before. */
  #startSeq = -1;
  /**
   * The bytes the current message is read from (the segment, or the
   * prefix's). Starts as the shared empty array: a typed array made per
   * stream costs more than the rest of the stream's set-up.
   */
  #bytes: Uint8Array = EMPTY;
  #segments = 0;
  /** Whether an HTTP head was found: one is reported per direction. */
  #foundHttp = false;

  /** Checks the options; throws `RangeError` naming a bad one. */
  constructor(options?: TcpAppStreamOptions) {
    this.#maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
    const maxSegments = options?.maxSegments ?? DEFAULT_MAX_SEGMENTS;
    if (!Number.isInteger(maxSegments) || maxSegments < 1) {
      throw new RangeError(
        `Cannot follow a TCP stream as 'maxSegments' must be an integer >= 1: current value is ${maxSegments}`,
      );
    }
    this.#maxSegments = maxSegments;
  }

  /** Whether there is nothing more to find in this direction. */
  get done(): boolean {
    return this.#phase === "done";
  }

  /** The protocol recognised at the start of the stream, or null. */
  get protocol(): AppProtocol | null {
    return this.#protocol;
  }

  /**
   * Feeds a data segment by its first byte alone, when that is enough: true
   * when the stream took it (a watched stream, and a segment that can begin
   * no message: it only counts), as {@linkcode push} would have, returning
   * null; false when the caller must {@linkcode push} the segment instead.
   */
  passesOver(firstByte: number, hint: RecogniseHint): boolean {
    if (this.#phase !== "watch" || this.#segments + 1 > this.#maxSegments) return false;
    if (
      this.#foundHttp ? mayRestartAfterHttp(firstByte, hint) : mayBeginMessage(firstByte, hint)
    ) {
      return false;
    }
    this.#segments++;
    return true;
  }

  /**
   * Feeds the direction's first data segment by its first byte alone, when
   * that is enough: true when the stream is fresh (nothing pushed, no SYN
   * seen), the segment carries no SYN and at least {@link RECOGNISE_BYTES}
   * bytes, and it can begin no message. The stream then watches later
   * segments, as {@linkcode push} would have left it, and the segment's
   * payload is never looked at (most directions of a capture begin so). False
   * when the caller must {@linkcode push} the segment instead.
   */
  opensOver(segment: OpeningSegment, hint: RecogniseHint): boolean {
    if (
      this.#phase !== "start" || this.#segments !== 0 || this.#startSeq >= 0 || segment.syn ||
      segment.length < RECOGNISE_BYTES || mayBeginMessage(segment.firstByte, hint)
    ) {
      return false;
    }
    this.#segments = 1;
    this.#startSeq = segment.seq >>> 0;
    this.#watch(); // as `#read` does for a stream no recogniser names
    return true;
  }

  /** Feeds one segment; returns the metadata of a message it completes, else null. Never throws. */
  push(segment: TcpSegment, hint: RecogniseHint): AppMetadata | null {
    if (this.#phase === "done") return null;
    if (segment.payload.length === 0) {
      if (segment.syn && this.#startSeq < 0) this.#startSeq = (segment.seq + 1) >>> 0;
      return null;
    }
    if (++this.#segments > this.#maxSegments) {
      this.#finish();
      return null;
    }
    if (this.#phase === "watch" && !this.#restart(segment, hint)) return null;
    // Data on a SYN (TCP Fast Open) starts after the SYN's own sequence number.
    if (this.#startSeq < 0) this.#startSeq = (segment.syn ? segment.seq + 1 : segment.seq) >>> 0;
    let bytes: Uint8Array;
    if (this.#prefix === null && segment.seq >>> 0 === this.#startSeq && !segment.syn) {
      bytes = segment.payload; // the segment begins the stream: read it in place
    } else {
      this.#prefix ??= new TcpStreamPrefix({ maxBytes: this.#maxBytes, startSeq: this.#startSeq });
      this.#prefix.push(segment.seq, segment.payload, segment.syn);
      bytes = this.#prefix.bytes();
      if (bytes.length === 0) return null; // a hole before this segment
    }
    this.#bytes = bytes;
    this.#protocol ??= recogniseAppProtocol(bytes, hint);
    const full = bytes.length >= this.#maxBytes;
    const found = this.#read(bytes, full);
    if (found !== null || this.#phase !== "start") return found;
    if (segment.truncated) return this.#conclude(); // nothing after this segment can join it
    if (this.#prefix === null) {
      // The message goes on in later segments: keep a copy of this one.
      this.#prefix = new TcpStreamPrefix({ maxBytes: this.#maxBytes, startSeq: this.#startSeq });
      this.#prefix.push(segment.seq, segment.payload);
      this.#bytes = this.#prefix.bytes(); // hold no view into the capture's buffer
    }
    return null;
  }

  #read(bytes: Uint8Array, full: boolean): AppMetadata | null {
    switch (this.#protocol) {
      case "tls":
        return this.#readTls(bytes, full);
      case "http":
        return this.#readHttp(bytes, full);
      case "ssh":
        return this.#readSsh(bytes, full);
      case "dns":
        return this.#readDns(bytes, full);
      default:
        if (bytes.length >= RECOGNISE_BYTES || full) this.#watch();
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
    this.#bytes = EMPTY;
  }

  /** Starts reading afresh at a watched segment that begins a message not yet found. */
  #restart(segment: TcpSegment, hint: RecogniseHint): boolean {
    const protocol = recogniseAppProtocol(segment.payload, hint);
    if (protocol === null || (protocol === "http" && this.#foundHttp)) return false;
    if (protocol === "tls" && !startsTlsHello(segment.payload)) return false;
    this.#startSeq = segment.seq >>> 0;
    this.#protocol = protocol;
    this.#phase = "start";
    return true;
  }

  #finish(): void {
    this.#phase = "done";
    this.#prefix = null;
    this.#bytes = EMPTY;
  }

  #readTls(bytes: Uint8Array, full: boolean): AppMetadata | null {
    const read = parseTlsStream(bytes);
    if (read.status === "partial") {
      if (full) this.#finish();
      return null;
    }
    this.#finish();
    if (read.status === "invalid") return null;
    return { app_protocol: "tls", ...read.metadata };
  }

  #readHttp(bytes: Uint8Array, full: boolean): AppMetadata | null {
    if (!looksLikeHttpRequest(bytes)) {
      const response = parseHttpResponse(bytes);
      this.#foundHttp = true;
      this.#watch();
      return response === null ? null : httpResponseAppMetadata(response);
    }
    if (!httpHeadComplete(bytes) && !full) return null;
    const request = parseHttpRequest(bytes);
    this.#foundHttp = true;
    this.#watch();
    return request === null ? null : httpRequestAppMetadata(request);
  }

  #readSsh(bytes: Uint8Array, full: boolean): AppMetadata | null {
    const banner = parseSshBanner(bytes);
    if (banner === null) {
      if (full || bytes.length > 2048 + SSH_MAX_BANNER_BYTES) this.#finish();
      return null;
    }
    this.#finish(); // the rest of an SSH stream is encrypted
    return sshAppMetadata(banner);
  }

  #readDns(bytes: Uint8Array, full: boolean): AppMetadata | null {
    if (bytes.length < 2 || bytes.length < 2 + u16(bytes, 0)) {
      if (full) this.#finish();
      return null;
    }
    const dns = parseDnsOverTcp(bytes);
    this.#finish();
    return dns === null ? null : dnsAppMetadata("dns", dns);
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
    const bytes = this.#bytes;
    if (this.#protocol === "http") {
      const request = parseHttpRequest(bytes, { cutByCapture: true });
      this.#foundHttp = true;
      this.#watch();
      return request === null ? null : httpRequestAppMetadata(request);
    }
    if (this.#protocol === "dns") {
      const dns = parseDnsOverTcp(bytes);
      this.#finish();
      return dns === null ? null : dnsAppMetadata("dns", dns);
    }
    if (this.#protocol !== null) this.#finish();
    return null;
  }
}
