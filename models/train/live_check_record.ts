/**
 * The recorded result of `deno task live-check` (`bench/live_traffic_check.ts
 * --record models/live_check.json`): the model on this machine's own traffic,
 * which the model card reports beside its held-out figures.
 *
 * @module
 */

/** One live check's result. */
export interface LiveCheckRecord {
  /** When it ended, ISO 8601. */
  date: string;
  /** Seconds of traffic made. */
  seconds: number;
  /** Version of the model that scored the flows. */
  modelVersion: string;
  /** ALERT_MIN_SCORE the alerts are counted at. */
  alertMinScore: number;
  /** `/proc/loadavg`'s 1-minute load at the start and the end. */
  loadAverage: [number, number];
  /** Flows stored. */
  flows: number;
  /** Flows with an attack label scored at least `alertMinScore`. */
  alerting: number;
  /** Flows and alerting flows by label (`unscored` for none). */
  byLabel: Record<string, { flows: number; alerting: number }>;
  /** Flows and alerting flows by capture interface. */
  byInterface: Record<string, { flows: number; alerting: number }>;
  /** Incidents opened. */
  incidents: number;
  /** Commands run by kind of traffic, and how many failed. */
  traffic: Record<string, { ran: number; failed: number }>;
  /** Kinds of traffic skipped for a missing tool. */
  missing: string[];
}

/** Reads a recorded live check; null when there is none at `path`. */
export async function readLiveCheckRecord(path: string | URL): Promise<LiveCheckRecord | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return JSON.parse(text) as LiveCheckRecord;
}
