/**
 * What a zstd frame's header says about the frame, read without inflating
 * it: whether bytes start a zstd frame, and the content size the frame
 * declares. The stored packet column blocks and the agent's ingest bodies
 * declare it (`pledgedSrcSize`), so each inflates into one buffer of that
 * size instead of node:zlib's 16 KiB chunks joined at the end.
 *
 * @module
 */

/** zstd frames start with 0xFD2FB528 (little-endian). */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** True when `bytes` start with zstd's frame magic number. */
export function isZstdFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ZSTD_MAGIC.every((byte, i) => bytes[i] === byte);
}

/**
 * The content size the header of the zstd frame at the start of `frame`
 * declares (RFC 8878, 3.1.1.1), or null when it declares none or `frame` is
 * not a zstd frame. Only the header is read: whether the frame really holds
 * that many bytes is for the decompressor to find out (libzstd refuses a
 * frame whose content differs from its declared size).
 *
 * @example
 * ```ts
 * const size = zstdFrameContentSize(body); // null: not declared
 * ```
 */
export function zstdFrameContentSize(frame: Uint8Array): number | null {
  if (frame.length < 5 || !isZstdFrame(frame)) return null;
  const descriptor = frame[4];
  const singleSegment = (descriptor >> 5) & 1;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6];
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3];
  if (sizeBytes === 0 || at + sizeBytes > frame.length) return null;
  let size = 0;
  for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + frame[at + i];
  return sizeBytes === 2 ? size + 256 : size;
}
