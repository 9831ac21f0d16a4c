/**
 * How a packet column block is stored in `batch_packet_columns`: zstd
 * (level 1) of the block that {@linkcode encodePacketColumnBlock} wrote.
 *
 * Why: the block goes through PostgreSQL's COPY and into TOAST chunks in the
 * ingest transaction, and back out as base64 text to the aggregator, and
 * PostgreSQL's CPU is what limits ingest (issue 15). A block of 5,000 packets
 * of the bench capture is about 850 KB; zstd level 1 makes it about 10 times
 * smaller for a few milliseconds of the server's CPU, where PostgreSQL's own
 * compression (pglz, or lz4, which PGlite does not have) would spend the
 * database's CPU, and get less out of it.
 *
 * A stored value starting with zstd's magic number is compressed; any other
 * is a block as written before this (read as it is), so batches stored by an
 * older server stay readable. An older aggregator takes a compressed value
 * for a damaged block and reads the batch's `raw_packets` rows instead.
 *
 * @module
 */
import { zstdDecompressSync } from "node:zlib";
import { zstdCompress } from "../zstd/zstd_compress.ts";
import { zstdFrameContentSize } from "./zstd_frame_content_size.ts";

/** zstd frames start with 0xFD2FB528 (little-endian). */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Raised for a stored block that cannot be decompressed; carries zstd's error. */
export class StoredPacketColumnsError extends Error {
  /** @param message what is wrong with the stored block */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "StoredPacketColumnsError";
  }
}

/** The value to store for a block: the block compressed with zstd level 1. */
export function compressPacketColumnBlock(block: Uint8Array): Uint8Array {
  // The frame declares its size, which inflating checks.
  return zstdCompress(block, 1);
}

/**
 * Largest declared size decompressed into one buffer (a block of 500 packets
 * is about 85 KB); larger frames are decompressed in node:zlib's chunks.
 */
const ONE_CHUNK_MAX_BYTES = 16 * 2 ** 20;

/** node:zlib's smallest chunk (a smaller `chunkSize` is a RangeError). */
const MIN_CHUNK_BYTES = 64;

/** Options for {@link inflateStoredPacketColumns}. */
export interface InflateStoredPacketColumnsOptions {
  /** Largest block a stored value may decompress to. @default 1 GiB */
  maxBlockBytes?: number;
}

/**
 * The block a stored value holds: decompressed when it is zstd, as it is
 * otherwise (a block stored uncompressed). Throws
 * {@linkcode StoredPacketColumnsError} for a value that is not a whole zstd
 * frame or decompresses to more than `maxBlockBytes`.
 */
export function inflateStoredPacketColumns(
  stored: Uint8Array,
  options: InflateStoredPacketColumnsOptions = {},
): Uint8Array {
  if (!isZstd(stored)) return stored;
  const maxBlockBytes = options.maxBlockBytes ?? 2 ** 30;
  const declared = zstdFrameContentSize(stored);
  let block: Uint8Array;
  try {
    // Into one buffer of the size the frame declares (a byte more, or
    // node:zlib makes another, empty, chunk), rather than in chunks of 16
    // KiB concatenated at the end; a declared size beyond reason falls back
    // to the chunks, so a damaged header cannot make it allocate much.
    const out = declared !== null && declared <= Math.min(maxBlockBytes, ONE_CHUNK_MAX_BYTES)
      ? zstdDecompressSync(stored, {
        maxOutputLength: maxBlockBytes,
        chunkSize: Math.max(declared + 1, MIN_CHUNK_BYTES),
      })
      : zstdDecompressSync(stored, { maxOutputLength: maxBlockBytes });
    block = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (error) {
    throw new StoredPacketColumnsError(
      `stored packet column block of ${stored.length} bytes cannot be decompressed`,
      { cause: error },
    );
  }
  // node:zlib returns what it could of a cut frame without an error.
  if (declared === null || block.length !== declared) {
    throw new StoredPacketColumnsError(
      `stored packet column block decompressed to ${block.length} bytes, ` +
        `its frame declares ${declared ?? "no size"}`,
    );
  }
  return block;
}

function isZstd(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ZSTD_MAGIC.every((byte, i) => bytes[i] === byte);
}
