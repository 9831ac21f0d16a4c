/**
 * How far live capture runs behind the wire, and whether uploads should
 * wait for it: capture first. On a machine where the agent shares its cores
 * with the server and PostgreSQL, every upload takes CPU from the capturing
 * thread, and what that thread does not read in time the kernel's ring
 * drops: lost for good. A batch that waits is not lost: it waits in the
 * queue, then in the outbox on disk. So while capture falls behind, uploads
 * and replays wait (see `DeliveryOptions.holdUploads`), and start again once
 * it has caught up.
 *
 * The lag is the age of the newest packet read: the clock now against the
 * packet's capture time, less the smallest such age seen lately, so a
 * capture clock that is off by a constant (another time source, a skewed
 * NIC) reads as no lag.
 *
 * @module
 */

/** Options for {@linkcode CaptureLag}. */
export interface CaptureLagOptions {
  /**
   * Lag at which capture counts as behind: the ring is filling. The ring
   * holds a few seconds at the rates that bring it on (CAPTURE_BUFFER_MB).
   * @default 500
   */
  behindMs?: number;
  /**
   * Lag under which capture counts as caught up: above libpcap's block
   * timeout (100 ms by default), which a packet may wait out in a block
   * that is not full. @default 250
   */
  caughtUpMs?: number;
  /** How long capture stays caught up (or reads nothing) before uploads start again. @default 2000 */
  settleMs?: number;
  /**
   * Longest time behind without a break: then capture counts as caught up,
   * and is not behind again until its lag has been under `caughtUpMs` once.
   * A flood this long is more than holding uploads can carry, and a lag
   * that never falls would hold them for good. @default 300000
   */
  maxBehindMs?: number;
  /**
   * The smallest age over this long is the baseline the lag is measured
   * from: half of it to a full window back. @default 60000
   */
  baselineWindowMs?: number;
  /** Epoch milliseconds. @default Date.now */
  clock?: () => number;
  /** Called when capture falls behind (true) or has caught up (false), with the lag then. */
  onChange?: (behind: boolean, lagMs: number) => void;
}

/**
 * Follows the lag of a live capture, burst by burst.
 *
 * @example
 * ```ts
 * const lag = new CaptureLag();
 * lag.observe(frame.timestampSec); // the newest packet of each burst read
 * if (lag.isBehind()) {
 *   // let uploads wait
 * }
 * ```
 */
export class CaptureLag {
  readonly #behindMs: number;
  readonly #caughtUpMs: number;
  readonly #settleMs: number;
  readonly #maxBehindMs: number;
  readonly #halfWindowMs: number;
  readonly #clock: () => number;
  readonly #onChange: ((behind: boolean, lagMs: number) => void) | null;
  /** Smallest age in the current and the previous half window. */
  #minAge = Infinity;
  #previousMinAge = Infinity;
  #windowStartMs = -Infinity;
  #lagMs = 0;
  #behind = false;
  /** When capture last read a packet, and when it was last behind (not yet caught up). */
  #lastObservedMs = -Infinity;
  #lastLaggingMs = -Infinity;
  #behindSinceMs = 0;
  /** Released after `maxBehindMs`: not behind again until caught up once. */
  #released = false;

  /** Checks the options. */
  constructor(options: CaptureLagOptions = {}) {
    this.#behindMs = options.behindMs ?? 500;
    this.#caughtUpMs = options.caughtUpMs ?? 250;
    this.#settleMs = options.settleMs ?? 2_000;
    this.#maxBehindMs = options.maxBehindMs ?? 300_000;
    const windowMs = options.baselineWindowMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
    this.#onChange = options.onChange ?? null;
    for (
      const [name, value] of [
        ["behindMs", this.#behindMs],
        ["caughtUpMs", this.#caughtUpMs],
        ["settleMs", this.#settleMs],
        ["maxBehindMs", this.#maxBehindMs],
        ["baselineWindowMs", windowMs],
      ] as const
    ) {
      if (!(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(
          `Cannot follow the capture lag as '${name}' must be a number >= 0: current value is ${value}`,
        );
      }
    }
    if (this.#caughtUpMs > this.#behindMs) {
      throw new RangeError(
        `Cannot follow the capture lag as 'caughtUpMs' (${this.#caughtUpMs}) must not exceed 'behindMs' (${this.#behindMs})`,
      );
    }
    this.#halfWindowMs = windowMs / 2;
  }

  /** The lag of the newest packet observed, in milliseconds. */
  get lagMs(): number {
    return this.#lagMs;
  }

  /**
   * True from when the lag reaches `behindMs` until it has stayed under
   * `caughtUpMs` (or capture has read nothing) for `settleMs`, for at most
   * `maxBehindMs`.
   */
  isBehind(): boolean {
    if (this.#behind) {
      const now = this.#clock();
      const settled = now - this.#lastLaggingMs >= this.#settleMs;
      const idle = now - this.#lastObservedMs >= this.#settleMs;
      const tooLong = now - this.#behindSinceMs >= this.#maxBehindMs;
      if (tooLong && !settled && !idle) this.#released = true;
      if (settled || idle || tooLong) this.#set(false);
    }
    return this.#behind;
  }

  /** Takes the capture time (epoch seconds) of the newest packet read. */
  observe(packetTimeSec: number): void {
    if (!Number.isFinite(packetTimeSec)) return;
    const now = this.#clock();
    const age = now - packetTimeSec * 1000;
    if (now - this.#windowStartMs >= this.#halfWindowMs) {
      this.#previousMinAge = this.#minAge;
      this.#minAge = Infinity;
      this.#windowStartMs = now;
    }
    if (age < this.#minAge) this.#minAge = age;
    const baseline = Math.min(this.#minAge, this.#previousMinAge);
    this.#lagMs = Math.max(0, age - baseline);
    this.#lastObservedMs = now;
    if (this.#lagMs >= this.#caughtUpMs) this.#lastLaggingMs = now;
    else this.#released = false;
    if (!this.#behind && !this.#released && this.#lagMs >= this.#behindMs) {
      this.#behindSinceMs = now;
      this.#set(true);
    }
  }

  #set(behind: boolean): void {
    this.#behind = behind;
    this.#onChange?.(behind, this.#lagMs);
  }
}
