import assert from "node:assert/strict";
import { openTestDatabase, type TestDatabase } from "./test_database.ts";
import type { Sql } from "./open_database.ts";
import {
  addDashboardRollupDeltas,
  DashboardRollupDeltas,
  foldDashboardHours,
  ROLLUP_OTHER,
  type RollupFlow,
} from "./dashboard_rollups.ts";
import { planFoldAhead } from "./rollup_fold_ahead.ts";

const HOUR = 490_000;
const KEEP = { hostsKept: 3, servicesKept: 4 };

function flow(hour: number, host: number, bytes: number, spanSec = 10): RollupFlow {
  const first = hour * 3600 + 100 + host;
  return {
    first_seen: first,
    last_seen: first + spanSec,
    protocol: host % 2 === 0 ? "TCP" : "UDP",
    label: "benign",
    packets: 1 + host,
    bytes,
    orig_ip: `10.0.${hour % 200}.${host}`,
    // One server an hour: the hosts' bytes stay distinct.
    resp_ip: "192.0.2.200",
    resp_port: 1000 + host,
  };
}

/**
 * Five hours of ten clients and a server each (distinct whole bytes); the
 * first three are due at once.
 */
function fiveHours(): RollupFlow[] {
  const flows: RollupFlow[] = [];
  for (let h = 0; h < 5; h++) {
    for (let host = 0; host < 10; host++) {
      flows.push(flow(HOUR + h, host, 1000 * h + 37 * host + 1));
    }
  }
  return flows;
}

function deltasOf(flows: readonly RollupFlow[]): DashboardRollupDeltas {
  const deltas = new DashboardRollupDeltas();
  for (const f of flows) deltas.addFlow(f, 1);
  return deltas;
}

async function tables(sql: Sql): Promise<string[]> {
  const out: string[] = [];
  for (
    const table of [
      "dashboard_minute",
      "dashboard_class_minute",
      "dashboard_host_hour",
      "dashboard_service_hour",
      "dashboard_open_hour",
    ]
  ) {
    const rows = await sql<{ row: string }[]>`
      select ${table} || ' ' || (to_jsonb(t))::text as row from ${sql(table)} t order by 1`;
    for (const { row } of rows) out.push(row);
  }
  return out;
}

async function clear(sql: Sql): Promise<void> {
  await sql`truncate dashboard_minute, dashboard_class_minute, dashboard_host_hour,
    dashboard_service_hour, dashboard_open_hour`;
}

/** Writes `flows` (after `before`, written and folded first) with or without folding ahead. */
async function write(
  db: TestDatabase,
  flows: readonly RollupFlow[],
  ahead: boolean,
  before: readonly RollupFlow[] = [],
): Promise<{ planned: string; rows: string[] }> {
  await clear(db.sql);
  return await db.sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    if (before.length > 0) {
      await addDashboardRollupDeltas(tx, deltasOf(before));
      await foldDashboardHours(tx, KEEP);
    }
    const deltas = deltasOf(flows);
    const plan = ahead
      ? await planFoldAhead(tx, deltas, [], { other: ROLLUP_OTHER, ...KEEP })
      : null;
    await addDashboardRollupDeltas(tx, deltas, { foldAhead: plan });
    await foldDashboardHours(tx, KEEP);
    const planned = plan === null
      ? "none"
      : `${plan.otherHosts.length} hosts, ${plan.otherServices.length} services`;
    return { planned, rows: await tables(tx) };
  });
}

Deno.test({
  name: "planFoldAhead() leaves out what the fold removes and the tables come out the same",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      await t.step("whole numbers in new hours are folded ahead", async () => {
        const flows = fiveHours();
        const usual = await write(db, flows, false);
        const ahead = await write(db, flows, true);
        assert.equal(ahead.planned, "3 hosts, 3 services");
        assert.deepEqual(ahead.rows, usual.rows);
        assert.ok(usual.rows.some((row) => row.includes(`"ip": "other"`)));
      });

      await t.step("a fraction in what goes to `other` writes and folds as before", async () => {
        // An hour long from 20 minutes before the end of hour 1: 1/3 of its
        // bytes there, 2/3 in hour 2, for hosts that rank low in both.
        const flows = [...fiveHours(), {
          ...flow(HOUR + 1, 0, 10),
          first_seen: (HOUR + 1) * 3600 + 2400,
          last_seen: (HOUR + 2) * 3600 + 2400,
        }];
        const usual = await write(db, flows, false);
        const ahead = await write(db, flows, true);
        assert.equal(ahead.planned, "none");
        assert.deepEqual(ahead.rows, usual.rows);
      });

      await t.step(
        "bytes tied at the cut are ranked by the key, as the fold ranks them",
        async () => {
          const flows = fiveHours();
          // Hour 0's third and fourth biggest hosts tie: after the server,
          // clients 9, 8 and 7, now as big as 8.
          const tied = flows.find((f) => f.first_seen === HOUR * 3600 + 100 + 7)!;
          tied.bytes = 37 * 8 + 1;
          const usual = await write(db, flows, false);
          const ahead = await write(db, flows, true);
          assert.equal(ahead.planned, "3 hosts, 3 services");
          assert.deepEqual(ahead.rows, usual.rows);
        },
      );

      await t.step("IPv6 addresses tied at the cut are ranked by their stored text", async () => {
        // Spelled long here, stored short: "2001:db8:0:0:0:0:0:a" is "2001:db8::a".
        const flows = fiveHours().map((f, i) => ({
          ...f,
          orig_ip: `2001:db8:0:0:0:0:${i % 10 === 3 ? "1" : "0"}:${(17 - (i % 10)).toString(16)}`,
          bytes: Math.floor(f.bytes / 1000) * 1000 + (i % 10 < 6 ? 5 : 9),
        }));
        const usual = await write(db, flows, false);
        const ahead = await write(db, flows, true);
        assert.equal(ahead.planned, "3 hosts, 3 services");
        assert.deepEqual(ahead.rows, usual.rows);
      });

      await t.step("an hour with rows stored already writes and folds as before", async () => {
        const earlier = [flow(HOUR + 1, 3, 5), flow(HOUR + 4, 3, 5)];
        const flows = fiveHours();
        const usual = await write(db, flows, false, earlier);
        const ahead = await write(db, flows, true, earlier);
        assert.equal(ahead.planned, "none");
        assert.deepEqual(ahead.rows, usual.rows);
      });

      await t.step("an hour the pass's other deltas touch is not folded ahead", async () => {
        const deltas = deltasOf(fiveHours());
        const others = deltasOf([flow(HOUR, 3, 5)]);
        const plan = await db.sql.begin((tx) =>
          planFoldAhead(tx as unknown as Sql, deltas, [others], { other: ROLLUP_OTHER, ...KEEP })
        );
        assert.equal(plan, null);
      });
    } finally {
      await db.close();
    }
  },
});
