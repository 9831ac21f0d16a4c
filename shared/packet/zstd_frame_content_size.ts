/**
 * The content size a zstd frame's header declares, for sizing the buffer it
 * is decompressed into.
 *
 * @module
 */

/**
 * The content size the first zstd frame's header declares (RFC 8878,
 * 3.1.1.1), or null when it declares none or the header is cut. Only a hint
 * for sizing: the frame may be damaged, or followed by others.
 *
 * @example
 * ```ts
 * import { zstdCompressSync, type ZstdOptions } from "node:zlib";
 * const raw = new Uint8Array(1000);
 * const options = { pledgedSrcSize: raw.length } as ZstdOptions;
 * zstdFrameContentSize(zstdCompressSync(raw, options)); // 1000
 * ```
 */
export function zstdFrameContentSize(frame: Uint8Array): number | null {
  if (frame.length < 5) return null;
  const descriptor = frame[4];
  const singleSegment = (descriptor >> 5) & 1;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6];
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3];
  if (sizeBytes === 0 || at + sizeBytes > frame.length) return null;
  let size = 0;
  for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + frame[at + i];
  return sizeBytes === 2 ? size + 256 : size;
}
