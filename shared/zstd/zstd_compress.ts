/**
 * One zstd frame of some bytes, declaring its content size: through libzstd
 * where it is at hand (libzstd_codec.ts), else through `node:zlib`. The one
 * place the fallback is written, for every caller that compresses.
 *
 * @module
 */

import { constants, zstdCompressSync } from "node:zlib";
import { compressWithLibzstd } from "./libzstd_codec.ts";

/**
 * `bytes` as one zstd frame at `level` through `node:zlib`, declaring its
 * content size (the decompressing side sizes its buffer by it). For the
 * fallback below, and for a bench that times both.
 */
export function compressWithNodeZlib(bytes: Uint8Array, level = 1): Uint8Array {
  // Node's zlib takes `pledgedSrcSize`, but the node types some checks resolve
  // lack it: the options are built apart so that no excess-property check
  // refuses them.
  const options = {
    pledgedSrcSize: bytes.length,
    params: { [constants.ZSTD_c_compressionLevel]: level },
  };
  const compressed = zstdCompressSync(bytes, options);
  return new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength);
}

/**
 * `bytes` as one zstd frame at `level` (1 by default) that declares its
 * content size, in memory of its own (never a view of `bytes` or of a
 * buffer a later call writes into).
 *
 * @example
 * ```ts
 * const frame = zstdCompress(new TextEncoder().encode("a".repeat(1000)));
 * ```
 */
export function zstdCompress(bytes: Uint8Array, level = 1): Uint8Array {
  return compressWithLibzstd(bytes, level) ?? compressWithNodeZlib(bytes, level);
}
