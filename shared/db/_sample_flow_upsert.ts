import type { FlowUpsert } from "./upsert_flows.ts";
import { NO_FLOW_APP_FIELDS } from "../flow/flow_app_fold.ts";
import { NO_FLOW_ENRICHMENT } from "../enrich/flow_enricher.ts";

/**
 * A plausible flow row number `i` (uid `uid-<i>`) for tests of the flow
 * writers, with `overrides` applied.
 */
export function sampleFlowUpsert(
  i: number,
  features: Float32Array | null,
  overrides: Partial<FlowUpsert> = {},
): FlowUpsert {
  return {
    flow_uid: `uid-${i}`,
    community_id: `1:cid${i}=`,
    interface: "eth0",
    agent: "sensor-1",
    tunnel_type: null,
    tunnel_id: null,
    orig_ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
    orig_port: 40000 + (i % 20000),
    resp_ip: i % 2 ? "2001:db8::1" : "192.0.2.1",
    resp_port: 443,
    protocol: "TCP",
    ip_proto: 6,
    vlan: null,
    vlan_inner: null,
    first_seen: 1_764_000_000 + i,
    last_seen: 1_764_000_001 + i,
    orig_packets: 3,
    resp_packets: 2,
    orig_bytes: 300,
    resp_bytes: 200,
    state: "active",
    close_reason: null,
    conn_state: "S1",
    features,
    feature_version: 1,
    label: "benign",
    score: 0.25,
    model_version: "test-1",
    explanation: null,
    ...NO_FLOW_APP_FIELDS,
    ...NO_FLOW_ENRICHMENT,
    ...overrides,
  } satisfies FlowUpsert as FlowUpsert;
}
