/**
 * A cap on concurrent heavy reads (raw packets, exports, pcap): each holds a
 * database connection per chunk and streams megabytes, so sixteen at once
 * took a server from 244 MB to 649 MB. Past the cap a read answers 429 with
 * `Retry-After`; a slot is held until its answer's body has been sent or
 * the client went away.
 *
 * @module
 */
import { HttpError } from "./http_errors.ts";

/** Counts heavy reads in flight. */
export class HeavyReadLimiter {
  readonly #max: number;
  #active = 0;

  /** @param max Most heavy reads at once; must be at least 1. */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot limit heavy reads as 'max' must be an integer >= 1: current value is ${max}`,
      );
    }
    this.#max = max;
  }

  /** Heavy reads in flight now. */
  get active(): number {
    return this.#active;
  }

  /**
   * Takes a slot, or throws a 429 {@link HttpError} when all are taken.
   * Returns the function that gives the slot back; calling it twice is harmless.
   */
  acquire(): () => void {
    if (this.#active >= this.#max) {
      throw new HttpError(
        429,
        `too many heavy reads at once (limit ${this.#max}): retry in a moment`,
        { details: { limit: this.#max }, headers: { "Retry-After": "1" } },
      );
    }
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
    };
  }
}

const encoder = new TextEncoder();

/**
 * A response body that pulls its text from `chunks` only as fast as the
 * client reads, and calls `release` once it ends, fails, or is cancelled.
 */
export function streamingBody(
  chunks: AsyncIterator<string | Uint8Array>,
  release: () => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          release();
          controller.close();
          return;
        }
        const value = next.value;
        controller.enqueue(typeof value === "string" ? encoder.encode(value) : value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    async cancel() {
      release();
      await chunks.return?.(undefined);
    },
  }, { highWaterMark: 1 });
}
