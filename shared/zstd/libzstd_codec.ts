/**
 * zstd compression through libzstd (see libzstd.ts), or null where it is
 * not at hand (no libzstd, or no `--allow-ffi`); `zstdCompress`
 * (zstd_compress.ts) falls back to `node:zlib` then. The frames are
 * standard zstd, read by `node:zlib` or any other decoder.
 *
 * Decompression stays with `node:zlib`: into one buffer of the size a frame
 * declares (as the server and the aggregator do), it decompressed the
 * agent's bodies as fast as libzstd did (410-420 ms against 440-470 ms for
 * the bench capture's 334 bodies, 5 December 2026).
 *
 * @module
 */

import { loadLibzstd } from "./libzstd.ts";

/**
 * Compressed output is written here, then copied out at its size: a buffer
 * of the worst-case size per call would be held, mostly empty, by every
 * body in flight. Kept up to {@link MAX_SCRATCH_BYTES}.
 */
let scratch = new Uint8Array(0);
const MAX_SCRATCH_BYTES = 16 << 20;

/**
 * `bytes` as one zstd frame at `level` (1 by default) that declares its
 * content size; null when libzstd is not at hand. The result is a copy of
 * its own, never a view of a buffer a later call writes into.
 *
 * @example
 * ```ts
 * const frame = compressWithLibzstd(new TextEncoder().encode("a".repeat(1000)));
 * ```
 */
export function compressWithLibzstd(bytes: Uint8Array, level = 1): Uint8Array | null {
  const lib = loadLibzstd();
  if (lib === null) return null;
  const bound = Number(lib.ZSTD_compressBound(BigInt(bytes.length)));
  let out = scratch;
  if (out.length < bound) {
    out = new Uint8Array(bound);
    if (bound <= MAX_SCRATCH_BYTES) scratch = out;
  }
  const written = lib.ZSTD_compress(out, BigInt(bound), bytes, BigInt(bytes.length), level);
  // Only a level out of range or a bound too small fail, and neither can happen here.
  if (lib.ZSTD_isError(written)) {
    const name = lib.ZSTD_getErrorName(written);
    throw new RangeError(
      `zstd cannot compress at level ${level}: ${
        name === null ? "unknown error" : Deno.UnsafePointerView.getCString(name)
      }`,
    );
  }
  return out.slice(0, Number(written));
}
