import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { migrate, readMigrations } from "./migrate.ts";
import { upsertFlows } from "./upsert_flows.ts";
import type { Sql } from "./open_database.ts";
import { sampleFlowUpsert } from "./_sample_flow_upsert.ts";
import { rollupsFromFlows, storedRollups } from "./_dashboard_rollup_reference.ts";
import {
  addDashboardRollupDeltas,
  DashboardRollupDeltas,
  foldDashboardHours,
  ROLLUP_SPREAD_MAX_SEC,
  type RollupFlow,
} from "./dashboard_rollups.ts";

const HOUR = 490_000; // 1_764_000_000 / 3600

Deno.test({
  name: "migration 020 builds the roll-ups from the flows stored before it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const migrations = await readMigrations();
    const db = await openTestDatabase({ migrations: migrations.filter((m) => m.version < 20) });
    try {
      // Five hours of flows: short ones every 7 minutes, every fifth lasting
      // 80 minutes; TCP, UDP, ICMP; three classes and unscored ones.
      const flows = Array.from({ length: 45 }, (_, i) => {
        const first = HOUR * 3600 + i * 420 + 0.25;
        return sampleFlowUpsert(i, null, {
          orig_ip: `10.0.0.${i % 6}`,
          protocol: ["TCP", "UDP", "ICMP"][i % 3],
          resp_port: i % 3 === 2 ? null : [443, 53][i % 3],
          first_seen: first,
          last_seen: first + (i % 5 === 0 ? 4800 : i % 4),
          orig_packets: 1 + i,
          orig_bytes: 100 * (1 + i),
          label: i % 7 === 0 ? null : ["benign", "portscan", "syn_flood"][i % 3],
        });
      });
      await db.sql.begin((tx) => upsertFlows(tx as unknown as Sql, flows));
      await migrate(db.sql, { migrations });
      const stored = await storedRollups(db.sql);
      assert.deepEqual(stored, await rollupsFromFlows(db.sql));
      assert.ok(stored.minute.length > 45 && stored.hosts.length > 6 && stored.services.length > 0);
      // Seven hours (the last long flow ends at HOUR + 6); all but the newest
      // two are folded, each with its `other` row (empty here: few hosts).
      const [{ folded }] = await db.sql<{ folded: number }[]>`
        select count(*)::int as folded from dashboard_host_hour where ip = 'other'`;
      assert.equal(folded, 5);
    } finally {
      await db.close();
    }
  },
});

function flowAt(hour: number, ip: string, bytes: number, port = 443): RollupFlow {
  return {
    first_seen: hour * 3600 + 10,
    last_seen: hour * 3600 + 20,
    protocol: "TCP",
    label: "benign",
    packets: 1,
    bytes,
    orig_ip: ip,
    resp_ip: "192.0.2.1",
    resp_port: port,
  };
}

Deno.test({
  name: "a folded hour keeps its biggest rows, sends the rest and later deltas to 'other'",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const deltas = new DashboardRollupDeltas();
      for (let i = 1; i <= 5; i++) deltas.addFlow(flowAt(HOUR, `10.0.0.${i}`, 1000 * i, i), 1);
      deltas.addFlow(flowAt(HOUR + 1, "10.0.0.1", 1), 1);
      await addDashboardRollupDeltas(db.sql, deltas);
      // The newest two hours stay open.
      assert.equal(await foldDashboardHours(db.sql, { hostsKept: 2, servicesKept: 2 }), 0);
      const later = new DashboardRollupDeltas();
      later.addFlow(flowAt(HOUR + 2, "10.0.0.9", 1), 1);
      await addDashboardRollupDeltas(db.sql, later);
      assert.equal(await foldDashboardHours(db.sql, { hostsKept: 2, servicesKept: 2 }), 1);

      const hosts = async () =>
        (await db.sql<{ ip: string; bytes: number; flows: number }[]>`
          select ip, bytes, flows from dashboard_host_hour where hour = ${HOUR}
          order by bytes desc, ip`).map((r) => `${r.ip} ${r.bytes} ${r.flows}`);
      // 192.0.2.1 answered all five (15000 bytes); 10.0.0.5 is next; the rest add up.
      assert.deepEqual(await hosts(), ["192.0.2.1 15000 5", "other 10000 4", "10.0.0.5 5000 1"]);
      const services = await db.sql<{ port: number; bytes: number }[]>`
        select port, bytes from dashboard_service_hour where hour = ${HOUR} order by bytes desc`;
      assert.deepEqual(services.map((r) => `${r.port} ${r.bytes}`), [
        "0 6000",
        "5 5000",
        "4 4000",
      ]);

      // A later change to a host the hour no longer lists lands in `other`;
      // one to a listed host, in its row: the hour's totals stay exact.
      const update = new DashboardRollupDeltas();
      update.addFlow(flowAt(HOUR, "10.0.0.1", 1000, 1), -1);
      update.addFlow(flowAt(HOUR, "10.0.0.1", 1500, 1), 1);
      update.addFlow(flowAt(HOUR, "10.0.0.5", 500, 5), 1);
      await addDashboardRollupDeltas(db.sql, update);
      assert.deepEqual(await hosts(), [
        "192.0.2.1 16000 6",
        "other 10500 4",
        "10.0.0.5 5500 2",
      ]);
      const [{ total }] = await db.sql<{ total: number }[]>`
        select sum(bytes)::float8 as total from dashboard_service_hour where hour = ${HOUR}`;
      assert.equal(total, 16000);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "adding deltas leaves the transaction's jit setting as it found it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const deltas = new DashboardRollupDeltas();
      deltas.addFlow(flowAt(HOUR, "10.0.0.1", 1000), 1);
      const settings = await db.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        await tx`select set_config('jit', 'on', true)`;
        await addDashboardRollupDeltas(tx, deltas);
        const [{ jit }] = await tx<{ jit: string }[]>`select current_setting('jit') as jit`;
        const [{ bytes }] = await tx<{ bytes: number }[]>`
          select bytes from dashboard_host_hour where hour = ${HOUR} and ip = '10.0.0.1'`;
        return [jit, bytes];
      });
      assert.deepEqual(settings, ["on", 1000]);
    } finally {
      await db.close();
    }
  },
});

Deno.test("a flow stamped over decades adds its first slot and its last 8 days, not millions of rows", () => {
  const deltas = new DashboardRollupDeltas();
  const last = 1_900_000_000;
  deltas.addFlow({
    first_seen: 0,
    last_seen: last,
    protocol: "TCP",
    label: "benign",
    packets: 10,
    bytes: 1000,
    orig_ip: "10.0.0.1",
    resp_ip: "10.0.0.2",
    resp_port: 80,
  }, 1);
  const minutes = deltas.traffic().map((c) => c.minute);
  assert.ok(minutes.length <= ROLLUP_SPREAD_MAX_SEC / 60 + 2, `${minutes.length} minute rows`);
  assert.ok(minutes.includes(0), "the first minute, where the flow started");
  assert.ok(minutes.includes(Math.floor(last / 60)), "the last minute");
  assert.ok(deltas.hosts().length <= 2 * (ROLLUP_SPREAD_MAX_SEC / 3600 + 2));
});
