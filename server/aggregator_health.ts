/**
 * Whether the aggregator keeps up, judged from its progress in the database
 * (it may run in this process or on another machine). `/health` reports it,
 * and the pages show it in a banner: a page that stays empty while packets
 * pile up should say why.
 *
 * @module
 */
import type { AggregatorStatus } from "@traffic-analyzer/shared/db";

/** Passes that may be missed before the aggregator counts as behind. */
export const MISSED_PASSES = 3;

/** The verdict of {@link assessAggregator}. */
export interface AggregatorAssessment {
  /** `degraded` when packets wait and no pass has run for {@link MISSED_PASSES} intervals. */
  status: "ok" | "degraded";
  /** What is wrong and what to check, or null when all is well. */
  reason: string | null;
}

/**
 * Degraded when packets have waited longer than three aggregation intervals
 * and no pass finished within three intervals either. Both clocks are the
 * database's, so a server on another machine judges the same way.
 */
export function assessAggregator(
  status: AggregatorStatus,
  aggregateIntervalMs: number,
): AggregatorAssessment {
  const limitSec = (MISSED_PASSES * aggregateIntervalMs) / 1000;
  const waiting = status.lagPackets > 0 && status.lagSec > limitSec;
  const stale = status.sinceLastPassSec === null || status.sinceLastPassSec > limitSec;
  if (!waiting || !stale) return { status: "ok", reason: null };
  const since = status.sinceLastPassSec === null
    ? "no aggregation pass has run yet"
    : `no aggregation pass for ${Math.round(status.sinceLastPassSec)} s`;
  return {
    status: "degraded",
    reason: `${since} while ${status.lagPackets} packets have waited up to ` +
      `${Math.round(status.lagSec)} s (more than ${MISSED_PASSES} × AGGREGATE_INTERVAL = ` +
      `${limitSec} s): is an aggregator running? Start one with \`deno task aggregate\`, ` +
      "or run `deno task serve` without --no-aggregate.",
  };
}
