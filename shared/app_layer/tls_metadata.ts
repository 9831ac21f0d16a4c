/**
 * What a TLS handshake tells about its flow: from the ClientHello the server
 * name, ALPN list, offered versions and the JA3 and JA4 fingerprints; from
 * the ServerHello the version and cipher suite chosen.
 *
 * @module
 */

import { ja3 } from "./ja3.ts";
import { ja4, type Ja4Transport } from "./ja4.ts";
import {
  type ClientHello,
  isGrease,
  parseClientHello,
  parseServerHello,
  type ServerHello,
  TLS_HANDSHAKE_CLIENT_HELLO,
  TLS_HANDSHAKE_SERVER_HELLO,
} from "./tls_hello.ts";
import { readFirstHandshake } from "./tls_record.ts";

/** What a ClientHello tells; field names are those a packet record and a flow carry. */
export interface TlsClientMetadata {
  /** Server Name Indication (host_name), or null when the client sent none. */
  tls_sni: string | null;
  /** ALPN protocols offered, in the client's order (`["h2", "http/1.1"]`); empty when none. */
  tls_alpn: string[];
  /**
   * Versions offered (0x0304 TLS 1.3, 0x0303 TLS 1.2, …): supported_versions
   * without GREASE, in the client's order, or the legacy version alone when
   * the extension is absent.
   */
  tls_versions: number[];
  /** JA3 MD5 (lower-case hex), as tshark's `tls.handshake.ja3`. */
  tls_ja3: string;
  /** JA3 string, as tshark's `tls.handshake.ja3_full`. */
  tls_ja3_full: string;
  /** JA4 fingerprint (`t13d1516h2_8daaf6152771_e5627efa2ab1`; `q…` for QUIC). */
  tls_ja4: string;
}

/** What a ServerHello tells; field names are those a packet record and a flow carry. */
export interface TlsServerMetadata {
  /** The version the server chose (0x0304 TLS 1.3, …), from supported_versions when present. */
  tls_version: number;
  /** The cipher suite the server chose (0x1301 TLS_AES_128_GCM_SHA256, …). */
  tls_cipher: number;
}

/** The metadata of a parsed ClientHello. */
export function tlsClientMetadata(hello: ClientHello, transport: Ja4Transport): TlsClientMetadata {
  const fingerprint = ja3(hello);
  return {
    tls_sni: hello.serverName,
    tls_alpn: hello.alpn,
    tls_versions: hello.supportedVersions === null
      ? [hello.legacyVersion]
      : hello.supportedVersions.filter((version) => !isGrease(version)),
    tls_ja3: fingerprint.hash,
    tls_ja3_full: fingerprint.full,
    tls_ja4: ja4(hello, transport),
  };
}

/** The metadata of a parsed ServerHello. */
export function tlsServerMetadata(hello: ServerHello): TlsServerMetadata {
  return { tls_version: hello.selectedVersion, tls_cipher: hello.cipherSuite };
}

/** What {@linkcode parseTlsStream} found at the start of a TCP stream direction. */
export type TlsStreamRead =
  | { status: "client_hello"; metadata: TlsClientMetadata }
  | { status: "server_hello"; metadata: TlsServerMetadata }
  /** A TLS handshake so far; feed more of the stream. */
  | { status: "partial" }
  /** Not a TLS stream, or one whose first message is no hello we can read. */
  | { status: "invalid" };

const PARTIAL: TlsStreamRead = { status: "partial" };
const INVALID: TlsStreamRead = { status: "invalid" };

/**
 * Reads the hello at the start of a TCP stream direction: a ClientHello from
 * the client, a ServerHello from the server. Pass one segment's payload when
 * the hello fits in it, or a {@linkcode TcpStreamPrefix}'s bytes when it
 * spans segments. Never throws.
 *
 * @example
 * ```ts
 * const read = parseTlsStream(payload);
 * if (read.status === "client_hello") console.log(read.metadata.tls_sni, read.metadata.tls_ja4);
 * ```
 */
export function parseTlsStream(stream: Uint8Array): TlsStreamRead {
  const read = readFirstHandshake(stream);
  if (read.status === "partial") return PARTIAL;
  if (read.status === "invalid") return INVALID;
  if (read.type === TLS_HANDSHAKE_CLIENT_HELLO) {
    const hello = parseClientHello(read.body);
    return hello === null
      ? INVALID
      : { status: "client_hello", metadata: tlsClientMetadata(hello, "t") };
  }
  if (read.type === TLS_HANDSHAKE_SERVER_HELLO) {
    const hello = parseServerHello(read.body);
    return hello === null
      ? INVALID
      : { status: "server_hello", metadata: tlsServerMetadata(hello) };
  }
  return INVALID;
}
