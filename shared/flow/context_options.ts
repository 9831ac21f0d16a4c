/**
 * Options of the context windows (`ContextTracker` in
 * `context_features.ts`): their lengths and the delay after which a flow's
 * context is taken, with their defaults and checks.
 *
 * @module
 */

/** Options of {@linkcode ContextTracker}. */
export interface ContextOptions {
  /**
   * Short window length, seconds (KDD'99's "past two seconds").
   * @default {2}
   */
  shortWindowSec?: number;
  /**
   * Long window length, seconds; catches scans slower than the short window.
   * @default {60}
   */
  longWindowSec?: number;
  /**
   * Packet time, seconds, after a flow's start at which its context is
   * computed, so that its own and its neighbours' outcomes (answer, reject,
   * handshake) are known: covers a SYN retransmission (1 s) plus any sane RTT.
   * @default {2}
   */
  outcomeDelaySec?: number;
}

/** `options` with the defaults filled in; throws RangeError naming an invalid option. */
export function resolveContextOptions(options: ContextOptions): Required<ContextOptions> {
  const resolved: Required<ContextOptions> = {
    shortWindowSec: options.shortWindowSec ?? 2,
    longWindowSec: options.longWindowSec ?? 60,
    outcomeDelaySec: options.outcomeDelaySec ?? 2,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value < 0 || (name !== "outcomeDelaySec" && value === 0)) {
      throw new RangeError(
        `Cannot track flow context as '${name}' must be a positive number of seconds: current value is ${value}`,
      );
    }
  }
  if (resolved.longWindowSec < resolved.shortWindowSec) {
    throw new RangeError(
      `Cannot track flow context as 'longWindowSec' must be at least 'shortWindowSec' (${resolved.shortWindowSec}): current value is ${resolved.longWindowSec}`,
    );
  }
  return resolved;
}
