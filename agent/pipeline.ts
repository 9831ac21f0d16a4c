/**
 * The agent's pipeline: frames (from live capture or a capture file) →
 * {@linkcode decodeHeaders} → {@link Batcher} (columns) → a {@link BatchSink}
 * (the delivery, or a dry-run counter). Live capture and `--read` run through
 * exactly this code; only the frame source differs. Nothing here allocates
 * per packet: headers are decoded into one reused object and appended to the
 * batcher's reused columns.
 *
 * @module
 */
import {
  type AppendHeadersOptions,
  decodeHeaders,
  type DecodeHeadersOptions,
  PacketHeaders,
  type PayloadCapture,
} from "@traffic-analyzer/shared/packet";
import { HeaderAppExtractor } from "@traffic-analyzer/shared/app_layer";
import { Batcher, type PacketBatch, type Scheduler } from "./batcher.ts";
import type { BatchSink } from "./delivery.ts";
import type { CaptureLag } from "./capture_lag.ts";

/** What the pipeline needs of a frame; both capture-file frames and live frames have it. */
export interface PipelineFrame {
  /** Captured bytes from the link-layer header on. */
  data: Uint8Array;
  /** Capture time, epoch seconds with a fraction (kept as is: a file keeps its own times). */
  timestampSec: number;
  /** Bytes on the wire. */
  wireLength: number;
  /** LINKTYPE_ value. */
  linkType: number;
  /** Interface name, when the source knows it. */
  interfaceName?: string;
}

/** The interface name of a frame whose source names none (the ingest schema wants one). */
const UNKNOWN = "unknown";

/** Options for {@link runPipeline}. */
export interface RunPipelineOptions {
  /** Bursts of frames; the pipeline ends when it ends (or throws when it throws). */
  frames: AsyncIterable<readonly PipelineFrame[]>;
  /** Where closed batches go. */
  sink: BatchSink;
  /** BATCH_SIZE. */
  batchSize: number;
  /** BATCH_TIMEOUT in ms; `Infinity` cuts by count only (reading a file). */
  batchTimeoutMs: number;
  /** Agent id, the prefix of idempotency keys. */
  agentId: string;
  /** Names batches by position (reading a file); see `BatcherOptions.keyOf`. @default null */
  keyOf?: ((firstIndex: number, count: number) => string) | null;
  /**
   * Frames at the source's start that were delivered by an earlier run: they
   * are skipped without decoding, and the first batch starts after them.
   * @default 0
   */
  skipFrames?: number;
  /**
   * The stream the batches belong to (`BatcherOptions.stream`): `file-<id>`
   * for a file, the live stream for live capture. @default null
   */
  stream?: string | null;
  /**
   * Position of the first packet read in the stream: a live capture's next
   * position (see live_stream.ts). @default skipFrames
   */
  firstIndex?: number;
  /**
   * On a stop, forget the open batch instead of sending it short (reading a
   * file: the next run cuts it whole, under the same key as a full read).
   * @default false
   */
  abandonOnStop?: boolean;
  /** PAYLOAD_CAPTURE: what each record's `data` keeps. */
  payloadCapture: PayloadCapture;
  /**
   * APP_METADATA: extract application-layer metadata (DNS, TLS, QUIC, HTTP,
   * SSH, DHCP) from each packet before its payload is cut, into the record.
   * @default true
   */
  appMetadata?: boolean;
  /**
   * Live capture: takes each burst's newest capture time as it is read, so
   * that uploads can wait while capture runs behind. @default null
   */
  captureLag?: CaptureLag | null;
  /** Interface name for frames without one (the file's name for `--read`). @default "" */
  defaultInterfaceName?: string;
  /** Stops reading after the current burst when aborted; the open batch is still flushed. */
  signal?: AbortSignal;
  /** Clock for the batcher. @default Date.now */
  clock?: () => number;
  /** Timers for the batcher. @default global timers */
  scheduler?: Scheduler;
}

