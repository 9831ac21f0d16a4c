/**
 * Reads a request body under size limits, decompressing `Content-Encoding:
 * gzip` or `zstd`. The body as sent is limited while it streams in, and the
 * decompressed body by node:zlib's output cap, so an oversized body or a
 * compression bomb is refused without being held in memory. (gzip went
 * through the web `DecompressionStream` until issue 15: node:zlib's
 * `gunzipSync` took a quarter of its CPU time on a 6.6 MB JSON batch.)
 *
 * @module
 */
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { concatBytes } from "@traffic-analyzer/shared";
import { zstdFrameContentSize } from "@traffic-analyzer/shared/packet";
import { HttpError } from "./http_errors.ts";

/** deflate's largest ratio of output to input (a run of one byte), rounded up. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * The smallest chunk asked for: node:zlib's default. A body that declares a
 * small size, truly or not, is read in chunks no smaller than without the
 * hint (a false size of a few bytes made 64-byte chunks, a call each).
 */
const MIN_CHUNK_BYTES = 16 * 1024;

/**
 * A chunk for a body that declares its decompressed size: the size plus one
 * (so the decompressor ends with room to spare and one buffer holds it all),
 * held to what `compressed` can become at `maxRatio` and to the limit, so a
 * false size cannot make the server allocate more than a true one could, and
 * never below node:zlib's own chunk.
 */
function declaredChunkSize(
  declared: number,
  compressed: Uint8Array,
  maxOutputBytes: number,
  maxRatio: number,
): number {
  return Math.max(
    MIN_CHUNK_BYTES,
    Math.min(declared + 1, maxOutputBytes + 1, compressed.length * maxRatio),
  );
}

/**
 * The output chunk for gunzip: the size the gzip trailer declares (ISIZE, its
 * last four bytes), plus one so that zlib ends with room to spare, so a body
 * inflates into one buffer instead of node:zlib's 16 KB chunks joined at the
 * end (half of gunzip's time on a 660 KB JSON batch). Only a hint: a wrong
 * ISIZE costs chunks, not correctness, and it is held to what the
 * compressed bytes can inflate to and to the limit, so a false one cannot
 * make the server allocate more than a true one could.
 */
export function gunzipChunkSize(compressed: Uint8Array, maxOutputBytes: number): number {
  if (compressed.length < 18) return MIN_CHUNK_BYTES;
  const at = compressed.length - 4;
  const declared = (compressed[at] | compressed[at + 1] << 8 | compressed[at + 2] << 16 |
    compressed[at + 3] << 24) >>> 0;
  return declaredChunkSize(declared, compressed, maxOutputBytes, MAX_DEFLATE_RATIO);
}

/**
 * zstd's largest ratio of output to input: an RLE block's 3-byte header and
 * 1 byte give up to 128 KiB of one byte.
 */
const MAX_ZSTD_RATIO = 32_768;

/**
 * The output chunk for zstd: the content size the frame's header declares
 * (the agent's bodies and the zstd CLI's declare it), plus one so that zstd
 * ends with room to spare, so a body is decompressed into one buffer instead
 * of node:zlib's 16 KiB chunks joined at the end (two thirds of
 * decompression's CPU on the agent's 1.4 MB Arrow bodies). A frame that
 * declares no size gets node:zlib's default. Only a hint, held to what the
 * compressed bytes can become and to the limit, as for gunzip.
 */
export function zstdChunkSize(compressed: Uint8Array, maxOutputBytes: number): number | undefined {
  const declared = zstdFrameContentSize(compressed);
  if (declared === null) return undefined;
  return declaredChunkSize(declared, compressed, maxOutputBytes, MAX_ZSTD_RATIO);
}

