/**
 * Test support: protects QUIC Initial packets the way a client does (RFC
 * 9001 §5), so tests can build Initials from plaintext frames and check the
 * reader against the RFCs' worked examples.
 *
 * @module
 */

import { deriveQuicInitialSecrets } from "./quic_initial_keys.ts";

/** Fields of a client Initial packet for {@linkcode protectClientInitial}. */
export interface ClientInitialSpec {
  version: number;
  dcid: Uint8Array;
  /** @default {empty} */
  scid?: Uint8Array;
  packetNumber: number;
  /** Plaintext frames; padded with PADDING frames to `payloadBytes`. */
  frames: Uint8Array;
  /** @default {1162, which makes a 1200-byte packet with an 8-byte DCID} */
  payloadBytes?: number;
}

/** A two-byte varint (RFC 9000 §16), enough for Initial lengths. */
function varint2(value: number): number[] {
  return [0x40 | (value >> 8), value & 0xff];
}

/** The unprotected header: 4-byte packet number, empty token, two-byte length. */
export function initialHeader(spec: ClientInitialSpec): Uint8Array<ArrayBuffer> {
  const scid = spec.scid ?? new Uint8Array(0);
  const payloadBytes = spec.payloadBytes ?? 1162;
  const typeBits = spec.version === 0x6b3343cf ? 0x10 : 0x00; // Initial is type 1 in v2
  return new Uint8Array([
    0xc0 | typeBits | 0x03, // long header, Initial, 4-byte packet number
    spec.version >>> 24,
    (spec.version >> 16) & 0xff,
    (spec.version >> 8) & 0xff,
    spec.version & 0xff,
    spec.dcid.length,
    ...spec.dcid,
    scid.length,
    ...scid,
    0, // token length
    ...varint2(4 + payloadBytes + 16),
    spec.packetNumber >>> 24,
    (spec.packetNumber >> 16) & 0xff,
    (spec.packetNumber >> 8) & 0xff,
    spec.packetNumber & 0xff,
  ]);
}

/** Encrypts and header-protects a client Initial packet. */
export async function protectClientInitial(spec: ClientInitialSpec): Promise<Uint8Array> {
  const payloadBytes = spec.payloadBytes ?? 1162;
  const secrets = deriveQuicInitialSecrets(spec.dcid, spec.version, "client");
  const header = initialHeader(spec);
  const plain = new Uint8Array(payloadBytes);
  plain.set(spec.frames);
  const nonce = secrets.iv.slice();
  for (let i = 0; i < 4; i++) nonce[11 - i] ^= (spec.packetNumber >>> (8 * i)) & 0xff;
  const key = await crypto.subtle.importKey("raw", secrets.key.slice(), "AES-GCM", false, [
    "encrypt",
  ]);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: header }, key, plain),
  );
  const packet = new Uint8Array(header.length + sealed.length);
  packet.set(header);
  packet.set(sealed, header.length);
  const packetNumberOffset = header.length - 4;
  const hp = await crypto.subtle.importKey("raw", secrets.hp.slice(), "AES-CTR", false, [
    "encrypt",
  ]);
  const sample = packet.slice(packetNumberOffset + 4, packetNumberOffset + 20);
  const mask = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-CTR", counter: sample, length: 128 },
      hp,
      new Uint8Array(16),
    ),
  );
  packet[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < 4; i++) packet[packetNumberOffset + i] ^= mask[1 + i];
  return packet;
}

/** A CRYPTO frame with a two-byte offset and length. */
export function cryptoFrame(offset: number, data: Uint8Array): Uint8Array {
  return new Uint8Array([0x06, ...varint2(offset), ...varint2(data.length), ...data]);
}
