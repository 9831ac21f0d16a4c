/**
 * A flow with its prediction, its features (name, value, unit from
 * `models/FEATURES.md`) and one page of its raw packets: what
 * `GET /api/flows/{id}` returns and `/flows/{id}` shows.
 *
 * @module
 */
import {
  type ExportPacketRow,
  type FlowAppDetail,
  type FlowDetailRow,
  type FlowKeyRow,
  oldestStoredPacketDay,
  readFlowApp,
  readFlowDetail,
  selectedPackets,
  type Sql,
} from "@traffic-analyzer/shared/db";
import type { FeatureInfo } from "./feature_catalog.ts";

/** One stored packet of a flow, with its decoded fields and its direction. */
export type FlowPacket = Omit<ExportPacketRow, "bytes" | "received_at"> & {
  /** `orig` (originator to responder) or `resp`. */
  direction: "orig" | "resp";
  /** Whether the captured bytes are stored (else the pcap rebuilds it from headers). */
  has_bytes: boolean;
  received_at: string;
};

/** Where the flow's packets stand. */
export interface FlowPacketsState {
  /** `stored`; `expired` (raw-packet retention removed them); `missing` (none stored). */
  status: "stored" | "expired" | "missing";
  /** A sentence for a person, or null when all is stored. */
  note: string | null;
  /** The oldest day whose packets are kept, or null. */
  oldest_stored_day: string | null;
}

/** One page of a flow's packets. */
export interface FlowPacketPage {
  packets: FlowPacket[];
  /** Pass as `after` for the next page; null on the last. */
  next_cursor: string | null;
  state: FlowPacketsState;
}

/** The flow detail answer. */
export interface FlowDetailView {
  flow: Omit<FlowDetailRow, "features" | "explanation">;
  prediction: {
    label: string | null;
    score: number | null;
    model_version: string | null;
    /**
     * Every class's probability, when stored. The aggregator stores the label
     * and score only (score = 1 − P(benign)), so this is null today.
     */
    class_probabilities: Record<string, number> | null;
    /**
     * Why the flow scored as it did: the five features whose exact TreeSHAP
     * contributions to the raw forest score were largest (either sign), with
     * the flow's values. Stored for flows scored at least ALERT_MIN_SCORE;
     * null for the others.
     */
    explanation: FlowDetailRow["explanation"];
  };
  /** The model's input vector with names and units, or null for an unscored flow. */
  features: (FeatureInfo & { value: number | null })[] | null;
  /** Why the features cannot be shown by name, or null. */
  features_note: string | null;
  /** Application metadata (DNS, TLS, HTTP, SSH, DHCP) of the flow. */
  app: FlowAppDetail;
}

/** Encodes a packet page position. */
export function encodePacketCursor(row: { timestamp: number; id: number }): string {
  return `${row.timestamp}_${row.id}`;
}

/** Decodes {@link encodePacketCursor}; null when it is not one. */
export function decodePacketCursor(text: string): { timestamp: number; id: number } | null {
  const match = /^(\d{1,12}(?:\.\d{1,9})?)_(\d{1,18})$/.exec(text);
  if (match === null) return null;
  const id = Number(match[2]);
  return Number.isSafeInteger(id) ? { timestamp: Number(match[1]), id } : null;
}

/** The flow, prediction and features; null when there is no such flow. */
export async function readFlowDetailView(
  sql: Sql,
  id: number,
  catalog: { version: number; features: FeatureInfo[] },
): Promise<FlowDetailView | null> {
  const [row, app] = await Promise.all([readFlowDetail(sql, id), readFlowApp(sql, id)]);
  if (row === null || app === null) return null;
  const { features: vector, explanation, ...flow } = row;
  let features: FlowDetailView["features"] = null;
  let featuresNote: string | null = null;
  if (vector === null) {
    featuresNote = "This flow has not been scored yet: it has no feature vector.";
  } else if (row.feature_version !== catalog.version) {
    featuresNote = `This flow was scored with feature version ${row.feature_version}; this ` +
      `server knows version ${catalog.version}, so the values cannot be named.`;
  } else {
    features = catalog.features.map((f) => ({
      ...f,
      value: Number.isFinite(vector[f.index]) ? vector[f.index] : null,
    }));
  }
  return {
    flow,
    prediction: {
      label: row.label,
      score: row.score,
      model_version: row.model_version,
      class_probabilities: null,
      explanation,
    },
    features,
    features_note: featuresNote,
    app,
  };
}

