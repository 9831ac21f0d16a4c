/**
 * A batch sink that encodes batches exactly as the delivery would (Arrow and
 * zstd, split by size) and counts them, without sending or storing anything:
 * `--dry-run`, for measuring the capture side alone.
 *
 * @module
 */
import type { PacketBatch } from "./batcher.ts";
import { encodeBatch, type WireFormat } from "./batch_codec.ts";
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
  /**
   * Creates a sink that encodes batches in `format` and sends nothing.
   *
   * @param format WIRE_FORMAT to encode in.
   */
  constructor(format: WireFormat = "arrow") {
    this.#format = format;
  }

  /** Batches made (before any split by size). */
  batches = 0;
  /** Records in them. */
  records = 0;
  /** Compressed bytes that would have gone over the wire. */
  bodyBytes = 0;

  /** Encodes and counts the batch. */
  submit(batch: PacketBatch): Promise<void> {
    this.batches++;
    this.records += batch.count;
    for (const part of encodeBatch(batch, { format: this.#format })) {
      this.bodyBytes += part.body.length;
    }
    return Promise.resolve();
  }
}
