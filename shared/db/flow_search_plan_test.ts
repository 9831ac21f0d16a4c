/**
 * The query plans of flow search on PostgreSQL with 1 million flows: every
 * selective filter must reach its flows through an index, never by reading
 * the whole of traffic_data (migration 008 adds the indexes). PostgreSQL
 * only: PGlite's planner is the same code, but a million rows in
 * WebAssembly memory would take minutes to load here.
 */
import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { type FlowFilter, flowFilterSql, flowSearchQuery, type FlowSort } from "./flow_search.ts";
import { explainSelectedPackets, readFlowKey } from "./flow_packets.ts";
import { ensureRawPacketPartitions } from "./packet_store.ts";

const FLOWS = 1_000_000;

Deno.test({
  name: "flow search uses an index for every selective filter at 1 million flows (PostgreSQL)",
  ignore: !Deno.env.get("DATABASE_URL"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      // 1 M flows: 65k clients in 10.0.0.0/16 and 2001:db8::/64, 200 servers in
      // 10.1.0.0/16, four services, 2 % of flows active, 3 % not benign, 20 agents;
      // a TLS server name on every 443 flow (600 names, ten of them on one flow
      // each), an HTTP host on every other port 80 flow, a DNS question on every
      // port 53 flow (1000 names).
      await db.sql`
        insert into traffic_data (flow_uid, community_id, orig_ip, orig_port, resp_ip, resp_port,
          protocol, first_seen, last_seen, orig_packets, resp_packets, orig_bytes, resp_bytes,
          state, label, score, agent, tls_sni, http_host, dns_query)
        select 'F' || i, '1:' || md5((i / 2)::text),
          case when i % 10 = 0 then ('2001:db8::' || to_hex(i % 65536))::inet
            else ('10.0.' || (i / 256 % 256) || '.' || (i % 256))::inet end,
          1024 + i % 60000,
          ('10.1.' || (i % 200 / 256) || '.' || (i % 200))::inet, (array[80, 443, 53, 22])[1 + i % 4],
          (array['TCP', 'TCP', 'UDP', 'ICMP'])[1 + i % 4],
          1764000000 + i * 0.5, 1764000000 + i * 0.5 + i % 100, 1 + i % 50, i % 40,
          60 * (1 + i % 50), 40 * (i % 40),
          case when i % 50 = 0 then 'active' else 'closed' end,
          case when i % 33 = 0 then (array['portscan', 'syn_flood', 'bruteforce'])[1 + i % 3]
            else 'benign' end,
          case when i % 33 = 0 then 0.9 + (i % 10) / 100.0 else (i % 30) / 100.0 end,
          'sensor-' || (i % 20),
          case when i % 100000 = 7 then 'rare' || i || '.example.org'
            when i % 4 = 1 then (array['www.', 'api.', 'cdn.'])[1 + i % 3] || 'site' || (i % 200)
              || '.example' end,
          case when i % 8 = 0 then 'web' || (i % 200) || '.example:8080' end,
          case when i % 4 = 2 then 'q' || (i % 1000) || '.example' end
        from generate_series(1, ${FLOWS}::int) as i`;
      await db.sql`analyze traffic_data`;

      const cases: [string, FlowFilter, FlowSort?][] = [
        ["ip (CIDR, either end)", { ip: "10.0.7.0/24" }],
        ["ip (IPv6 address)", { ip: "2001:db8::1f4" }],
        ["orig_ip", { origIp: "10.0.200.17" }],
        ["resp_ip", { respIp: "10.1.0.7" }],
        ["port (either end)", { port: 31000 }],
        ["resp_port with ip", { respPort: 443, ip: "10.0.3.0/24" }],
        ["label (rare class)", { labels: ["portscan", "syn_flood"] }],
        ["min_score (high)", { minScore: 0.95 }],
        ["state=active", { state: "active" }],
        ["community_id", { communityId: "1:" + "0".repeat(32) }],
        ["agent (one of 20)", { agent: "sensor-7" }],
        ["agent with protocol", { agent: "sensor-7", protocol: "UDP" }],
        ["from/to (one minute)", { fromSec: 1_764_100_000, toSec: 1_764_100_060 }],
        ["no filter, newest first", {}],
        ["no filter, by score", {}, "score"],
      ];
      for (const [name, filter, sort] of cases) {
        await t.step(name, async () => {
          const order = sort === "score"
            ? db.sql`coalesce(score, -1::real) desc, id desc`
            : db.sql`last_seen desc, id desc`;
          const rows = await db.sql<{ "QUERY PLAN": string }[]>`
            explain select id from traffic_data where ${flowFilterSql(db.sql, filter)}
            order by ${order} limit 101`;
          const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
          console.log(`--- ${name}\n${plan}`);
          if (sort === "score") {
            // No index serves a score order over every flow: a top-N sort over one scan.
            assert.match(plan, /top-N heapsort|Limit/);
            return;
          }
          assert.doesNotMatch(
            plan,
            /Seq Scan on traffic_data/,
            `${name} scans the table:\n${plan}`,
          );
          assert.match(plan, /Index/, plan);
        });
      }

      // A host search for a name few flows have (or none) must look each name
      // up in its own index (migration 024): with the names ORed, PostgreSQL
      // walked the last_seen index through every flow (1.5-2.4 s).
      const NAME_INDEXES = [
        "traffic_data_tls_sni_reversed",
        "traffic_data_http_host_reversed",
        "traffic_data_dns_query_reversed",
      ];
      const hostCases: [string, FlowFilter, FlowSort?][] = [
        ["host (one flow)", { host: "rare100007.example.org" }],
        ["host (no flow)", { host: "nothing.example.com" }],
        ["host (no flow) with agent", { host: "nothing.example.com", agent: "sensor-7" }],
        ["host suffix (ten flows)", { host: "*.example.org" }],
        ["host suffix (no flow)", { host: "*.nothing.example.com" }],
        ["host (no flow), by bytes", { host: "nothing.example.com" }, "bytes"],
      ];
      for (const [name, filter, sort] of hostCases) {
        await t.step(name, async () => {
          const rows = await db.sql<{ "QUERY PLAN": string }[]>`
            explain ${flowSearchQuery(db.sql, { filter, sort, limit: 100 })}`;
          const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
          console.log(`--- ${name}\n${plan}`);
          assert.doesNotMatch(
            plan,
            /Seq Scan on traffic_data/,
            `${name} scans the table:\n${plan}`,
          );
          for (const index of NAME_INDEXES) {
            assert.match(
              plan,
              new RegExp(`(Index Scan using|Bitmap Index Scan on) ${index} `),
              `${name} does not look the name up in ${index}:\n${plan}`,
            );
          }
        });
      }

      await t.step(
        "a flow's raw packets are reached through the timestamp BRIN index",
        async () => {
          // 1 M packets in capture order, as ingest stores them; the flow spans 30 s of them.
          await ensureRawPacketPartitions(db.sql, Date.now());
          await db.sql`
          insert into raw_packets (batch_id, agent_id, "timestamp", interface, src_ip, dst_ip,
            protocol, src_port, dst_port, length, caplen, ip_proto, more_fragments,
            dont_fragment, is_fragment, payload_length, malformed)
          select i / 500, 'a', 1764000000 + i * 0.001, 'eth0',
            ('10.0.' || (i / 256 % 256) || '.' || (i % 256))::inet, '10.1.0.7'::inet,
            'TCP', 1024 + i % 60000, 443, 60, 60, 6, false, false, false, 0, false
          from generate_series(1, ${FLOWS}::int) as i`;
          await db.sql`analyze raw_packets`;
          const flow = (await readFlowKey(db.sql, 1))!;
          const plan = await explainSelectedPackets(db.sql, {
            kind: "flow",
            flow: { ...flow, ip_proto: 6, first_seen: 1_764_000_500, last_seen: 1_764_000_530 },
          });
          console.log(`--- a flow's raw packets\n${plan}`);
          // Today's partition holds the packets; yesterday's and tomorrow's are empty.
          const today = `raw_packets_${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`;
          assert.doesNotMatch(plan, new RegExp(`Seq Scan on ${today} `), plan);
          assert.match(plan, new RegExp(`Bitmap Index Scan on ${today}_timestamp_idx`), plan);
        },
      );
    } finally {
      await db.close();
    }
  },
});
