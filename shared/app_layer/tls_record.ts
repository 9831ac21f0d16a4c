/**
 * The first TLS handshake message of a TCP stream direction, read through
 * the record layer (RFC 8446 §5.1): a hello may be cut into several records,
 * and several records may sit in one segment.
 *
 * @module
 */

import { concatBytes } from "../concat_bytes.ts";
import { u16, u24 } from "./_bytes.ts";

/** Record content type of handshake records. */
export const TLS_CONTENT_HANDSHAKE = 22;
const RECORD_HEADER_BYTES = 5;
const HANDSHAKE_HEADER_BYTES = 4;
/** A record carries at most 2^14 bytes of plaintext (RFC 8446 §5.1), plus room for expansion. */
const MAX_RECORD_BYTES = (1 << 14) + 2048;
/**
 * Largest hello body accepted. Post-quantum key shares make hellos larger
 * than one segment (Chrome's X25519MLKEM768 ClientHello is about 1.8 kB);
 * 64 kB leaves room without letting a stream make us buffer without end.
 */
export const TLS_MAX_HELLO_BYTES = 1 << 16;

/** What {@linkcode readFirstHandshake} found. */
export type TlsHandshakeRead =
  /** The first handshake message, whole. `body` follows its 4-byte header. */
  | { status: "complete"; type: number; body: Uint8Array }
  /** A TLS handshake that needs more of the stream. */
  | { status: "partial" }
  /** Not a TLS handshake stream (or a hello larger than allowed). */
  | { status: "invalid" };

const PARTIAL: TlsHandshakeRead = { status: "partial" };
const INVALID: TlsHandshakeRead = { status: "invalid" };

/**
 * Whether 5 bytes at `at` look like a TLS record header: a content type of
 * 20–23, version 3.0 to 3.4 (TLS 1.3 still writes 3.1 or 3.3 there), and a
 * length a record may have.
 */
export function isTlsRecordHeader(bytes: Uint8Array, at = 0): boolean {
  if (at + RECORD_HEADER_BYTES > bytes.length) return false;
  const type = bytes[at];
  const length = u16(bytes, at + 3);
  return type >= 20 && type <= 23 && bytes[at + 1] === 3 && bytes[at + 2] <= 4 &&
    length > 0 && length <= MAX_RECORD_BYTES;
}

/**
 * Reads the first handshake message from the start of a TCP stream
 * direction. Never throws. Returns `partial` when the stream is a TLS
 * handshake so far but the message is not yet whole, so the caller can feed
 * more segments (see `TcpStreamPrefix`).
 *
 * @example
 * ```ts
 * const read = readFirstHandshake(segmentPayload);
 * if (read.status === "complete" && read.type === TLS_HANDSHAKE_CLIENT_HELLO) {
 *   const hello = parseClientHello(read.body);
 * }
 * ```
 */
export function readFirstHandshake(stream: Uint8Array): TlsHandshakeRead {
  if (stream.length === 0) return PARTIAL;
  const fragments: Uint8Array[] = [];
  let gathered = 0;
  let at = 0;
  while (at < stream.length) {
    if (stream.length - at < RECORD_HEADER_BYTES) {
      return prefixLooksLikeRecord(stream, at) ? PARTIAL : INVALID;
    }
    if (!isTlsRecordHeader(stream, at) || stream[at] !== TLS_CONTENT_HANDSHAKE) return INVALID;
    const length = u16(stream, at + 3);
    const fragment = stream.subarray(
      at + RECORD_HEADER_BYTES,
      Math.min(stream.length, at + RECORD_HEADER_BYTES + length),
    );
    fragments.push(fragment);
    gathered += fragment.length;
    if (gathered >= HANDSHAKE_HEADER_BYTES) {
      // The common case, one record holding the whole message, is read in place.
      const head = fragments[0].length >= HANDSHAKE_HEADER_BYTES
        ? fragments[0]
        : concatBytes(fragments);
      const bodyLength = u24(head, 1);
      if (bodyLength > TLS_MAX_HELLO_BYTES) return INVALID;
      const needed = HANDSHAKE_HEADER_BYTES + bodyLength;
      if (gathered >= needed) {
        const message = fragments.length === 1 ? fragment : concatBytes(fragments);
        return { status: "complete", type: message[0], body: message.subarray(4, needed) };
      }
    }
    at += RECORD_HEADER_BYTES + length;
  }
  return PARTIAL;
}

/** Whether the 1–4 bytes left at `at` could begin a handshake record header. */
function prefixLooksLikeRecord(stream: Uint8Array, at: number): boolean {
  if (stream[at] !== TLS_CONTENT_HANDSHAKE) return false;
  if (at + 1 < stream.length && stream[at + 1] !== 3) return false;
  if (at + 2 < stream.length && stream[at + 2] > 4) return false;
  return true;
}
