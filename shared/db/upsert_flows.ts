/**
 * Flow rows into `traffic_data`: {@linkcode FlowUpsert}, one row as the
 * aggregator writes it, and {@linkcode upsertFlows}, which inserts new flows
 * and updates changed ones in statements of bounded size.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { pgArrayColumn, pgArrayLiteral } from "./pg_array_literal.ts";
import type { FeatureContribution } from "../explain/flow_explainer.ts";
import type { FlowAppFields } from "../flow/flow_app_fold.ts";
import type { FlowEnrichmentFields } from "../enrich/flow_enricher.ts";
import { FEATURE_VALUE_BYTES, writeFeatureVector } from "./feature_vector_bytes.ts";

/** One flow row to insert or update in `traffic_data`. */
export interface FlowUpsert extends FlowAppFields, FlowEnrichmentFields {
  /** The flow's uid (stable across passes; Zeek-style). */
  flow_uid: string;
  /** Community ID v1 of the flow's 5-tuple, or null when it has none. */
  community_id: string | null;
  /** Capture interface the flow was seen on, or null when unknown. */
  interface: string | null;
  /** The agent whose packets made the flow (null: none named). */
  agent: string | null;
  /** The tunnel the flow was keyed on (`vxlan`, `geneve`, `gre`, `erspan`, `pppoe`), or null. */
  tunnel_type: string | null;
  /** That tunnel's id (VNI, GRE key, session), or null. */
  tunnel_id: number | null;
  /** Originator (client) address, or null for a flow without IP. */
  orig_ip: string | null;
  /** Originator port, or null for a protocol without ports. */
  orig_port: number | null;
  /** Responder (server) address, or null for a flow without IP. */
  resp_ip: string | null;
  /** Responder port, or null for a protocol without ports. */
  resp_port: number | null;
  /** Transport protocol name (`tcp`, `udp`, `icmp`, ...). */
  protocol: string;
  /** IP protocol number, or null for a flow without IP. */
  ip_proto: number | null;
  /** Outer VLAN id, or null when untagged. */
  vlan: number | null;
  /** Inner (second) VLAN id, or null. */
  vlan_inner: number | null;
  /** Capture time of the first packet, epoch seconds. */
  first_seen: number;
  /** Capture time of the last packet, epoch seconds. */
  last_seen: number;
  /** Packets from the originator. */
  orig_packets: number;
  /** Packets from the responder. */
  resp_packets: number;
  /** Bytes on the wire from the originator. */
  orig_bytes: number;
  /** Bytes on the wire from the responder. */
  resp_bytes: number;
  /** Whether the flow may still grow (`active`) or has ended (`closed`). */
  state: "active" | "closed";
  /** Why the flow ended (FIN, RST, idle timeout, ...), or null while active. */
  close_reason: string | null;
  /** Zeek-style connection state (`S0`, `SF`, `REJ`, ...), or null. */
  conn_state: string | null;
  /**
   * The feature vector the model scored, stored as big-endian float32 bytes
   * (see `writeFeatureVector`); a non-finite value is stored as 0.
   */
  features: Float32Array | null;
  /** Version of the feature vector's layout, or null before scoring. */
  feature_version: number | null;
  /** The model's class for the flow, or null before scoring. */
  label: string | null;
  /** The model's probability that the flow is not benign, or null before scoring. */
  score: number | null;
  /** Version of the model that scored the flow, or null before scoring. */
  model_version: string | null;
  /**
   * Top TreeSHAP contributions to the score, for a flow scored at least
   * ALERT_MIN_SCORE; null for the others (and when the model has no covers).
   */
  explanation: FeatureContribution[] | null;
}

/** The `explanation` column of a chunk as an array literal of JSON texts. */
function explanationColumn(flows: readonly FlowUpsert[]): string {
  return pgArrayLiteral(
    flows.map((f) => (f.explanation === null ? null : JSON.stringify(f.explanation))),
  );
}

/**
 * Inserts new flows and updates changed ones by `flow_uid`.
 * Rows with the same uid must not repeat within a call.
 */
export async function upsertFlows(tx: Sql, flows: readonly FlowUpsert[]): Promise<number> {
  // Statements of bounded size: a pass can touch hundreds of thousands of
  // flows, and one literal per column of all of them runs to hundreds of MB.
  // Each statement is sent as soon as it is built and awaited only after the
  // next one is built, so PostgreSQL works on one while this process formats
  // the next.
  let written = 0;
  let inFlight: Promise<number> | null = null;
  for (let i = 0; i < flows.length; i += UPSERT_CHUNK_ROWS) {
    const sent = upsertFlowChunk(tx, flows.slice(i, i + UPSERT_CHUNK_ROWS));
    // If an earlier chunk fails first, this one's (consequent) failure is
    // never awaited; the transaction reports the first.
    sent.catch(() => {});
    if (inFlight) written += await inFlight;
    inFlight = sent;
  }
  if (inFlight) written += await inFlight;
  return written;
}

