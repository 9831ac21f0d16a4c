/**
 * Test support: builds TLS ClientHello and ServerHello messages and records
 * from fields.
 *
 * @module
 */

import { be16 } from "./_dns_builder.ts";

/** Fields of a ClientHello for {@linkcode buildClientHello}. */
export interface ClientHelloSpec {
  /** @default {0x0303} */
  legacyVersion?: number;
  cipherSuites: number[];
  /** Extensions in order: type and raw data. */
  extensions: { type: number; data: number[] }[];
}

/** server_name extension data for one host name. */
export function sniExtension(name: string): { type: number; data: number[] } {
  const bytes = [...new TextEncoder().encode(name)];
  return { type: 0, data: [...be16(bytes.length + 3), 0, ...be16(bytes.length), ...bytes] };
}

/** ALPN extension data for a list of protocol names (or raw byte values). */
export function alpnExtension(values: (string | number[])[]): { type: number; data: number[] } {
  const list = values.flatMap((value) => {
    const bytes = typeof value === "string" ? [...new TextEncoder().encode(value)] : value;
    return [bytes.length, ...bytes];
  });
  return { type: 0x10, data: [...be16(list.length), ...list] };
}

/** An extension holding a 2-byte-length list of 16-bit values (groups, signature algorithms). */
export function u16ListExtension(type: number, values: number[]): { type: number; data: number[] } {
  return { type, data: [...be16(values.length * 2), ...values.flatMap(be16)] };
}

/** supported_versions of a ClientHello (1-byte length). */
export function versionsExtension(values: number[]): { type: number; data: number[] } {
  return { type: 0x2b, data: [values.length * 2, ...values.flatMap(be16)] };
}

/** A ClientHello handshake message (4-byte header included). */
export function buildClientHello(spec: ClientHelloSpec): Uint8Array {
  const extensions = spec.extensions.flatMap((
    e,
  ) => [...be16(e.type), ...be16(e.data.length), ...e.data]);
  const body = [
    ...be16(spec.legacyVersion ?? 0x0303),
    ...new Array(32).fill(0x11), // random
    32,
    ...new Array(32).fill(0x22), // session id
    ...be16(spec.cipherSuites.length * 2),
    ...spec.cipherSuites.flatMap(be16),
    1,
    0, // compression: null
    ...be16(extensions.length),
    ...extensions,
  ];
  return new Uint8Array([
    1,
    body.length >> 16,
    (body.length >> 8) & 0xff,
    body.length & 0xff,
    ...body,
  ]);
}

/** A ServerHello handshake message choosing `cipherSuite`, with optional supported_versions. */
export function buildServerHello(cipherSuite: number, selectedVersion?: number): Uint8Array {
  const extensions = selectedVersion === undefined ? [] : [0, 0x2b, 0, 2, ...be16(selectedVersion)];
  const body = [
    3,
    3,
    ...new Array(32).fill(0x33),
    0,
    ...be16(cipherSuite),
    0,
    ...be16(extensions.length),
    ...extensions,
  ];
  return new Uint8Array([2, 0, (body.length >> 8) & 0xff, body.length & 0xff, ...body]);
}

/** Wraps a handshake message in handshake records of at most `fragmentBytes` each. */
export function tlsRecords(message: Uint8Array, fragmentBytes = 16384): Uint8Array {
  const out: number[] = [];
  for (let at = 0; at < message.length; at += fragmentBytes) {
    const fragment = message.subarray(at, Math.min(message.length, at + fragmentBytes));
    out.push(22, 3, 1, ...be16(fragment.length), ...fragment);
  }
  return new Uint8Array(out);
}
