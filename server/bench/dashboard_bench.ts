/**
 * Dashboard request time at 1 million flows on PostgreSQL, for
 * `deno task bench` (case `dashboard`): fills `traffic_data` of a fresh
 * schema with 1 M flows spread over the last 7 days (a flow every 0.6 s; TCP,
 * UDP and ICMP; a few attack classes; a few active; TLS server names, HTTP
 * hosts and DNS queries on their services' flows) and a week of batches from
 * 5 agents (one a second) under the migrations before 020, then applies the
 * rest, as an upgraded database would: 020
 * builds the dashboard roll-ups from those flows (timed), then times
 * `GET /api/dashboard?period=…` through the whole app, in-process, for
 * each period, and prints one `BENCH_METRICS {...}` line: the median and
 * the worst of the repeats, in milliseconds.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-read --allow-sys server/bench/dashboard_bench.ts --flows 1000000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { migrate, openDatabase, readMigrations } from "@traffic-analyzer/shared/db";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { createApp } from "../app.ts";

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
const PERIODS = ["15m", "1h", "24h", "7d"] as const;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    flows: { type: "string", default: "1000000" },
    repeats: { type: "string", default: "5" },
  },
});
const flows = Number(values.flows);
const repeats = Number(values.repeats);
const url = Deno.env.get("DATABASE_URL") || DEFAULT_DATABASE_URL;

const metrics: Record<string, number | string> = { flows };
const schema = await createTestSchema(url).catch((error) => {
  console.log(`BENCH_METRICS ${JSON.stringify({ skipped: `no PostgreSQL at ${url}: ${error}` })}`);
  Deno.exit(0);
});
try {
  const db = await openDatabase({ databaseUrl: schema.url, poolSize: 4 });
  try {
    const migrations = await readMigrations();
    await migrate(db.sql, { migrations: migrations.filter((m) => m.version < 20) });
    const nowSec = Math.floor(Date.now() / 1000);
    const spanSec = 7 * 86_400;
    const loadStart = performance.now();
    // 4 services on 200 servers, 65k clients; most flows short, every 100th
    // lasts up to 10 min; 3 % attacks; a fifth of the last 10 min's flows
    // active (idle timeouts close older ones). The names the dashboard shows
    // for its top hosts and services: a TLS server name on every 443 flow
    // (three per server), an HTTP Host on every other port 80 flow, a DNS
    // query (1000 names) on every port 53 flow.
    await db.sql`
      insert into traffic_data (flow_uid, community_id, orig_ip, orig_port, resp_ip, resp_port,
        protocol, ip_proto, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
        resp_bytes, state, label, score, tls_sni, http_host, dns_query)
      select 'F' || i, '1:' || md5(i::text),
        ('10.0.' || (i / 256 % 256) || '.' || (i % 256))::inet, 1024 + i % 60000,
        ('10.1.0.' || (i % 200))::inet, (array[80, 443, 53, 0])[1 + i % 4],
        (array['TCP', 'TCP', 'UDP', 'ICMP'])[1 + i % 4], (array[6, 6, 17, 1])[1 + i % 4],
        t, t + case when i % 100 = 0 then i % 600 else (i % 20) / 10.0 end,
        1 + i % 50, i % 40, 60 * (1 + i % 50), 40 * (i % 40),
        case when t > ${nowSec - 600}::float8 and i % 5 = 0 then 'active' else 'closed' end,
        case when i % 33 = 0 then (array['portscan', 'syn_flood', 'bruteforce'])[1 + i % 3]
          else 'benign' end,
        case when i % 33 = 0 then 0.95 else 0.01 end,
        case when i % 4 = 1
          then (array['www.', 'api.', 'cdn.'])[1 + i % 3] || 'site' || (i % 200) || '.example' end,
        case when i % 8 = 0 then 'web' || (i % 200) || '.example' end,
        case when i % 4 = 2 then 'q' || (i % 1000) || '.example' end
      from (
        select i, ${nowSec - spanSec}::float8 + i * ${spanSec / flows}::float8 as t
        from generate_series(1, ${flows}::int) as i
      ) as g`;
    // Agents reporting and the aggregator's lag read ingest_batches: a week
    // of batches, all aggregated.
    await db.sql`
      insert into ingest_batches (agent_id, idempotency_key, record_count, body_sha256,
        received_at, aggregated)
      select 'sensor-' || (i % 5), 'bench-' || i, 500, 'bench',
        to_timestamp(${nowSec - spanSec}::float8 + i), true
      from generate_series(1, ${spanSec}::int) as i`;
    await db.sql`
      update aggregator_progress set last_batch_id = (select max(id) from ingest_batches)`;
    await db.sql`vacuum analyze traffic_data`;
    await db.sql`vacuum analyze ingest_batches`;
    metrics.load_sec = (performance.now() - loadStart) / 1000;
    const backfillStart = performance.now();
    await migrate(db.sql, { migrations });
    metrics.rollup_backfill_sec = (performance.now() - backfillStart) / 1000;
    // The reference, in the same run: one full scan of the table.
    const scanStart = performance.now();
    await db.sql`select sum(orig_bytes + resp_bytes) from traffic_data`;
    metrics.full_scan_ms = performance.now() - scanStart;

    const app = createApp({
      sql: db.sql,
      backend: "postgres",
      ingestTokens: ["bench"],
      limits: { maxBodyBytes: 1, maxDecompressedBytes: 1, maxBatchRecords: 1 },
      clock: () => nowSec * 1000,
    });
    for (const period of PERIODS) {
      const times: number[] = [];
      // One warm-up, then the timed repeats.
      for (let i = 0; i <= repeats; i++) {
        const started = performance.now();
        const res = await app.request(`/api/dashboard?period=${period}`);
        const body = await res.json();
        const ms = performance.now() - started;
        if (res.status !== 200) throw new Error(`dashboard ${period}: ${res.status}`);
        if (i === 0) metrics[`flows_${period}`] = body.headline.flows_seen;
        else times.push(ms);
      }
      times.sort((a, b) => a - b);
      metrics[`median_ms_${period}`] = times[Math.floor(times.length / 2)];
      metrics[`max_ms_${period}`] = times[times.length - 1];
    }
  } finally {
    await db.close();
  }
} finally {
  await schema.drop();
}
console.log(`BENCH_METRICS ${JSON.stringify(metrics)}`);
