/**
 * The loop shared by `LiveCapture` and `CaptureGroup`: drain a burst
 * synchronously, then give the event loop back. Private to this folder.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { LiveFrame } from "./live_capture.ts";
import { type Libc, loadLibc } from "./_libc.ts";

/** A source of frames that can be drained without blocking. */
export interface BurstSource {
  /** Reads what is ready, at most one burst per capture; never blocks. */
  readBurst(): LiveFrame[];
  /** True when the last `readBurst` stopped at the burst limit, so more is likely waiting. */
  readonly lastBurstFull: boolean;
  /** True once closed; the loop ends. */
  readonly closed: boolean;
  /** True once asked to stop: the loop drains what is ready, then ends. */
  readonly stopping?: boolean;
}

const POLLIN = 0x1;
const POLLFD_BYTES = 8;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

/**
 * Waits while the ring buffer is empty. Where libc is at hand it polls the
 * capture sockets on a worker thread, so the wait ends as soon as the kernel
 * has packets; a timer alone wakes late when the CPUs are busy (sleeps of
 * 5 ms took 20-36 ms under load here, and the ring overflowed). `wake()`
 * ends a wait at once through an eventfd in the same poll set.
 */
export class IdleWaiter {
  #libc: Libc | null;
  #pollSet: Uint8Array<ArrayBuffer> | null = null;
  #wakeFd = -1;
  #counter = new BigUint64Array(1);
  #pending: Promise<unknown> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resolveTimer: (() => void) | undefined;
  #closed = false;

  /** Polls `fds` (the captures' selectable fds; -1 entries are left out) when it can. */
  constructor(fds: number[]) {
    const usable = fds.filter((fd) => fd >= 0);
    this.#libc = usable.length > 0 ? loadLibc() : null;
    if (this.#libc === null) return;
    this.#wakeFd = this.#libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (this.#wakeFd < 0) {
      this.#libc = null;
      return;
    }
    const all = [...usable, this.#wakeFd];
    const set = new Uint8Array(all.length * POLLFD_BYTES);
    const view = new DataView(set.buffer);
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    all.forEach((fd, i) => {
      view.setInt32(i * POLLFD_BYTES, fd, le);
      view.setInt16(i * POLLFD_BYTES + 4, POLLIN, le);
    });
    this.#pollSet = set;
  }

  /** Waits until packets may be ready, `wake()` is called, or `timeoutMs` passes. */
  async wait(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    const libc = this.#libc;
    const set = this.#pollSet;
    if (libc === null || set === null) {
      await new Promise<void>((resolve) => {
        this.#resolveTimer = resolve;
        this.#timer = setTimeout(resolve, timeoutMs);
      });
      this.#timer = undefined;
      this.#resolveTimer = undefined;
      return;
    }
    const pending = libc.poll(
      set,
      BigInt(set.length / POLLFD_BYTES),
      Math.ceil(timeoutMs),
    );
    this.#pending = pending;
    try {
      await pending;
    } finally {
      this.#pending = null;
    }
    if (this.#closed) {
      this.#closeWakeFd();
      return;
    }
    // Reset the eventfd if wake() fired without closing.
    libc.read(this.#wakeFd, this.#counter, 8n);
  }

  /** Ends the current wait now, if any. */
  wake(): void {
    if (this.#libc !== null && this.#wakeFd >= 0) {
      this.#counter[0] = 1n;
      this.#libc.write(this.#wakeFd, this.#counter, 8n);
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#resolveTimer?.();
  }

  /** Ends any wait and frees the eventfd once no poll still uses it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    if (this.#pending === null) this.#closeWakeFd();
  }

  #closeWakeFd(): void {
    if (this.#libc !== null && this.#wakeFd >= 0) this.#libc.close(this.#wakeFd);
    this.#wakeFd = -1;
  }
}

/**
 * Yields to the event loop after a full burst. `setImmediate` runs after
 * pending I/O and timers like `setTimeout(0)` would, but `setTimeout(0)`
 * takes about 2 ms on these machines (measured), which would cap capture at
 * one burst per 2 ms; `setImmediate` takes about 30 µs.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Drains `source` in bursts until it is closed, yielding each non-empty
 * burst. After a full burst it only yields to the event loop; after a short
 * one the ring buffer is empty, so it waits up to `idleWaitMs`, or ends when
 * the source is stopping.
 */
export async function* pollBursts(
  source: BurstSource,
  waiter: IdleWaiter,
  idleWaitMs: number,
): AsyncGenerator<LiveFrame[], void, undefined> {
  while (!source.closed) {
    const frames = source.readBurst();
    if (frames.length > 0) yield frames;
    if (source.closed) return;
    if (source.lastBurstFull) await yieldToEventLoop();
    // Stopping: what the kernel already captured is read to the end, then no more waiting.
    else if (source.stopping) return;
    else await waiter.wait(idleWaitMs);
  }
}
