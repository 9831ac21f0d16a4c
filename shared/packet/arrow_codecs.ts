/**
 * Arrow IPC buffer compression (the `BodyCompression` of a record batch) for
 * apache-arrow's reader and writer, which ship no codec of their own: ZSTD
 * through the runtime's `node:zlib`. LZ4_FRAME, the other codec Arrow
 * defines, has no maintained pure-JS or built-in implementation here, so a
 * batch compressed with it is refused as unreadable.
 *
 * Decompression is bounded: {@link withArrowDecompressionBudget} sets how many
 * bytes all the buffers of one body may inflate to, so a small body cannot
 * claim gigabytes.
 *
 * @module
 */
import { compressionRegistry, CompressionType } from "apache-arrow";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";

let registered = false;
let budgetBytes = Infinity;

/** Registers the ZSTD codec with apache-arrow (once; later calls do nothing). */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  compressionRegistry.set(CompressionType.ZSTD, {
    encode: (data) =>
      new Uint8Array(zstdCompressSync(data, {
        params: { [constants.ZSTD_c_compressionLevel]: 1 },
      })),
    decode: (data) => {
      const out = zstdDecompressSync(data, {
        maxOutputLength: Math.max(1, Math.min(budgetBytes, 2 ** 31 - 1)),
      });
      budgetBytes -= out.length;
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    },
  });
}

/**
 * Runs `read` (synchronous: apache-arrow decodes a body in one call) with
 * at most `maxBytes` of decompressed buffers; beyond it the codec throws.
 */
export function withArrowDecompressionBudget<T>(maxBytes: number, read: () => T): T {
  const saved = budgetBytes;
  budgetBytes = maxBytes;
  try {
    return read();
  } finally {
    budgetBytes = saved;
  }
}
