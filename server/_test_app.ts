/**
 * Test support for the server's route tests: the whole app built over a test
 * database with small limits, a fixed clock, and helpers to ingest and to
 * insert flows.
 *
 * @module
 */
import {
  addDashboardRollupDeltas,
  DashboardRollupDeltas,
  type Database,
} from "@traffic-analyzer/shared/db";
import type { TestDatabase } from "@traffic-analyzer/shared/db/testing";
import { createApp, type CreateAppOptions } from "./app.ts";
import { createServerMetrics, type ServerMetrics } from "./server_metrics.ts";

/** The ingest token every test app accepts. */
export const TEST_TOKEN = "test-token-1";

/** An app under test and the metrics it counts into. */
export interface TestApp {
  /** The app. */
  app: ReturnType<typeof createApp>;
  /** Its metric families. */
  metrics: ServerMetrics;
}

/** Builds the app over `db` with small limits and a fixed clock (uptime 60 s). */
export function makeTestApp(
  db: Pick<Database, "sql" | "kind">,
  overrides: Partial<CreateAppOptions> = {},
): TestApp {
  const metrics = createServerMetrics();
  const app = createApp({
    sql: db.sql,
    backend: db.kind,
    ingestTokens: [TEST_TOKEN, "second-token"],
    limits: {
      maxBodyBytes: 200_000,
      maxDecompressedBytes: 400_000,
      maxBatchRecords: 1000,
    },
    clock: () => 1_000_000,
    startedAtMs: 940_000,
    metrics,
    ...overrides,
  });
  return { app, metrics };
}

/** POSTs a body to `/ingest_packets` with the test token. */
export function ingest(
  app: TestApp["app"],
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(app.request("/ingest_packets", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${TEST_TOKEN}`,
      ...headers,
    },
  }));
}

/** Rows in `raw_packets`. */
export async function countPackets(db: TestDatabase): Promise<number> {
  const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int8 as n from raw_packets`;
  return n;
}

/**
 * Inserts flow number `i` (uid `uid-<i>`, times growing with i), with fields
 * overridden, and adds it to the dashboard roll-ups as the aggregator would.
 */
export async function insertFlow(
  db: TestDatabase,
  i: number,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const row = {
    flow_uid: `uid-${i}`,
    community_id: `1:cid${i}=`,
    orig_ip: "10.0.0.1",
    orig_port: 40000 + i,
    resp_ip: "10.0.0.2",
    resp_port: 80,
    protocol: "TCP",
    ip_proto: 6,
    first_seen: 1_764_000_000 + i,
    last_seen: 1_764_000_010 + i,
    orig_packets: 3,
    resp_packets: 2,
    orig_bytes: 300,
    resp_bytes: 200,
    state: "closed",
    label: "benign",
    score: 0.9,
    model_version: "test",
    ...overrides,
  };
  await db.sql`insert into traffic_data ${db.sql(row)}`;
  // The dashboard's roll-ups follow, as when the aggregator writes a flow.
  const deltas = new DashboardRollupDeltas();
  const n = (key: keyof typeof row) => Number(row[key]);
  const text = (key: keyof typeof row) => (row[key] == null ? null : String(row[key]));
  deltas.addFlow({
    first_seen: n("first_seen"),
    last_seen: n("last_seen"),
    protocol: String(row.protocol),
    label: text("label"),
    packets: n("orig_packets") + n("resp_packets"),
    bytes: n("orig_bytes") + n("resp_bytes"),
    orig_ip: text("orig_ip"),
    resp_ip: text("resp_ip"),
    resp_port: row.resp_port == null ? null : n("resp_port"),
  }, 1);
  await addDashboardRollupDeltas(db.sql, deltas);
}
