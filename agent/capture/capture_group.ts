import { type CaptureStats, LiveCapture, type LiveFrame } from "./live_capture.ts";
import { type LiveCaptureOptions, resolveLiveCaptureOptions } from "./live_capture_options.ts";
import { IdleWaiter, pollBursts } from "./_poll_loop.ts";

/** Options of {@linkcode CaptureGroup.open}: the per-capture options, shared by every interface. */
export interface CaptureGroupOptions extends Omit<LiveCaptureOptions, "interfaceName"> {
  /** Interfaces to capture on (`--interface` repeated); `any` must stand alone. */
  interfaceNames: readonly string[];
}

function compareTime(a: LiveFrame, b: LiveFrame): number {
  return a.timestampWholeSec - b.timestampWholeSec ||
    a.timestampFracNs - b.timestampFracNs;
}

/**
 * Captures on several interfaces at once and merges their frames into one
 * stream; each frame says which interface it came from. One loop polls all
 * captures in turn, so a busy interface cannot starve a quiet one (each gets
 * at most `burstSize` frames per round), and each round's frames are merged
 * in time order. To capture everywhere, use the single `any` interface.
 *
 * @example
 * ```ts
 * using group = CaptureGroup.open({ interfaceNames: ["eth0", "eth1"], filter: "tcp" });
 * for await (const frame of group) console.log(frame.interfaceName, frame.caplen);
 * ```
 */
export class CaptureGroup {
  /** The captures, in the order of `interfaceNames`. */
  readonly captures: readonly LiveCapture[];

  #idleSleepMs: number;
  #waiter: IdleWaiter | null = null;
  #closed = false;
  #stopping = false;
  #lastBurstFull = false;

  private constructor(captures: LiveCapture[], idleSleepMs: number) {
    this.captures = captures;
    this.#idleSleepMs = idleSleepMs;
  }

  /**
   * Opens one {@linkcode LiveCapture} per interface. Throws `RangeError` for
   * an empty or repeated list, or `any` next to other names (it already
   * covers them, so every packet would be counted twice); if one interface
   * fails to open, those already open are closed and its error is thrown.
   */
  static open(options: CaptureGroupOptions): CaptureGroup {
    const { interfaceNames, ...shared } = options;
    if (!Array.isArray(interfaceNames) || interfaceNames.length === 0) {
      throw new RangeError(
        `Cannot start capture as 'interfaceNames' must list at least one interface: current value is ${
          JSON.stringify(interfaceNames)
        }`,
      );
    }
    const seen = new Set<string>();
    for (const name of interfaceNames) {
      if (seen.has(name)) {
        throw new RangeError(
          `Cannot start capture as 'interfaceNames' repeats "${name}": current value is ${
            JSON.stringify(interfaceNames)
          }`,
        );
      }
      seen.add(name);
    }
    if (seen.has("any") && seen.size > 1) {
      throw new RangeError(
        `Cannot start capture as 'interfaceNames' mixes "any" with other interfaces, which "any" already covers: current value is ${
          JSON.stringify(interfaceNames)
        }`,
      );
    }
    // Check every option before opening anything.
    const resolved = interfaceNames.map((interfaceName) =>
      resolveLiveCaptureOptions({ ...shared, interfaceName })
    );
    const captures: LiveCapture[] = [];
    try {
      for (const captureOptions of resolved) {
        captures.push(LiveCapture.open(captureOptions));
      }
    } catch (error) {
      for (const capture of captures) capture.close();
      throw error;
    }
    return new CaptureGroup(captures, resolved[0].idleSleepMs);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once `stop()` was called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Ends `bursts()` after it has read what the kernel already captured (a
   * SIGINT loses nothing that was on the wire before it); `close()` after.
   */
  stop(): void {
    this.#stopping = true;
    this.#waiter?.wake();
  }

  /** True when some capture's last burst was full, so more frames are likely waiting. */
  get lastBurstFull(): boolean {
    return this.#lastBurstFull;
  }

  /** Reads one burst from each capture without blocking and merges them in time order. */
  readBurst(): LiveFrame[] {
    this.#lastBurstFull = false;
    if (this.#closed) return [];
    let merged: LiveFrame[] = [];
    let sources = 0;
    for (const capture of this.captures) {
      const frames = capture.readBurst();
      if (capture.lastBurstFull) this.#lastBurstFull = true;
      if (frames.length === 0) continue;
      sources++;
      merged = sources === 1 ? frames : merged.concat(frames);
    }
    if (sources > 1) merged.sort(compareTime);
    return merged;
  }

  /** Bursts of merged frames until `close()`; each array is non-empty. */
  bursts(): AsyncGenerator<LiveFrame[], void, undefined> {
    this.#waiter ??= new IdleWaiter(
      this.captures.map((capture) => capture.selectableFd),
    );
    return pollBursts(this, this.#waiter, this.#idleSleepMs);
  }

  /** Merged frames one at a time until `close()`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<
    LiveFrame,
    void,
    undefined
  > {
    for await (const burst of this.bursts()) yield* burst;
  }

  /** Counters per interface name, from each capture's `stats()`. */
  stats(): Record<string, CaptureStats> {
    return Object.fromEntries(
      this.captures.map((capture) => [capture.interfaceName, capture.stats()]),
    );
  }

  /** Closes every capture; iteration ends. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter?.close();
    for (const capture of this.captures) capture.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
