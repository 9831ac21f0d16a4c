/**
 * TLS ClientHello and ServerHello bodies (RFC 8446 §4.1.2–4.1.3, RFC 5246
 * §7.4.1): the lists fingerprints are built from and the names a flow
 * carries. These parse one handshake message body; `tls_record.ts` finds it
 * in a TCP stream and `quic_initial.ts` in QUIC CRYPTO frames.
 *
 * @module
 */

import { displayText, u16 } from "./_bytes.ts";

/** Handshake message types (RFC 8446 §4). */
export const TLS_HANDSHAKE_CLIENT_HELLO = 1;
/** Handshake message type of a ServerHello. */
export const TLS_HANDSHAKE_SERVER_HELLO = 2;

/** Extension types read here (IANA "TLS ExtensionType Values"). */
export const TLS_EXT_SERVER_NAME = 0x0000;
/** supported_groups (formerly elliptic_curves). */
export const TLS_EXT_SUPPORTED_GROUPS = 0x000a;
/** ec_point_formats. */
export const TLS_EXT_EC_POINT_FORMATS = 0x000b;
/** signature_algorithms. */
export const TLS_EXT_SIGNATURE_ALGORITHMS = 0x000d;
/** application_layer_protocol_negotiation. */
export const TLS_EXT_ALPN = 0x0010;
/** supported_versions. */
export const TLS_EXT_SUPPORTED_VERSIONS = 0x002b;

/** Most ALPN values kept from one hello. */
export const TLS_MAX_ALPN = 8;
/** Longest server name kept, in bytes (a DNS name is at most 253 characters). */
const MAX_SERVER_NAME_BYTES = 255;

/**
 * Whether a 16-bit value is a GREASE value (RFC 8701: 0x0A0A, 0x1A1A, …,
 * 0xFAFA), which clients sprinkle into every list so servers tolerate
 * unknown values; fingerprints leave them out.
 */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && (value >> 8) === (value & 0xff);
}

/** The parts of a ClientHello that fingerprints and flows use. Lists keep GREASE values. */
export interface ClientHello {
  /** legacy_version (0x0303 for TLS 1.2 and 1.3 clients). */
  legacyVersion: number;
  /** Cipher suites in the client's order. */
  cipherSuites: number[];
  /** Extension types in the client's order. */
  extensions: number[];
  /** The host_name of server_name, or null. */
  serverName: string | null;
  /** ALPN protocol names in order (at most {@linkcode TLS_MAX_ALPN}). */
  alpn: string[];
  /** The first ALPN value's bytes (JA4 reads its first and last byte), or null. */
  firstAlpnBytes: Uint8Array | null;
  /** supported_versions values in order, or null when the extension is absent. */
  supportedVersions: number[] | null;
  /** supported_groups values in order (empty when absent). */
  supportedGroups: number[];
  /** ec_point_formats values in order (empty when absent). */
  ecPointFormats: number[];
  /** signature_algorithms values in order (empty when absent). */
  signatureAlgorithms: number[];
}

/** The parts of a ServerHello a flow carries. */
export interface ServerHello {
  /** legacy_version. */
  legacyVersion: number;
  /** The version the server chose: supported_versions when present, else legacy_version. */
  selectedVersion: number;
  /** The cipher suite the server chose. */
  cipherSuite: number;
  /** Extension types in the server's order. */
  extensions: number[];
  /** The ALPN protocol the server chose, or null. */
  alpn: string | null;
}

/** A list of 16-bit values with a length prefix of `prefixBytes` (1 or 2), or null if it overruns. */
function u16List(body: Uint8Array, at: number, end: number, prefixBytes: 1 | 2): number[] | null {
  if (at + prefixBytes > end) return null;
  const length = prefixBytes === 1 ? body[at] : u16(body, at);
  const start = at + prefixBytes;
  if (start + length > end) return null;
  const values: number[] = [];
  for (let i = start; i + 1 < start + length; i += 2) values.push(u16(body, i));
  return values;
}

/**
 * Parses a ClientHello body (after the 4-byte handshake header). Never
 * throws: null when the fixed part (version, random, session id, cipher
 * suites, compression methods) is cut short or inconsistent. Extensions are
 * read as far as they are complete, so a hello cut inside its extensions
 * still gives the ciphers and the extensions before the cut.
 */
