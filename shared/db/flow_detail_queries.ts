/**
 * One flow with everything stored about it, for `/flows/{id}` and
 * `GET /api/flows/{id}`.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import type { FlowRow } from "./flow_queries.ts";
import { decodeFeatureVector } from "./feature_vector_bytes.ts";
import type { FeatureContribution } from "../explain/flow_explainer.ts";

/** A flow with its capture context and the vector it was scored with. */
export interface FlowDetailRow extends FlowRow {
  /** The interface the flow's packets were captured on, when known. */
  interface: string | null;
  /** IP protocol number, or null for non-IP flows. */
  ip_proto: number | null;
  /** Inner VLAN id (QinQ), or null. */
  vlan_inner: number | null;
  /** Which FEATURE_NAMES list `features` follows, or null when unscored. */
  feature_version: number | null;
  /** The model's input vector (float32 values), or null when unscored. */
  features: number[] | null;
  /** When the aggregator last wrote the flow, ISO 8601. */
  updated_at: string;
  /** Top TreeSHAP contributions to the score, for an alerted flow; else null. */
  explanation: FeatureContribution[] | null;
}

/** The flow with this id, or null. */
export async function readFlowDetail(sql: Sql, id: number): Promise<FlowDetailRow | null> {
  const [row]: [
    (Omit<FlowDetailRow, "features" | "updated_at"> & {
      features: Uint8Array | null;
      updated_at: Date;
    })?,
  ] = await sql`
    select id, flow_uid, community_id, agent, tunnel_type, tunnel_id, interface, host(orig_ip) as orig_ip, orig_port,
      host(resp_ip) as resp_ip, resp_port, protocol, ip_proto, vlan, vlan_inner, first_seen,
      last_seen, last_seen - first_seen as duration, orig_packets, resp_packets, orig_bytes,
      resp_bytes, state, close_reason, conn_state, label, score, model_version, feature_version,
      features, updated_at, explanation
    from traffic_data where id = ${id}`;
  if (row === undefined) return null;
  return {
    ...row,
    features: row.features === null ? null : Array.from(decodeFeatureVector(row.features)),
    updated_at: row.updated_at.toISOString(),
  };
}