/** Counts of one pipeline run. */
export interface PipelineResult {
  /** Frames decoded into records (skipped frames are not). */
  frames: number;
  /** Frames skipped at the start (`skipFrames`, or fewer when the source was shorter). */
  skipped: number;
  /** Batches handed to the sink. */
  batches: number;
  /** Records of the open batch forgotten on a stop (`abandonOnStop`). */
  abandoned: number;
  /** True when the source ended by itself (not stopped, not failed). */
  complete: boolean;
}

/**
 * Runs frames through decode and batching into the sink until the source
 * ends, throws, or `signal` aborts. Whatever ends it, the open batch is
 * flushed and every batch is accepted by the sink before this returns or
 * rethrows: a damaged file still sends everything before the damage.
 *
 * @example
 * ```ts
 * await runPipeline({
 *   frames: readCaptureBatches("capture.pcapng"),
 *   sink: delivery,
 *   batchSize: 100,
 *   batchTimeoutMs: 30_000,
 *   agentId: "sensor-1",
 *   payloadCapture: "headers",
 *   defaultInterfaceName: "capture.pcapng",
 * });
 * await delivery.close({ graceMs: Infinity });
 * ```
 */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineResult> {
  const { sink, payloadCapture, signal } = options;
  const defaultInterfaceName = options.defaultInterfaceName ?? "";
  const skipFrames = options.skipFrames ?? 0;
  const accepting = new Set<Promise<void>>();
  const result: PipelineResult = {
    frames: 0,
    skipped: 0,
    batches: 0,
    abandoned: 0,
    complete: false,
  };
  const batcher = new Batcher({
    batchSize: options.batchSize,
    batchTimeoutMs: options.batchTimeoutMs,
    agentId: options.agentId,
    keyOf: options.keyOf,
    firstIndex: options.firstIndex ?? skipFrames,
    stream: options.stream ?? null,
    clock: options.clock,
    scheduler: options.scheduler,
    onBatch: (batch: PacketBatch) => {
      result.batches++;
      // Timer-closed batches arrive between bursts; they are awaited with the next burst's.
      const accepted = sink.submit(batch);
      accepting.add(accepted);
      accepted.finally(() => accepting.delete(accepted));
    },
  });
  // One of each for every frame of the run: the per-packet path allocates nothing.
  const headers = new PacketHeaders();
  const decodeOptions: DecodeHeadersOptions = { linkType: 0, wireLength: 0 };
  const appendOptions: AppendHeadersOptions = {
    timestampSec: 0,
    interfaceName: UNKNOWN,
    payloadCapture,
    app: null,
  };
  // Extraction reads the payload before `payloadCapture` cuts it; its state
  // (TCP segments of a split ClientHello, QUIC Initials) lives for the run.
  const extractor = options.appMetadata === false ? null : new HeaderAppExtractor();
  const captureLag = options.captureLag ?? null;
  let stopped = false;
  try {
    for await (const burst of options.frames) {
      if (captureLag !== null && burst.length > 0) {
        captureLag.observe(burst[burst.length - 1].timestampSec);
      }
      let start = 0;
      if (result.skipped < skipFrames) {
        start = Math.min(burst.length, skipFrames - result.skipped);
        result.skipped += start;
      }
      for (let i = start; i < burst.length; i++) {
        const frame = burst[i];
        decodeOptions.linkType = frame.linkType;
        decodeOptions.wireLength = frame.wireLength;
        decodeHeaders(frame.data, decodeOptions, headers);
        if (extractor !== null) {
          const found = extractor.extract(frame.data, headers);
          // A promise only for a QUIC client Initial (WebCrypto decryption).
          appendOptions.app = found instanceof Promise ? await found : found;
        }
        appendOptions.timestampSec = frame.timestampSec;
        appendOptions.interfaceName = frame.interfaceName || defaultInterfaceName || UNKNOWN;
        batcher.addFrame(frame.data, headers, appendOptions);
      }
      result.frames += burst.length - start;
      // Back-pressure: a sink that waits for room slows reading down here.
      if (accepting.size > 0) await Promise.all(accepting);
      if (signal?.aborted) {
        stopped = true;
        break;
      }
    }
    result.complete = !stopped;
  } finally {
    if (stopped && options.abandonOnStop) result.abandoned = batcher.abandon();
    else batcher.close();
    await Promise.all(accepting);
  }
  return result;
}
