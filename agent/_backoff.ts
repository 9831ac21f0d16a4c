/**
 * Retry timing shared by the uploader and the outbox replay. Private to the
 * agent folder.
 *
 * @module
 */

/** Waits `delayMs`; resolves early when `signal` aborts. Returns false when aborted. */
export type Sleep = (delayMs: number, signal?: AbortSignal) => Promise<boolean>;

/** The real sleep: a timer that an abort cancels. */
export const realSleep: Sleep = (delayMs, signal) => {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
};

/** `baseMs * 2^attempt`, at most `maxMs` (attempt 0 waits `baseMs`). */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 40));
}

/**
 * Reads `Retry-After` (RFC 9110: delay seconds or an HTTP date) as a delay
 * in ms from `nowMs`; null when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return null;
  return Math.max(0, dateMs - nowMs);
}
