/**
 * SHA-1 (FIPS 180-4) over a byte array, synchronous and allocation-light.
 *
 * Community ID v1 and the flow uid hash a few dozen bytes per new flow; the
 * `node:crypto` hash costs about 1.5 µs a call in Deno because each call
 * crosses into Rust, while this loop needs a fraction of that. SHA-1 is used
 * here because the Community ID spec demands it, not for security.
 *
 * @module
 */

const W = new Int32Array(80);
/** Reused padding buffer for messages that fit in two blocks. */
const SMALL = new Uint8Array(128);

/**
 * Computes the 20-byte SHA-1 digest of the first `length` bytes of `data`
 * (all of it by default).
 *
 * @example
 * ```ts
 * const digest = sha1(new TextEncoder().encode("abc"));
 * ```
 */
export function sha1(data: Uint8Array, length: number = data.length): Uint8Array {
  const words = sha1Words(data, length);
  const out = new Uint8Array(20);
  for (let i = 0; i < 5; i++) writeWord(out, i * 4, words[i]);
  return out;
}

/** Digest words of {@linkcode sha1Words}, overwritten by each call. */
const DIGEST = new Int32Array(5);

/**
 * The SHA-1 digest of the first `length` bytes of `data` as five big-endian
 * 32-bit words (signed), in a buffer that the next call overwrites: no
 * allocation for messages that fit in two blocks.
 */
export function sha1Words(data: Uint8Array, length: number = data.length): Int32Array {
  // Message plus the 0x80 marker plus the 8-byte length, rounded up to 64.
  const paddedLength = ((length + 9 + 63) >>> 6) << 6;
  let block: Uint8Array;
  if (paddedLength <= SMALL.length) {
    block = SMALL;
    for (let i = 0; i < length; i++) block[i] = data[i];
  } else {
    block = new Uint8Array(paddedLength);
    block.set(length === data.length ? data : data.subarray(0, length));
  }
  block.fill(0, length, paddedLength);
  block[length] = 0x80;
  // JS bit lengths stay below 2^53: high word, then low word, big-endian.
  const bitLength = length * 8;
  const high = Math.floor(bitLength / 0x100000000);
  const low = bitLength >>> 0;
  block[paddedLength - 8] = high >>> 24;
  block[paddedLength - 7] = (high >>> 16) & 0xff;
  block[paddedLength - 6] = (high >>> 8) & 0xff;
  block[paddedLength - 5] = high & 0xff;
  block[paddedLength - 4] = low >>> 24;
  block[paddedLength - 3] = (low >>> 16) & 0xff;
  block[paddedLength - 2] = (low >>> 8) & 0xff;
  block[paddedLength - 1] = low & 0xff;

  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;

  for (let offset = 0; offset < paddedLength; offset += 64) {
    for (let i = 0, j = offset; i < 16; i++, j += 4) {
      W[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) |
        block[j + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
      W[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, t = 0;
    for (let i = 0; i < 20; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + W[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    for (let i = 20; i < 40; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + W[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    for (let i = 40; i < 60; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e -
        0x70e44324 + W[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    for (let i = 60; i < 80; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e - 0x359d3e2a + W[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }

  const digest = DIGEST;
  digest[0] = h0;
  digest[1] = h1;
  digest[2] = h2;
  digest[3] = h3;
  digest[4] = h4;
  return digest;
}

function writeWord(out: Uint8Array, offset: number, word: number): void {
  out[offset] = word >>> 24;
  out[offset + 1] = (word >>> 16) & 0xff;
  out[offset + 2] = (word >>> 8) & 0xff;
  out[offset + 3] = word & 0xff;
}
