/**
 * The live capture's place in the order of batches: a stream named once per
 * data folder (`live-<uuid>`, kept in KV) and the position of the next
 * packet in it, saved in KV as each batch closes, so a restarted agent goes
 * on where it stopped and its batches keep one order across restarts. The
 * server's aggregator merges the stream's batches in that order, whatever
 * order they arrive in (see `BatchOrder`).
 *
 * KV layout: `["live_stream"]`: {@link LiveStreamState}.
 *
 * @module
 */
import { commitKv } from "./kv_commit.ts";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import type { PacketBatch } from "./batcher.ts";
import type { BatchSink } from "./delivery.ts";

/** What KV keeps of the live stream. */
export interface LiveStreamState {
  /** The stream's name, `live-<uuid>`. */
  stream: string;
  /** Position of the next packet captured. */
  nextIndex: number;
}

const KEY: Deno.KvKey = ["live_stream"];
const log = getLogger([LOG_ROOT, "agent"]);

/** The live stream of one data folder. */
export class LiveStream {
  readonly #kv: Deno.Kv;
  /** The stream's name. */
  readonly stream: string;
  /** Position of the first packet of this run. */
  readonly firstIndex: number;
  #saved: Promise<void> = Promise.resolve();

  private constructor(kv: Deno.Kv, state: LiveStreamState) {
    this.#kv = kv;
    this.stream = state.stream;
    this.firstIndex = state.nextIndex;
  }

  /** Reads the stream from KV, naming it on the first run. */
  static async open(kv: Deno.Kv, newId: () => string = () => crypto.randomUUID()): Promise<
    LiveStream
  > {
    const entry = await kv.get<LiveStreamState>(KEY);
    if (entry.value !== null) return new LiveStream(kv, entry.value);
    const state: LiveStreamState = { stream: `live-${newId()}`, nextIndex: 0 };
    const result = await commitKv(kv.atomic().check(entry).set(KEY, state));
    if (result.ok) return new LiveStream(kv, state);
    // Another run named it meanwhile.
    return new LiveStream(kv, (await kv.get<LiveStreamState>(KEY)).value!);
  }

  /**
   * Wraps the delivery: the position after each batch is saved as the batch
   * is submitted (the write starts first), so a restart does not hand out a
   * position again. The batch goes to the delivery at once: its columns are
   * valid only until `submit` returns to the batcher.
   */
  sink(delivery: BatchSink): BatchSink {
    return {
      submit: async (batch: PacketBatch) => {
        const state: LiveStreamState = {
          stream: this.stream,
          nextIndex: batch.firstIndex + batch.count,
        };
        // Saved in order: a later batch's position never goes before an earlier one's.
        const saved = this.#saved = this.#saved.then(() =>
          commitKv(this.#kv.atomic().set(KEY, state)).then(
            () => {},
            (error) => log.error("Cannot save the live stream's position: {error}", { error }),
          )
        );
        const submitted = delivery.submit(batch);
        await Promise.all([saved, submitted]);
      },
    };
  }
}
