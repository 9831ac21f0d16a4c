/**
 * QUIC long headers (RFC 8999 §5.1, RFC 9000 §17.2), as far as they can be
 * read without keys: version, connection ids and, for Initial packets, the
 * token and the length of the protected part.
 *
 * @module
 */

/** QUIC version 1 (RFC 9000). */
export const QUIC_V1 = 0x0000_0001;
/** QUIC version 2 (RFC 9369). */
export const QUIC_V2 = 0x6b33_43cf;
/** Drafts carry 0xff0000NN; the last ones (29–34) are what 2020–2021 clients spoke. */
export const QUIC_DRAFT_PREFIX = 0xff00_0000;

/** The largest connection id QUIC v1 and v2 allow (RFC 9000 §17.2). */
const MAX_CID_BYTES = 20;

/** The unprotected fields of a long-header packet. */
export interface QuicLongHeader {
  /** The version field. */
  version: number;
  /** Whether this is an Initial packet (type 0 in v1, 1 in v2). */
  isInitial: boolean;
  /** Destination connection id (a view into the packet). */
  dcid: Uint8Array;
  /** Source connection id (a view into the packet). */
  scid: Uint8Array;
  /** Initial only: offset of the packet number, where header protection starts. */
  packetNumberOffset: number;
  /** Initial only: offset just past this packet (the Length field covers packet number and payload). */
  end: number;
}

/**
 * Reads a variable-length integer (RFC 9000 §16) at `at`: its value and
 * length in bytes, or null when it runs past `end`. Values above 2^53 lose
 * precision, which no length in a datagram reaches.
 */
export function readVarint(
  bytes: Uint8Array,
  at: number,
  end = bytes.length,
): { value: number; length: number } | null {
  if (at >= end) return null;
  const length = 1 << (bytes[at] >> 6);
  if (at + length > end) return null;
  let value = bytes[at] & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + bytes[at + i];
  return { value, length };
}

/** Whether a version is one whose Initial packets this module can read. */
export function isKnownQuicVersion(version: number): boolean {
  return version === QUIC_V1 || version === QUIC_V2 ||
    (version >>> 8) === (QUIC_DRAFT_PREFIX >>> 8);
}

/**
 * Whether the bytes begin with a QUIC long header of a known version: the
 * header-form and fixed bits set, and connection ids that fit.
 */
export function looksLikeQuicLongHeader(bytes: Uint8Array): boolean {
  return readQuicLongHeader(bytes, 0) !== null;
}

/**
 * Reads the long header of the packet at `at` (a datagram may coalesce
 * several packets). Never throws; null when the bytes are no long header of a
 * known version.
 */
export function readQuicLongHeader(bytes: Uint8Array, at: number): QuicLongHeader | null {
  if (bytes.length - at < 7 || (bytes[at] & 0xc0) !== 0xc0) return null;
  const version = ((bytes[at + 1] << 24) | (bytes[at + 2] << 16) | (bytes[at + 3] << 8) |
    bytes[at + 4]) >>> 0;
  if (!isKnownQuicVersion(version)) return null;
  const dcidLength = bytes[at + 5];
  if (dcidLength > MAX_CID_BYTES || at + 6 + dcidLength >= bytes.length) return null;
  const dcid = bytes.subarray(at + 6, at + 6 + dcidLength);
  const scidAt = at + 6 + dcidLength;
  const scidLength = bytes[scidAt];
  if (scidLength > MAX_CID_BYTES || scidAt + 1 + scidLength > bytes.length) return null;
  const scid = bytes.subarray(scidAt + 1, scidAt + 1 + scidLength);
  const type = (bytes[at] >> 4) & 0x03;
  const isInitial = version === QUIC_V2 ? type === 1 : type === 0;
  const header: QuicLongHeader = {
    version,
    isInitial,
    dcid,
    scid,
    packetNumberOffset: -1,
    end: -1,
  };
  let cursor = scidAt + 1 + scidLength;
  const isRetry = version === QUIC_V2 ? type === 0 : type === 3;
  if (isRetry) return header;
  if (isInitial) {
    const tokenLength = readVarint(bytes, cursor);
    if (tokenLength === null) return header;
    cursor += tokenLength.length + tokenLength.value;
  }
  const length = readVarint(bytes, cursor);
  if (length === null) return header;
  header.packetNumberOffset = cursor + length.length;
  header.end = header.packetNumberOffset + length.value;
  return header;
}
