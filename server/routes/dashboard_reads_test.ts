/**
 * The dashboard's cheaper reads (issue 12) against the plain answers they
 * replaced: flows seen in a rolled-up period, counted from the minutes after
 * its start, against a count over `traffic_data`; agents reporting, from each
 * agent's newest batch, against the distinct agents of the period's batches;
 * top talkers and services of 15 min against a GROUP BY over the flows.
 */
import assert from "node:assert/strict";
import { agentsReporting, DASHBOARD_PERIODS, readDashboard } from "@traffic-analyzer/shared/db";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { mulberry32 } from "@traffic-analyzer/shared/random";
import { insertFlow } from "../_test_app.ts";

const NOW_SEC = 1_764_003_600;

Deno.test({
  name: "dashboard reads equal the plain queries over traffic_data and ingest_batches",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const next = mulberry32(12);
      // 120 flows over the last 8 days, a third of them in the last hour,
      // some long (up to 2 days) and some at an instant; times not on whole
      // seconds, so none falls exactly on a period's edge.
      for (let i = 0; i < 120; i++) {
        const recent = i % 3 === 0;
        const first = NOW_SEC - 1.25 - (recent ? 3600 : 8 * 86_400) * next();
        const span = i % 7 === 0 ? 2 * 86_400 * next() : i % 5 === 0 ? 0 : 120 * next();
        await insertFlow(db, i, {
          first_seen: first,
          last_seen: Math.min(first + span, NOW_SEC - 0.5),
          orig_ip: `10.0.${i % 3}.${i % 11}`,
          resp_ip: `10.1.0.${i % 5}`,
          resp_port: [80, 443, 53][i % 3],
          protocol: ["TCP", "TCP", "UDP"][i % 3],
          ip_proto: [6, 6, 17][i % 3],
          orig_bytes: 100 + i * 37,
          resp_bytes: (i * 101) % 997,
          label: i % 4 === 0 ? "portscan" : "benign",
        });
      }

      for (const period of ["15m", "1h", "24h", "7d"] as const) {
        await t.step(`flows seen and top lists, ${period}`, async () => {
          const data = await readDashboard(db.sql, { period, nowSec: NOW_SEC });
          assert.equal(data.end_sec - data.start_sec, DASHBOARD_PERIODS[period]);
          const [{ n }] = await db.sql<{ n: number }[]>`
            select count(*)::int8 as n from traffic_data
            where last_seen >= ${data.start_sec}::float8 and first_seen <= ${data.end_sec}::float8`;
          assert.ok(Number(n) > 0);
          assert.equal(data.headline.flows_seen, Number(n));
          if (period !== "15m" && period !== "1h") return;
          // The top lists of these periods come from the flows, each end's share inside.
          const share = db.sql`case when last_seen > first_seen
            then (least(last_seen, ${data.end_sec}::float8)
              - greatest(first_seen, ${data.start_sec}::float8)) / (last_seen - first_seen)
            else 1 end`;
          const inPeriod = db.sql`last_seen >= ${data.start_sec}::float8
            and first_seen <= ${data.end_sec}::float8`;
          const talkers = await db.sql<{ ip: string; bytes: number; flows: number }[]>`
            select ip, sum(bytes)::float8 as bytes, count(*)::int8 as flows from (
              select host(orig_ip) as ip, (orig_bytes + resp_bytes) * ${share} as bytes
                from traffic_data where ${inPeriod}
              union all
              select host(resp_ip), (orig_bytes + resp_bytes) * ${share}
                from traffic_data where ${inPeriod}
            ) as ends group by ip order by sum(bytes) desc, ip limit 10`;
          assert.deepEqual(
            data.top_talkers.map((r) => [r.ip, r.bytes, r.flows]),
            talkers.map((r) => [r.ip, Math.round(r.bytes), Number(r.flows)]),
          );
          const services = await db.sql<{ port: number; flows: number }[]>`
            select resp_port as port, count(*)::int8 as flows from traffic_data
            where ${inPeriod} group by protocol, resp_port
            order by sum((orig_bytes + resp_bytes) * ${share}) desc, 2 desc, 1`;
          assert.deepEqual(
            data.top_services.map((r) => [r.port, r.flows]),
            services.map((r) => [r.port, Number(r.flows)]),
          );
        });
      }

      await t.step("agents reporting", async () => {
        // Four agents; the last one silent for two days.
        const ages: [string, number][] = [];
        for (let i = 0; i < 200; i++) {
          const agent = `sensor-${i % 4}`;
          ages.push([agent, (i % 4 === 3 ? 2 * 86_400 : 0) + 86_400 * next()]);
        }
        await db.sql`
          insert into ingest_batches (agent_id, idempotency_key, record_count, body_sha256,
            received_at)
          select a, 'k' || n, 1, 'x', now() - make_interval(secs => s)
          from unnest(${ages.map((a) => a[0])}::text[], ${ages.map((a) => a[1])}::float8[])
            with ordinality as u (a, s, n)`;
        for (const withinSec of [60, 900, 3600, 86_400, 3 * 86_400, 7 * 86_400]) {
          // One transaction: both see the same now().
          await db.sql.begin(async (txRaw) => {
            const tx = txRaw as unknown as typeof db.sql;
            const [plain] = await tx<{ agents: number; last: Date | null }[]>`
              select count(distinct agent_id)::int8 as agents, max(received_at) as last
              from ingest_batches
              where received_at >= now() - make_interval(secs => ${withinSec})`;
            const got = await agentsReporting(tx, withinSec);
            assert.deepEqual(got, {
              agents: Number(plain.agents),
              last_batch_at: plain.last?.toISOString() ?? null,
            }, `within ${withinSec} s`);
          });
        }
        assert.equal((await agentsReporting(db.sql, 3 * 86_400)).agents, 4);
        assert.equal((await agentsReporting(db.sql, 86_400)).agents, 3);
      });
    } finally {
      await db.close();
    }
  },
});
