/**
 * JA4, FoxIO's TLS client fingerprint (BSD 3-Clause; spec:
 * https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md):
 *
 * `t13d1516h2_8daaf6152771_e5627efa2ab1` is the transport (`t` TLS over
 * TCP, `q` QUIC, `d` DTLS), the highest offered version, `d` with SNI or
 * `i` without, the cipher and extension counts, the first and last
 * character of the first ALPN value; then the truncated SHA-256 of the
 * sorted cipher suites; then that of the sorted extensions (less SNI and
 * ALPN) and the signature algorithms in order. GREASE is ignored
 * throughout. Only JA4 itself is implemented: the other JA4+ methods are
 * under a licence that does not allow it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type ClientHello, isGrease, TLS_EXT_ALPN, TLS_EXT_SERVER_NAME } from "./tls_hello.ts";

/** Which transport carried the hello: `t` TLS over TCP, `q` QUIC, `d` DTLS. */
export type Ja4Transport = "t" | "q" | "d";

const VERSION_CODES: ReadonlyMap<number, string> = new Map([
  [0x0304, "13"],
  [0x0303, "12"],
  [0x0302, "11"],
  [0x0301, "10"],
  [0x0300, "s3"],
  [0x0002, "s2"],
  [0xfeff, "d1"],
  [0xfefd, "d2"],
  [0xfefc, "d3"],
]);
const EMPTY_HASH = "000000000000";
/** DTLS versions are 0xfeXX. */
const DTLS_VERSION_FLOOR = 0xfe00;

function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}

function isAlphanumeric(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a);
}

/** The two ALPN characters: `00` without a value; hex digits when an end byte is not alphanumeric. */
function alpnCode(first: Uint8Array | null): string {
  if (first === null || first.length === 0) return "00";
  const head = first[0];
  const tail = first[first.length - 1];
  if (isAlphanumeric(head) && isAlphanumeric(tail)) {
    return String.fromCharCode(head) + String.fromCharCode(tail);
  }
  return head.toString(16).padStart(2, "0")[0] + tail.toString(16).padStart(2, "0")[1];
}

function hash12(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

function twoDigits(count: number): string {
  return String(Math.min(count, 99)).padStart(2, "0");
}

/**
 * The version JA4 reports: the highest supported_versions value, else
 * legacy_version. DTLS numbers its versions downwards (0xfeff is 1.0,
 * 0xfefd 1.2), so among DTLS values the highest version is the lowest number.
 */
function versionCode(hello: ClientHello): string {
  let version = hello.legacyVersion;
  if (hello.supportedVersions !== null) {
    const offered = hello.supportedVersions.filter((value) => !isGrease(value));
    const dtls = offered.length > 0 && offered.every((value) => value >= DTLS_VERSION_FLOOR);
    version = offered.length === 0 ? -1 : dtls ? Math.min(...offered) : Math.max(...offered);
  }
  return VERSION_CODES.get(version) ?? "00";
}

/**
 * The JA4 fingerprint of a ClientHello. SHA-256 comes from `node:crypto`,
 * which is synchronous; it runs once per hello.
 *
 * @param transport `t` for TLS over TCP, `q` for QUIC, `d` for DTLS
 *
 * @example
 * ```ts
 * const hello = parseClientHello(body);
 * if (hello !== null) console.log(ja4(hello, "t")); // t13d1516h2_8daaf6152771_e5627efa2ab1
 * ```
 */
export function ja4(hello: ClientHello, transport: Ja4Transport): string {
  const ciphers = hello.cipherSuites.filter((value) => !isGrease(value));
  const extensions = hello.extensions.filter((value) => !isGrease(value));
  const prefix = transport + versionCode(hello) +
    (extensions.includes(TLS_EXT_SERVER_NAME) ? "d" : "i") +
    twoDigits(ciphers.length) + twoDigits(extensions.length) + alpnCode(hello.firstAlpnBytes);
  const cipherHash = ciphers.length === 0
    ? EMPTY_HASH
    : hash12(ciphers.sort((a, b) => a - b).map(hex4).join(","));
  const hashed = extensions
    .filter((value) => value !== TLS_EXT_SERVER_NAME && value !== TLS_EXT_ALPN)
    .sort((a, b) => a - b)
    .map(hex4)
    .join(",");
  const signatures = hello.signatureAlgorithms.filter((value) => !isGrease(value)).map(hex4)
    .join(",");
  const extensionHash = hashed.length === 0
    ? EMPTY_HASH
    : hash12(signatures.length === 0 ? hashed : `${hashed}_${signatures}`);
  return `${prefix}_${cipherHash}_${extensionHash}`;
}