// Measured on PostgreSQL 15 with 300k flows: 2500 and 20000 were both slower.
const UPSERT_CHUNK_ROWS = 5000;

/**
 * The feature vectors of a chunk as one bytea parameter (postgres.js sends a
 * Uint8Array hex-encoded, which PostgreSQL decodes far faster than it parses
 * decimal floats), with each row's byte offset into it and byte length as
 * array literals (null for a row without a vector).
 */
function featureColumns(flows: readonly FlowUpsert[]) {
  let total = 0;
  for (const flow of flows) total += (flow.features?.length ?? 0) * FEATURE_VALUE_BYTES;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let offsets = "{";
  let lengths = "{";
  let at = 0;
  for (let i = 0; i < flows.length; i++) {
    const vector = flows[i].features;
    const sep = i ? "," : "";
    if (vector === null) {
      offsets += sep + "NULL";
      lengths += sep + "NULL";
    } else {
      offsets += sep + at;
      lengths += sep + vector.length * FEATURE_VALUE_BYTES;
      at = writeFeatureVector(view, at, vector);
    }
  }
  return { bytes, offsets: offsets + "}", lengths: lengths + "}" };
}

/** Sends one chunk's statement at once; resolves to the rows written. */
function upsertFlowChunk(tx: Sql, flows: readonly FlowUpsert[]): Promise<number> {
  if (flows.length === 0) return Promise.resolve(0);
  const c = <K extends Exclude<keyof FlowUpsert, "features" | "explanation">>(key: K) =>
    pgArrayColumn(flows, key);
  const features = featureColumns(flows);
  const query = tx`
    insert into traffic_data (
      flow_uid, community_id, interface, orig_ip, orig_port, resp_ip, resp_port, protocol,
      ip_proto, vlan, vlan_inner, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
      resp_bytes, state, close_reason, conn_state, features, feature_version, label, score,
      model_version, explanation, agent, tunnel_type, tunnel_id, updated_at,
      app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_query_count, dns_names,
      tls_sni, tls_alpn, tls_ja3, tls_ja4, tls_version, tls_cipher, http_method, http_host,
      http_path, http_user_agent, http_status, ssh_client, ssh_server, dhcp_hostname, orig_scope,
      orig_country, orig_asn, orig_as_org, resp_scope, resp_country, resp_asn, resp_as_org
    )
    select u.flow_uid, u.community_id, u.interface, u.orig_ip, u.orig_port, u.resp_ip,
      u.resp_port, u.protocol, u.ip_proto, u.vlan, u.vlan_inner, u.first_seen, u.last_seen,
      u.orig_packets, u.resp_packets, u.orig_bytes, u.resp_bytes, u.state, u.close_reason,
      u.conn_state,
      substring(${features.bytes}::bytea from u.features_offset + 1 for u.features_length),
      u.feature_version, u.label, u.score, u.model_version, u.explanation, u.agent, u.tunnel_type,
      u.tunnel_id, now(),
      u.app_protocol, u.dns_query, u.dns_qtype, u.dns_rcode, u.dns_answers, u.dns_query_count,
      u.dns_names, u.tls_sni, u.tls_alpn, u.tls_ja3, u.tls_ja4, u.tls_version, u.tls_cipher,
      u.http_method, u.http_host, u.http_path, u.http_user_agent, u.http_status, u.ssh_client,
      u.ssh_server, u.dhcp_hostname, u.orig_scope, u.orig_country, u.orig_asn, u.orig_as_org,
      u.resp_scope, u.resp_country, u.resp_asn, u.resp_as_org
    from unnest(
      ${c("flow_uid")}::text::text[], ${c("community_id")}::text::text[],
      ${c("interface")}::text::text[], ${c("orig_ip")}::text::inet[],
      ${c("orig_port")}::text::int[], ${c("resp_ip")}::text::inet[],
      ${c("resp_port")}::text::int[], ${c("protocol")}::text::text[],
      ${c("ip_proto")}::text::smallint[], ${c("vlan")}::text::int[],
      ${c("vlan_inner")}::text::int[], ${c("first_seen")}::text::float8[],
      ${c("last_seen")}::text::float8[], ${c("orig_packets")}::text::int8[],
      ${c("resp_packets")}::text::int8[], ${c("orig_bytes")}::text::int8[],
      ${c("resp_bytes")}::text::int8[], ${c("state")}::text::text[],
      ${c("close_reason")}::text::text[], ${c("conn_state")}::text::text[],
      ${features.offsets}::text::int[], ${features.lengths}::text::int[],
      ${c("feature_version")}::text::smallint[], ${c("label")}::text::text[],
      ${c("score")}::text::real[], ${c("model_version")}::text::text[],
      ${explanationColumn(flows)}::text::jsonb[],
      ${c("agent")}::text::text[], ${c("tunnel_type")}::text::text[],
      ${c("tunnel_id")}::text::int8[],
      ${c("app_protocol")}::text::text[], ${c("dns_query")}::text::text[],
      ${c("dns_qtype")}::text::int[], ${c("dns_rcode")}::text::smallint[],
      ${c("dns_answers")}::text::text[], ${c("dns_query_count")}::text::int[],
      ${c("dns_names")}::text::text[], ${c("tls_sni")}::text::text[],
      ${c("tls_alpn")}::text::text[], ${c("tls_ja3")}::text::text[], ${c("tls_ja4")}::text::text[],
      ${c("tls_version")}::text::int[], ${c("tls_cipher")}::text::int[],
      ${c("http_method")}::text::text[], ${c("http_host")}::text::text[],
      ${c("http_path")}::text::text[], ${c("http_user_agent")}::text::text[],
      ${c("http_status")}::text::smallint[], ${c("ssh_client")}::text::text[],
      ${c("ssh_server")}::text::text[], ${c("dhcp_hostname")}::text::text[],
      ${c("orig_scope")}::text::text[], ${c("orig_country")}::text::text[],
      ${c("orig_asn")}::text::int8[], ${c("orig_as_org")}::text::text[],
      ${c("resp_scope")}::text::text[], ${c("resp_country")}::text::text[],
      ${c("resp_asn")}::text::int8[], ${c("resp_as_org")}::text::text[]
    ) as u(
      flow_uid, community_id, interface, orig_ip, orig_port, resp_ip, resp_port, protocol,
      ip_proto, vlan, vlan_inner, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
      resp_bytes, state, close_reason, conn_state, features_offset, features_length,
      feature_version, label, score, model_version, explanation, agent, tunnel_type, tunnel_id,
      app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_query_count, dns_names,
      tls_sni, tls_alpn, tls_ja3, tls_ja4, tls_version, tls_cipher, http_method, http_host,
      http_path, http_user_agent, http_status, ssh_client, ssh_server, dhcp_hostname, orig_scope,
      orig_country, orig_asn, orig_as_org, resp_scope, resp_country, resp_asn, resp_as_org
    )
    on conflict (flow_uid) do update set
      community_id = excluded.community_id, last_seen = excluded.last_seen,
      orig_packets = excluded.orig_packets, resp_packets = excluded.resp_packets,
      orig_bytes = excluded.orig_bytes, resp_bytes = excluded.resp_bytes,
      state = excluded.state, close_reason = excluded.close_reason,
      conn_state = excluded.conn_state, features = excluded.features,
      feature_version = excluded.feature_version,
      label = excluded.label, score = excluded.score, model_version = excluded.model_version,
      explanation = excluded.explanation, updated_at = excluded.updated_at,
      app_protocol = excluded.app_protocol, dns_query = excluded.dns_query,
      dns_qtype = excluded.dns_qtype, dns_rcode = excluded.dns_rcode,
      dns_answers = excluded.dns_answers, dns_query_count = excluded.dns_query_count,
      dns_names = excluded.dns_names, tls_sni = excluded.tls_sni, tls_alpn = excluded.tls_alpn,
      tls_ja3 = excluded.tls_ja3, tls_ja4 = excluded.tls_ja4, tls_version = excluded.tls_version,
      tls_cipher = excluded.tls_cipher, http_method = excluded.http_method,
      http_host = excluded.http_host, http_path = excluded.http_path,
      http_user_agent = excluded.http_user_agent, http_status = excluded.http_status,
      ssh_client = excluded.ssh_client, ssh_server = excluded.ssh_server,
      dhcp_hostname = excluded.dhcp_hostname, orig_scope = excluded.orig_scope,
      orig_country = excluded.orig_country, orig_asn = excluded.orig_asn,
      orig_as_org = excluded.orig_as_org, resp_scope = excluded.resp_scope,
      resp_country = excluded.resp_country, resp_asn = excluded.resp_asn,
      resp_as_org = excluded.resp_as_org`;
  // execute() sends it now rather than when first awaited.
  return query.execute().then((result) => result.count);
}