/** Options for {@link readLimitedBody}. */
export interface ReadLimitedBodyOptions {
  /** Largest body as sent, in bytes. */
  maxBodyBytes: number;
  /** Largest body after decompression, in bytes. */
  maxDecompressedBytes: number;
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  tooLarge: () => HttpError,
  readError: (cause: unknown) => HttpError,
  expectedBytes: number | null,
): Promise<Uint8Array> {
  // With the size known up front, chunks go straight into one buffer: a list
  // of chunks joined at the end holds the body twice at the peak.
  let filled = expectedBytes !== null && expectedBytes <= limit
    ? new Uint8Array(expectedBytes)
    : null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (cause) {
        throw readError(cause);
      }
      if (step.done) break;
      if (total + step.value.byteLength > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      if (filled !== null && total + step.value.byteLength <= filled.length) {
        filled.set(step.value, total);
      } else {
        if (filled !== null) {
          // More than declared: fall back to the chunk list.
          chunks.push(filled.subarray(0, total));
          filled = null;
        }
        chunks.push(step.value);
      }
      total += step.value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (filled !== null) return total === filled.length ? filled : filled.subarray(0, total);
  return concatBytes(chunks);
}

/**
 * Returns the decompressed body bytes, or throws an {@link HttpError}:
 * 413 over a limit, 400 for a broken gzip stream, 415 for an unknown encoding.
 */
export async function readLimitedBody(
  request: Request,
  options: ReadLimitedBodyOptions,
): Promise<Uint8Array> {
  return (await readRequestBody(request, options)).body;
}

/** A request body as it was sent and as it reads once decompressed. */
export interface RequestBody {
  /** The bytes as sent, still compressed (the same array as `body` when not). */
  sent: Uint8Array;
  /** The body, decompressed. */
  body: Uint8Array;
}

/**
 * {@link readLimitedBody}, also giving the bytes as they were sent: what a
 * retry sends again unchanged, and several times smaller to hash than the
 * decompressed body.
 */
export async function readRequestBody(
  request: Request,
  options: ReadLimitedBodyOptions,
): Promise<RequestBody> {
  const encoding = (request.headers.get("content-encoding") ?? "identity")
    .trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip" && encoding !== "zstd") {
    throw new HttpError(
      415,
      `Content-Encoding ${encoding} is not supported: use gzip, zstd or none`,
    );
  }
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const bodyTooLarge = () =>
    new HttpError(
      413,
      `request body is larger than ${options.maxBodyBytes} bytes`,
      {
        details: { limit_bytes: options.maxBodyBytes },
      },
    );
  if (declared > options.maxBodyBytes) throw bodyTooLarge();
  if (!request.body) {
    const empty = new Uint8Array(0);
    return { sent: empty, body: empty };
  }

  let stream: ReadableStream<Uint8Array> = request.body;
  // Count the bytes as sent before they reach the decompressor.
  let sent = 0;
  stream = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.byteLength;
        if (sent > options.maxBodyBytes) controller.error(bodyTooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  const readError = (cause: unknown) =>
    cause instanceof HttpError
      ? cause
      : new HttpError(400, `cannot read the request body: ${cause}`, { cause });
  if (encoding === "zstd" || encoding === "gzip") {
    // Both through node:zlib, which caps its output (the web DecompressionStream
    // has no zstd, and its gzip cost four times the CPU of gunzipSync).
    const sentLength = Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
    const compressed = await collect(
      stream,
      options.maxBodyBytes,
      bodyTooLarge,
      readError,
      sentLength,
    );
    const name = encoding === "zstd" ? "zstd" : "gunzip";
    try {
      const maxOutputLength = options.maxDecompressedBytes;
      const out = encoding === "zstd"
        ? zstdDecompressSync(compressed, {
          maxOutputLength,
          chunkSize: zstdChunkSize(compressed, maxOutputLength),
        })
        : gunzipSync(compressed, {
          maxOutputLength,
          chunkSize: gunzipChunkSize(compressed, maxOutputLength),
        });
      // node:zlib gives what it could of a cut frame, without an error.
      const promised = encoding === "zstd" ? zstdFrameContentSize(compressed) : null;
      if (promised !== null && out.byteLength < promised) {
        throw new HttpError(
          400,
          `invalid zstd body: its frame declares ${promised} bytes and holds ${out.byteLength}`,
        );
      }
      return { sent: compressed, body: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
    } catch (cause) {
      if (cause instanceof HttpError) throw cause;
      if ((cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw new HttpError(
          413,
          `request body is larger than ${options.maxDecompressedBytes} bytes after ${name}`,
          { details: { limit_bytes: options.maxDecompressedBytes }, cause },
        );
      }
      throw new HttpError(400, `invalid ${encoding} body: ${(cause as Error).message ?? cause}`, {
        cause,
      });
    }
  }
  const body = await collect(
    stream,
    options.maxBodyBytes,
    bodyTooLarge,
    readError,
    Number.isSafeInteger(declared) && declared >= 0 ? declared : null,
  );
  return { sent: body, body };
}
