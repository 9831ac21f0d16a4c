/**
 * The two queries of `deno task rescore`: stored flows with their feature
 * vectors a page at a time, and the new verdicts written back.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { decodeFeatureVector } from "./feature_vector_bytes.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";
import type { FeatureContribution } from "../explain/flow_explainer.ts";

/** A stored flow as rescoring reads it. */
export interface StoredFlowVerdict {
  /** Row id (the keyset). */
  id: number;
  /** The stored feature vector, or null for a flow never scored. */
  features: Float32Array | null;
  /** Version of the vector's layout, or null. */
  feature_version: number | null;
  /** The stored class, or null. */
  label: string | null;
  /** The stored score (the `real` column's float32 value exactly), or null. */
  score: number | null;
}

/** Options for {@linkcode readStoredFlowVerdicts}. */
export interface ReadStoredFlowVerdictsOptions {
  /** Only rows with a larger id (keyset pagination); 0 for the first page. */
  afterId: number;
  /** Only flows whose last packet is at or after this (epoch seconds); null for all. */
  sinceSec: number | null;
  /** Rows per page. */
  limit: number;
}

/**
 * One page of stored flows in id order. Keyset pagination on the primary
 * key: each page is an index range scan, however deep into the table.
 */
export async function readStoredFlowVerdicts(
  sql: Sql,
  options: ReadStoredFlowVerdictsOptions,
): Promise<StoredFlowVerdict[]> {
  const rows = await sql<(Omit<StoredFlowVerdict, "features"> & { features: Uint8Array | null })[]>`
    select id, features, feature_version, label, score from traffic_data
    where id > ${options.afterId}
      and (${options.sinceSec}::float8 is null or last_seen >= ${options.sinceSec}::float8)
    order by id
    limit ${options.limit}`;
  return rows.map((r) => ({
    ...r,
    // A real arrives as its shortest decimal text: back to the float32 the scorer gives.
    score: r.score === null ? null : Math.fround(r.score),
    features: r.features === null ? null : decodeFeatureVector(r.features),
  }));
}

/** A flow's new verdict. */
export interface FlowVerdictUpdate {
  /** Row id. */
  id: number;
  /** New class. */
  label: string;
  /** New score. */
  score: number;
  /** New explanation, or null. */
  explanation: FeatureContribution[] | null;
}

/**
 * Writes new verdicts, all by one model version, in one statement; returns
 * the rows updated. A flow whose class changes moves from its old class to
 * its new one in the dashboard's per-minute class counts
 * (`dashboard_class_minute`, migration 020), in the same statement.
 */
export async function updateFlowVerdicts(
  sql: Sql,
  modelVersion: string,
  updates: readonly FlowVerdictUpdate[],
): Promise<number> {
  if (updates.length === 0) return 0;
  // Every part of the statement sees the rows as they were before it, so
  // `before` holds the old labels.
  const [result] = await sql<{ updated: number }[]>`
    with u as (
      select * from unnest(
        ${pgArrayLiteral(updates.map((u) => u.id))}::text::int8[],
        ${pgArrayLiteral(updates.map((u) => u.label))}::text::text[],
        ${pgArrayLiteral(updates.map((u) => u.score))}::text::real[],
        ${
    pgArrayLiteral(
      updates.map((u) => (u.explanation === null ? null : JSON.stringify(u.explanation))),
    )
  }::text::jsonb[]
      ) as u(id, label, score, explanation)
    ),
    before as (
      select t.id, floor(t.first_seen / 60)::int8 as minute,
        coalesce(t.label, 'unscored') as old_label, coalesce(u.label, 'unscored') as new_label
      from traffic_data t join u on u.id = t.id
    ),
    updated as (
      update traffic_data as t set
        label = u.label, score = u.score, model_version = ${modelVersion},
        explanation = u.explanation
      from u
      where t.id = u.id
      returning t.id
    ),
    moves as (
      select minute, old_label as label, -1 as flows from before where old_label <> new_label
      union all
      select minute, new_label, 1 from before where old_label <> new_label
    ),
    moved as (
      insert into dashboard_class_minute as r (minute, label, flows)
      select minute, label, sum(flows) from moves group by minute, label
      on conflict (minute, label) do update set flows = r.flows + excluded.flows
    )
    select count(*)::int8 as updated from updated`;
  return Number(result.updated);
}