/** The flow's key, as pcap export matches packets by it. */
function keyOf(flow: FlowDetailView["flow"]): FlowKeyRow {
  return {
    id: flow.id,
    orig_ip: flow.orig_ip,
    orig_port: flow.orig_port,
    resp_ip: flow.resp_ip,
    resp_port: flow.resp_port,
    protocol: flow.protocol,
    ip_proto: flow.ip_proto,
    vlan: flow.vlan,
    vlan_inner: flow.vlan_inner,
    agent: flow.agent,
    tunnel_type: flow.tunnel_type,
    tunnel_id: flow.tunnel_id,
    first_seen: flow.first_seen,
    last_seen: flow.last_seen,
    orig_packets: flow.orig_packets,
    resp_packets: flow.resp_packets,
    updated_at: new Date(flow.updated_at),
  };
}

/** Options for {@link readFlowPacketPage}. */
export interface FlowPacketPageOptions {
  /** Packets per page. */
  limit: number;
  /** Continue after this position (a previous page's `next_cursor`). */
  after: { timestamp: number; id: number } | null;
}

/** One page of the flow's stored packets, oldest first, and whether retention removed them. */
export async function readFlowPacketPage(
  sql: Sql,
  flow: FlowDetailView["flow"],
  options: FlowPacketPageOptions,
): Promise<FlowPacketPage> {
  const oldestDay = await oldestStoredPacketDay(sql);
  if (flow.orig_ip === null || flow.resp_ip === null) {
    return {
      packets: [],
      next_cursor: null,
      state: {
        status: "missing",
        note: "This flow has no IP addresses (an Ethernet-only conversation): its packets " +
          "cannot be matched by address.",
        oldest_stored_day: oldestDay,
      },
    };
  }
  const rows: ExportPacketRow[] = [];
  for await (
    const chunk of selectedPackets(sql, { kind: "flow", flow: keyOf(flow) }, {
      limit: options.limit + 1,
      chunkRows: options.limit + 1,
      after: options.after,
    })
  ) rows.push(...chunk);
  const more = rows.length > options.limit;
  const page = rows.slice(0, options.limit);
  const packets = page.map(({ bytes, received_at, ...packet }): FlowPacket => ({
    ...packet,
    received_at: received_at.toISOString(),
    has_bytes: bytes !== null,
    direction: packet.src_ip === flow.orig_ip &&
        (packet.src_ip !== flow.resp_ip || packet.src_port === flow.orig_port)
      ? "orig"
      : "resp",
  }));
  let state: FlowPacketsState = { status: "stored", note: null, oldest_stored_day: oldestDay };
  if (packets.length === 0 && options.after === null) {
    const flowDay = flow.updated_at.slice(0, 10);
    state = oldestDay === null || flowDay < oldestDay
      ? {
        status: "expired",
        note: "The raw packets of this flow are no longer stored: raw-packet retention " +
          `(RAW_RETENTION_DAYS) removed them. The oldest packets kept are from ${
            oldestDay ?? "no day"
          }. The flow's record and features stay.`,
        oldest_stored_day: oldestDay,
      }
      : {
        status: "missing",
        note: "No stored raw packets match this flow: they were stored by a server that kept " +
          "no packet rows, or removed by hand.",
        oldest_stored_day: oldestDay,
      };
  }
  return {
    packets,
    next_cursor: more ? encodePacketCursor(page[page.length - 1]) : null,
    state,
  };
}
