import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { storePacketBatch } from "@traffic-analyzer/shared/db";
import {
  defaultEnrichmentData,
  enrichAddress,
  FlowEnricher,
  loadEnrichmentDatabase,
} from "@traffic-analyzer/shared/enrich";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import { type FlowScorer, runAggregationPass } from "./aggregation_pass.ts";

const scorer: FlowScorer = {
  modelVersion: "rule-test-1",
  score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0.9 }))),
};

/** One UDP packet of a flow from `src` to `dst`. */
function udp(src: string, srcPort: number, dst: string, timestamp: number) {
  return blankPacketRecord({
    timestamp,
    src_ip: src,
    dst_ip: dst,
    protocol: "UDP",
    ip_proto: 17,
    src_port: srcPort,
    dst_port: 53,
  });
}

for (const copyNewFlows of [true, false]) {
  Deno.test({
    name: `A pass stores each endpoint's scope, country and ASN as the enricher finds them (${
      copyNewFlows ? "COPY" : "upsert"
    })`,
    // The enrichment database's loader keeps files of its own open.
    sanitizeResources: false,
    async fn() {
      const db = await openTestDatabase();
      try {
        const database = await loadEnrichmentDatabase(defaultEnrichmentData());
        const enricher = new FlowEnricher({ database });
        await storePacketBatch(db.sql, {
          agentId: "test",
          idempotencyKey: "enrich",
          bodySha256: "enrich",
          records: [
            udp("10.0.0.1", 40001, "8.8.8.8", 1_764_000_000),
            udp("10.0.0.1", 40002, "8.8.8.8", 1_764_000_001),
            udp("192.168.1.10", 40003, "100.64.0.1", 1_764_000_002),
            udp("10.0.0.1", 40004, "1.1.1.1", 1_764_000_003),
          ],
        });
        const result = await runAggregationPass({
          sql: db.sql,
          scorer,
          nowMs: 1_764_000_010_000,
          copyNewFlows,
          enricher,
        });
        assert.equal(result.flowsWritten, 4);
        const rows = await db.sql<
          {
            orig_port: number;
            orig_scope: string | null;
            orig_country: string | null;
            orig_asn: number | null;
            resp_scope: string | null;
            resp_country: string | null;
            resp_asn: number | null;
            resp_as_org: string | null;
          }[]
        >`
          select orig_port, orig_scope, orig_country, orig_asn, resp_scope, resp_country,
            resp_asn, resp_as_org
          from traffic_data order by orig_port`;
        const expected = (address: string) => {
          const found = enrichAddress(database, address);
          return [found.scope, found.country, found.asn, found.asOrganization];
        };
        assert.deepEqual(
          rows.map((r) => [r.resp_scope, r.resp_country, r.resp_asn, r.resp_as_org]),
          [
            expected("8.8.8.8"),
            expected("8.8.8.8"),
            ["cgnat", null, null, null],
            expected("1.1.1.1"),
          ],
        );
        assert.equal(rows[0].resp_asn, 15169);
        assert.deepEqual(
          rows.map((r) => [r.orig_scope, r.orig_country, r.orig_asn]),
          Array.from({ length: 4 }, () => ["private", null, null]),
        );
        // Special-purpose addresses are never looked up; each public one once.
        assert.equal(enricher.lookups, 2);
      } finally {
        await db.close();
      }
    },
  });
}
