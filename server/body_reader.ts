/**
 * Reads a request body under size limits, gunzipping `Content-Encoding: gzip`.
 * Limits are checked while streaming, so an oversized or gzip-bomb body is
 * refused without being held in memory.
 *
 * @module
 */
import { HttpError } from "./http_errors.ts";

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
): Promise<Uint8Array> {
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
      total += step.value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(step.value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Returns the decompressed body bytes, or throws an {@link HttpError}:
 * 413 over a limit, 400 for a broken gzip stream, 415 for an unknown encoding.
 */
export async function readLimitedBody(
  request: Request,
  options: ReadLimitedBodyOptions,
): Promise<Uint8Array> {
  const encoding = (request.headers.get("content-encoding") ?? "identity")
    .trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new HttpError(
      415,
      `Content-Encoding ${encoding} is not supported: use gzip or none`,
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
  if (!request.body) return new Uint8Array(0);

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
  if (encoding === "identity") {
    return await collect(
      stream,
      options.maxBodyBytes,
      bodyTooLarge,
      (cause) =>
        cause instanceof HttpError
          ? cause
          : new HttpError(400, `cannot read the request body: ${cause}`, {
            cause,
          }),
    );
  }
  return await collect(
    stream.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<
        Uint8Array,
        Uint8Array
      >,
    ),
    options.maxDecompressedBytes,
    () =>
      new HttpError(
        413,
        `request body is larger than ${options.maxDecompressedBytes} bytes after gunzip`,
        { details: { limit_bytes: options.maxDecompressedBytes } },
      ),
    (cause) =>
      cause instanceof HttpError ? cause : new HttpError(
        400,
        `invalid gzip body: ${(cause as Error).message ?? cause}`,
        { cause },
      ),
  );
}
