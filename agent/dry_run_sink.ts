/**
 * A batch sink that encodes batches exactly as the delivery would (Arrow and
 * zstd, split by size) and counts them, without sending or storing anything:
 * `--dry-run`, for measuring the capture side alone.
 *
 * @module
 */
import type { PacketBatch } from "./batcher.ts";
import type { WireFormat } from "./batch_codec.ts";
import { type BatchEncoder, encodeInline } from "./batch_encoder.ts";
import type { BatchSink } from "./delivery.ts";

/**
 * Counts what would have been sent.
 *
 * @example
 * ```ts
 * const sink = new DryRunSink();
 * await runPipeline({ frames, sink, batchSize: 100, batchTimeoutMs: 30_000, agentId: "a", payloadCapture: "full" });
 * console.log(sink.records, sink.bodyBytes);
 * ```
 */
export class DryRunSink implements BatchSink {
  readonly #format: WireFormat;
  readonly #encoder: BatchEncoder;
  /** The last batch submitted, encoded and counted. */
  #counted: Promise<void> = Promise.resolve();
  /**
   * Creates a sink that encodes batches in `format` and sends nothing.
   *
   * @param format WIRE_FORMAT to encode in.
   * @param encoder where batches are encoded (a worker, as live capture does). @default inline
   */
  constructor(format: WireFormat = "arrow", encoder: BatchEncoder = encodeInline) {
    this.#format = format;
    this.#encoder = encoder;
  }

  /** Batches made (before any split by size). */
  batches = 0;
  /** Records in them. */
  records = 0;
  /** Compressed bytes that would have gone over the wire. */
  bodyBytes = 0;

  /**
   * Encodes and counts the batch; resolves when the batch before it is
   * counted (like `Delivery` with an encoder), so {@link drain} before
   * reading `bodyBytes`.
   */
  submit(batch: PacketBatch): Promise<void> {
    this.batches++;
    this.records += batch.count;
    const encoding = this.#encoder.encode(batch, { format: this.#format });
    const previous = this.#counted;
    this.#counted = previous.then(() => encoding).then((parts) => {
      for (const part of parts) this.bodyBytes += part.body.length;
    });
    return previous;
  }

  /** Resolves when every batch submitted is encoded and counted. */
  drain(): Promise<void> {
    return this.#counted;
  }
}
