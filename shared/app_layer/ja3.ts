/**
 * JA3, the TLS client fingerprint of Salesforce (2017) that threat-intel
 * feeds still carry: the ClientHello's version, cipher suites, extensions,
 * supported groups and point formats as decimal lists, GREASE left out, and
 * the MD5 of that string. tshark's `tls.handshake.ja3_full` and
 * `tls.handshake.ja3` are the same two values.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type ClientHello, isGrease } from "./tls_hello.ts";

/** A JA3 fingerprint: the string and its MD5. */
export interface Ja3 {
  /** `version,ciphers,extensions,groups,point_formats`, lists joined by `-`. */
  full: string;
  /** Lower-case hex MD5 of `full`: the value feeds publish. */
  hash: string;
}

function list(values: readonly number[]): string {
  return values.filter((value) => !isGrease(value)).join("-");
}

/**
 * The JA3 of a ClientHello. MD5 comes from `node:crypto` (WebCrypto has
 * none); it runs once per hello, not per packet.
 *
 * @example
 * ```ts
 * const hello = parseClientHello(body);
 * if (hello !== null) console.log(ja3(hello).hash);
 * ```
 */
export function ja3(hello: ClientHello): Ja3 {
  const full = [
    hello.legacyVersion,
    list(hello.cipherSuites),
    list(hello.extensions),
    list(hello.supportedGroups),
    hello.ecPointFormats.join("-"),
  ].join(",");
  return { full, hash: createHash("md5").update(full).digest("hex") };
}