export function parseClientHello(body: Uint8Array): ClientHello | null {
  const end = body.length;
  if (end < 2 + 32 + 1) return null;
  const legacyVersion = u16(body, 0);
  let at = 34;
  at += 1 + body[at]; // session id
  if (at + 2 > end) return null;
  const suitesLength = u16(body, at);
  if (suitesLength % 2 !== 0 || at + 2 + suitesLength > end) return null;
  const cipherSuites: number[] = [];
  for (let i = at + 2; i < at + 2 + suitesLength; i += 2) cipherSuites.push(u16(body, i));
  at += 2 + suitesLength;
  if (at + 1 > end || at + 1 + body[at] > end) return null;
  at += 1 + body[at]; // compression methods
  const hello: ClientHello = {
    legacyVersion,
    cipherSuites,
    extensions: [],
    serverName: null,
    alpn: [],
    firstAlpnBytes: null,
    supportedVersions: null,
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
  };
  if (at + 2 > end) return hello; // no extensions (TLS 1.0-era clients)
  const extensionsEnd = Math.min(end, at + 2 + u16(body, at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = u16(body, at);
    const length = u16(body, at + 2);
    const data = at + 4;
    if (data + length > extensionsEnd) break;
    hello.extensions.push(type);
    readClientExtension(hello, type, body, data, data + length);
    at = data + length;
  }
  return hello;
}

function readClientExtension(
  hello: ClientHello,
  type: number,
  body: Uint8Array,
  start: number,
  end: number,
): void {
  switch (type) {
    case TLS_EXT_SERVER_NAME: {
      // server_name_list: entries of type(1) length(2) name.
      if (start + 2 > end) return;
      const listEnd = Math.min(end, start + 2 + u16(body, start));
      for (let at = start + 2; at + 3 <= listEnd;) {
        const nameLength = u16(body, at + 1);
        if (at + 3 + nameLength > listEnd) return;
        if (body[at] === 0 && hello.serverName === null) {
          hello.serverName = displayText(
            body,
            at + 3,
            at + 3 + Math.min(nameLength, MAX_SERVER_NAME_BYTES),
          );
        }
        at += 3 + nameLength;
      }
      return;
    }
    case TLS_EXT_ALPN: {
      if (start + 2 > end) return;
      const listEnd = Math.min(end, start + 2 + u16(body, start));
      for (let at = start + 2; at < listEnd;) {
        const nameLength = body[at];
        if (at + 1 + nameLength > listEnd) return;
        if (hello.firstAlpnBytes === null) {
          hello.firstAlpnBytes = body.slice(at + 1, at + 1 + nameLength);
        }
        if (hello.alpn.length < TLS_MAX_ALPN) {
          hello.alpn.push(displayText(body, at + 1, at + 1 + nameLength));
        }
        at += 1 + nameLength;
      }
      return;
    }
    case TLS_EXT_SUPPORTED_VERSIONS:
      hello.supportedVersions = u16List(body, start, end, 1) ?? [];
      return;
    case TLS_EXT_SUPPORTED_GROUPS:
      hello.supportedGroups = u16List(body, start, end, 2) ?? [];
      return;
    case TLS_EXT_SIGNATURE_ALGORITHMS:
      hello.signatureAlgorithms = u16List(body, start, end, 2) ?? [];
      return;
    case TLS_EXT_EC_POINT_FORMATS: {
      if (start + 1 > end) return;
      const count = Math.min(body[start], end - start - 1);
      hello.ecPointFormats = [...body.subarray(start + 1, start + 1 + count)];
      return;
    }
  }
}

/**
 * Parses a ServerHello body (after the 4-byte handshake header). Never
 * throws; null when the version, random, session id or cipher suite is cut
 * short. A HelloRetryRequest parses as a ServerHello (it is one on the wire).
 */
export function parseServerHello(body: Uint8Array): ServerHello | null {
  const end = body.length;
  if (end < 2 + 32 + 1) return null;
  const legacyVersion = u16(body, 0);
  let at = 34;
  at += 1 + body[at];
  if (at + 3 > end) return null;
  const hello: ServerHello = {
    legacyVersion,
    selectedVersion: legacyVersion,
    cipherSuite: u16(body, at),
    extensions: [],
    alpn: null,
  };
  at += 3; // cipher suite and compression method
  if (at + 2 > end) return hello;
  const extensionsEnd = Math.min(end, at + 2 + u16(body, at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = u16(body, at);
    const length = u16(body, at + 2);
    const data = at + 4;
    if (data + length > extensionsEnd) break;
    hello.extensions.push(type);
    if (type === TLS_EXT_SUPPORTED_VERSIONS && length === 2) {
      hello.selectedVersion = u16(body, data);
    } else if (type === TLS_EXT_ALPN && length >= 3 && data + 3 + body[data + 2] <= data + length) {
      hello.alpn = displayText(body, data + 3, data + 3 + body[data + 2]);
    }
    at = data + length;
  }
  return hello;
}
