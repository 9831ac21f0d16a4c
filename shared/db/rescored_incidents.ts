/**
 * Incidents brought in line with rescored flows (`deno task rescore`): the
 * same `recordIncidents` an aggregation pass runs, fed from the flows as
 * stored after their new verdicts are written, in the same transaction.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";
import type { IncidentFlowInput } from "./incident_grouping.ts";
import { recordIncidents, type RecordIncidentsResult } from "./incident_store.ts";

/** Options for {@linkcode recordRescoredIncidents}. */
export interface RecordRescoredIncidentsOptions {
  /** `traffic_data` ids of the flows just rescored. */
  ids: readonly number[];
  /** The model's benign class: flows of any other label are flagged. */
  benignLabel: string;
  /** ALERT_MIN_SCORE: flagged flows scored below it join no incident. */
  minScore: number;
  /** See `AssignIncidentsOptions.windowSec`. */
  windowSec: number;
}

/**
 * Adds the rescored flows that are alerts now to incidents (opening new ones
 * as a pass would), takes the others out of theirs, and recomputes the
 * incidents touched (one left without flows is deleted). Runs on the
 * transaction `tx` that wrote the verdicts.
 */
export async function recordRescoredIncidents(
  tx: Sql,
  options: RecordRescoredIncidentsOptions,
): Promise<RecordIncidentsResult> {
  if (options.ids.length === 0) return { opened: 0, touched: 0 };
  const rows = await tx<
    {
      flow_uid: string;
      label: string | null;
      score: number | null;
      orig_ip: string | null;
      resp_ip: string | null;
      resp_port: number | null;
      first_seen: number;
      last_seen: number;
    }[]
  >`
    select flow_uid, label, score, host(orig_ip) as orig_ip, host(resp_ip) as resp_ip,
      resp_port, first_seen, last_seen
    from traffic_data where id = any(${pgArrayLiteral([...options.ids])}::int8[])
    order by first_seen, id`;
  const flagged: IncidentFlowInput[] = [];
  const clearedUids: string[] = [];
  for (const r of rows) {
    if (r.label === null || r.label === options.benignLabel || r.score === null) {
      clearedUids.push(r.flow_uid);
      continue;
    }
    flagged.push({
      flowUid: r.flow_uid,
      label: r.label,
      score: Math.fround(r.score),
      origIp: r.orig_ip,
      respIp: r.resp_ip,
      respPort: r.resp_port,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
    });
  }
  return await recordIncidents(tx, {
    flagged,
    clearedUids,
    minScore: options.minScore,
    windowSec: options.windowSec,
  });
}
