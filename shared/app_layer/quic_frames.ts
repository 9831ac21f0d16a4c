/**
 * The frames of a decrypted QUIC Initial packet (RFC 9000 §19): CRYPTO
 * frames carry the TLS handshake; PADDING, PING, ACK and CONNECTION_CLOSE
 * are stepped over.
 *
 * @module
 */

import { readVarint } from "./quic_header.ts";

const FRAME_PADDING = 0x00;
const FRAME_PING = 0x01;
const FRAME_ACK = 0x02;
const FRAME_ACK_ECN = 0x03;
const FRAME_CRYPTO = 0x06;
const FRAME_CONNECTION_CLOSE = 0x1c;
/** ACK ranges stepped over at most: more than a real Initial has, few enough to bound the loop. */
const MAX_ACK_RANGES = 256;

/** One CRYPTO frame: where its data goes in the handshake stream, and the data. */
export interface CryptoFrame {
  offset: number;
  data: Uint8Array;
}

/**
 * The CRYPTO frames of an Initial packet's payload, in packet order (Chrome
 * sends them out of order on purpose). Stops at a frame type an Initial
 * packet may not carry, or at a frame cut short. Never throws.
 */
export function cryptoFrames(payload: Uint8Array): CryptoFrame[] {
  const frames: CryptoFrame[] = [];
  let at = 0;
  const varint = () => {
    const read = readVarint(payload, at);
    if (read === null) return null;
    at += read.length;
    return read.value;
  };
  while (at < payload.length) {
    const type = payload[at++];
    if (type === FRAME_PADDING || type === FRAME_PING) continue;
    if (type === FRAME_CRYPTO) {
      const offset = varint();
      const length = varint();
      if (offset === null || length === null || at + length > payload.length) break;
      frames.push({ offset, data: payload.subarray(at, at + length) });
      at += length;
    } else if (type === FRAME_ACK || type === FRAME_ACK_ECN) {
      const fixed = [varint(), varint(), varint(), varint()]; // largest, delay, count, first range
      if (fixed.includes(null) || fixed[2]! > MAX_ACK_RANGES) break;
      let ok = true;
      for (let i = 0; i < fixed[2]! * 2 && ok; i++) ok = varint() !== null;
      if (type === FRAME_ACK_ECN) { for (let i = 0; i < 3 && ok; i++) ok = varint() !== null; }
      if (!ok) break;
    } else if (type === FRAME_CONNECTION_CLOSE) {
      const fields = [varint(), varint(), varint()]; // error code, frame type, reason length
      if (fields.includes(null) || at + fields[2]! > payload.length) break;
      at += fields[2]!;
    } else {
      break;
    }
  }
  return frames;
}
