import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import type { IncidentFlowInput } from "./incident_grouping.ts";
import { recordIncidents } from "./incident_store.ts";
import { embeddedPglite, type Sql } from "./open_database.ts";

/**
 * Flagged flows of one scanner, each to its own port, new to the pass: more
 * than one chunk of the COPY to PostgreSQL and more than one COPY on PGlite.
 */
const FLOWS = 20_500;

function scanFlow(i: number): IncidentFlowInput {
  return {
    flowUid: `scan-${String(i).padStart(6, "0")}-${"u".repeat(i % 40)}`,
    label: i % 5 === 0 ? "syn_flood" : "portscan",
    score: 0.5 + (i % 97) / 200,
    origIp: `10.0.${i % 3}.66`,
    respIp: `10.1.0.${i % 200}`,
    respPort: i % 65_536,
    firstSeen: 1_764_000_000 + i / 100,
    lastSeen: 1_764_000_001 + i / 100,
  };
}

Deno.test({
  name: "members new to the pass go in by COPY, every one with its incident",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const flagged = Array.from({ length: FLOWS }, (_, i) => scanFlow(i));
      const result = await db.sql.begin((tx) =>
        recordIncidents(tx as unknown as Sql, {
          flagged,
          clearedUids: [],
          minScore: 0.5,
          windowSec: 900,
          newUids: new Set(flagged.map((flow) => flow.flowUid)),
          pglite: embeddedPglite(db.sql),
        })
      );
      assert.equal(result.opened, 6);
      const members = await db.sql<{ flow_uid: string; label: string; key_ip: string }[]>`
        select f.flow_uid, i.label, host(i.key_ip) as key_ip
        from incident_flows f join incidents i on i.id = f.incident_id
        order by f.flow_uid`;
      assert.deepEqual(
        members.map((m) => [m.flow_uid, m.label, m.key_ip]),
        flagged.toSorted((a, b) => a.flowUid < b.flowUid ? -1 : 1)
          .map((f) => [f.flowUid, f.label, f.origIp]),
      );
      const counts = await db.sql<{ label: string; key_ip: string; flow_count: number }[]>`
        select label, host(key_ip) as key_ip, flow_count from incidents order by label, key_ip`;
      const expected = new Map<string, number>();
      for (const flow of flagged) {
        const key = `${flow.label} ${flow.origIp}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      assert.deepEqual(
        counts.map((c) => [`${c.label} ${c.key_ip}`, c.flow_count]),
        [...expected].sort(),
      );
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "a member said to be new that is in an incident already fails the COPY and the pass",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const record = (flagged: IncidentFlowInput[]) =>
        db.sql.begin((tx) =>
          recordIncidents(tx as unknown as Sql, {
            flagged,
            clearedUids: [],
            minScore: 0.5,
            windowSec: 900,
            newUids: new Set(flagged.map((flow) => flow.flowUid)),
            pglite: embeddedPglite(db.sql),
          })
        );
      await record([scanFlow(1)]);
      await assert.rejects(record([scanFlow(2), scanFlow(1)]), /incident_flows_pkey|duplicate key/);
      // Nothing of the failed call stayed; the connection goes on.
      const [{ members, incidents }] = await db.sql<{ members: number; incidents: number }[]>`
        select (select count(*) from incident_flows) as members,
          (select count(*) from incidents) as incidents`;
      assert.deepEqual([members, incidents], [1, 1]);
    } finally {
      await db.close();
    }
  },
});
