import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { acknowledgeIncident, storePacketBatch } from "@traffic-analyzer/shared/db";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import { FEATURE_NAMES } from "@traffic-analyzer/shared/flow";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { type FlowScorer, type PassStep, runAggregationPass } from "./aggregation_pass.ts";

const db = await openTestDatabase();
const copyNewFlows = true;
/** ALERT_MIN_SCORE in these tests: the rule scorer's scans (0.875) pass it, its 0.25 ones do not. */
const ALERT_MIN_SCORE = 0.5;
const runPass = (options: Partial<Parameters<typeof runAggregationPass>[0]> = {}) =>
  runAggregationPass({
    sql: db.sql,
    scorer: ruleScorer(),
    nowMs: 1_764_000_500_000,
    copyNewFlows,
    alertMinScore: ALERT_MIN_SCORE,
    ...options,
  });

const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;
const PSH = 0x08;
const FIN = 0x01;

const REJECTED = FEATURE_NAMES.indexOf("rejected");
const ANSWERED = FEATURE_NAMES.indexOf("answered");
const SYN_SEEN = FEATURE_NAMES.indexOf("syn_seen");
const PROTO_TCP = FEATURE_NAMES.indexOf("proto_tcp");

/**
 * Labels flows by a rule over their features, the way the model's classes
 * read (what the model itself learns is tested in aggregator/scorer): a
 * refused TCP attempt is a port scan, an unanswered SYN a SYN flood, the
 * rest benign. These tests are about what the pass does with the labels.
 */
function ruleScorer(options: { scanScore?: number } = {}): FlowScorer {
  return {
    modelVersion: "rule-incidents-1",
    benignLabel: "benign",
    score: (rows) =>
      Promise.resolve(rows.map((x) => {
        if (x[PROTO_TCP] === 1 && x[REJECTED] === 1) {
          return { label: "portscan", score: options.scanScore ?? 0.875 };
        }
        if (x[PROTO_TCP] === 1 && x[SYN_SEEN] === 1 && x[ANSWERED] === 0) {
          return { label: "syn_flood", score: 0.9375 };
        }
        return { label: "benign", score: 0.0625 };
      })),
  };
}

function tcp(
  timestamp: number,
  src: [string, number],
  dst: [string, number],
  flags: number,
  payload = 0,
): PacketRecord {
  return blankPacketRecord({
    timestamp,
    src_ip: src[0],
    src_port: src[1],
    dst_ip: dst[0],
    dst_port: dst[1],
    protocol: "TCP",
    ip_proto: 6,
    tcp_flags: flags,
    tcp_seq: 1000,
    tcp_ack: flags & ACK ? 2000 : 0,
    tcp_window: 64240,
    tcp_header_length: 20,
    payload_length: payload,
    length: 54 + payload,
    caplen: 54 + payload,
  });
}

const START = 1_764_000_000;
const SCANNER = "10.9.0.66";
const SCANNED = "10.9.0.5";
const FLOODED = "10.9.0.80";

/** A scan of `ports` ports: each SYN refused by RST-ACK. */
function scan(ports: number, startSec = START, firstPort = 1): PacketRecord[] {
  const records: PacketRecord[] = [];
  for (let i = 0; i < ports; i++) {
    const t = startSec + i * 0.01;
    records.push(tcp(t, [SCANNER, 40_000 + i], [SCANNED, firstPort + i], SYN));
    records.push(tcp(t + 0.001, [SCANNED, firstPort + i], [SCANNER, 40_000 + i], RST | ACK));
  }
  return records;
}

/** A SYN flood to one port from `sources` spoofed addresses, never answered. */
function flood(sources: number, startSec = START): PacketRecord[] {
  return Array.from(
    { length: sources },
    (_, i) =>
      tcp(startSec + i * 0.005, [`172.16.${i >> 8}.${i & 255}`, 1024 + i], [FLOODED, 80], SYN),
  );
}

/** A complete, answered TCP exchange. */
function benign(startSec = START): PacketRecord[] {
  const c: [string, number] = ["10.9.0.10", 50_000];
  const s: [string, number] = ["10.9.0.20", 443];
  return [
    tcp(startSec, c, s, SYN),
    tcp(startSec + 0.01, s, c, SYN | ACK),
    tcp(startSec + 0.02, c, s, ACK),
    tcp(startSec + 0.03, c, s, PSH | ACK, 200),
    tcp(startSec + 0.04, s, c, PSH | ACK, 1200),
    tcp(startSec + 0.05, c, s, FIN | ACK),
    tcp(startSec + 0.06, s, c, FIN | ACK),
    tcp(startSec + 0.07, c, s, ACK),
  ];
}

let batchNo = 0;
async function ingest(records: PacketRecord[]): Promise<void> {
  batchNo++;
  await storePacketBatch(db.sql, {
    agentId: "incidents-test",
    idempotencyKey: `incidents-${batchNo}`,
    bodySha256: `incidents-${batchNo}`,
    records,
  });
}

interface IncidentSummary {
  id: number;
  label: string;
  key_kind: string;
  key_ip: string;
  flow_count: number;
  port_count: number;
  target_count: number;
  source_count: number;
  first_seen: number;
  last_seen: number;
  max_score: number;
  state: string;
}

async function incidents(): Promise<IncidentSummary[]> {
  return [
    ...await db.sql<IncidentSummary[]>`
    select id, label, key_kind, host(key_ip) as key_ip, flow_count, port_count, target_count,
      source_count, first_seen, last_seen, max_score, state
    from incidents order by label, id`,
  ];
}

/** Every incident's numbers recomputed from traffic_data: they must agree. */
async function assertInStep(): Promise<void> {
  const mismatched = await db.sql`
    select i.id from incidents i
    left join lateral (
      select count(*) as flows, count(distinct t.resp_port) as ports,
        count(distinct t.resp_ip) as targets, count(distinct t.orig_ip) as sources,
        max(t.score) as max_score, min(t.first_seen) as first_seen, max(t.last_seen) as last_seen
      from incident_flows f join traffic_data t on t.flow_uid = f.flow_uid
      where f.incident_id = i.id
    ) a on true
    where a.flows <> i.flow_count or a.ports <> i.port_count or a.targets <> i.target_count
      or a.sources <> i.source_count or a.max_score <> i.max_score
      or a.first_seen <> i.first_seen or a.last_seen <> i.last_seen`;
  assert.deepEqual([...mismatched], [], "incident counts agree with traffic_data");
  const flagged = await db.sql`
    select t.flow_uid from traffic_data t join incident_flows f using (flow_uid)
    join incidents i on i.id = f.incident_id
    where t.label is distinct from i.label`;
  assert.deepEqual([...flagged], [], "every member flow has its incident's class");
}

Deno.test({
  name: "an aggregation pass builds incidents with its flows",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    try {
      await t.step("a scan of many refused probes from one source is one incident", async () => {
        await db.truncate();
        await ingest(scan(150));
        const result = await runPass();
        assert.equal(result.incidentsOpened, 1);
        const [incident, ...more] = await incidents();
        assert.deepEqual(more, []);
        assert.equal(incident.label, "portscan");
        assert.equal(incident.key_kind, "source");
        assert.equal(incident.key_ip, SCANNER);
        assert.equal(incident.flow_count, 150);
        assert.equal(incident.port_count, 150);
        assert.equal(incident.target_count, 1);
        assert.equal(incident.source_count, 1);
        assert.equal(incident.max_score, 0.875);
        assert.equal(incident.first_seen, START);
        const [{ last }] = await db.sql`select max(last_seen) as last from traffic_data`;
        assert.equal(incident.last_seen, last);
        await assertInStep();
      });

      await t.step("a flood to one target from many sources is one incident", async () => {
        await db.truncate();
        await ingest(flood(300));
        await runPass();
        const [incident, ...more] = await incidents();
        assert.deepEqual(more, []);
        assert.equal(incident.label, "syn_flood");
        assert.equal(incident.key_kind, "target");
        assert.equal(incident.key_ip, FLOODED);
        assert.equal(incident.flow_count, 300);
        assert.equal(incident.source_count, 300);
        assert.equal(incident.target_count, 1);
        assert.equal(incident.port_count, 1);
        await assertInStep();
      });

      await t.step("benign flows make no incident", async () => {
        await db.truncate();
        await ingest(benign());
        await ingest(benign(START + 5));
        const result = await runPass();
        assert.ok(result.flowsWritten >= 1);
        assert.deepEqual(await incidents(), []);
      });

      await t.step("flows scored below ALERT_MIN_SCORE make no incident", async () => {
        await db.truncate();
        await ingest(scan(20));
        await runPass({ scorer: ruleScorer({ scanScore: 0.25 }) });
        assert.deepEqual(await incidents(), []);
        const [{ count }] = await db.sql`
          select count(*)::int as count from traffic_data where label = 'portscan'`;
        assert.equal(count, 20, "the flows are stored, labelled, without an incident");
      });

      await t.step("a pass killed at any point and rerun builds the same incidents", async () => {
        const steps: PassStep[] = ["locked", "read", "merged", "scored", "written", "saved"];
        let expected: IncidentSummary[] | null = null;
        for (const killAt of [null, ...steps]) {
          await db.truncate();
          await ingest([...scan(40), ...flood(50), ...benign()]);
          if (killAt !== null) {
            await assert.rejects(
              runPass({
                onStep: (s) => {
                  if (s === killAt) throw new Error(`killed at ${s}`);
                },
              }),
              /killed at/,
            );
            assert.deepEqual(await incidents(), [], `nothing left after a kill at ${killAt}`);
          }
          await runPass();
          // A rerun with nothing new writes no flow twice and no incident twice.
          await runPass({ nowMs: 1_764_000_510_000 });
          // Ids aside: a sequence does not roll back.
          const now = (await incidents()).map(({ id: _, ...rest }) => ({ ...rest, id: 0 }));
          if (expected === null) {
            expected = now;
            assert.equal(now.length, 2);
          } else assert.deepEqual(now, expected, `after a kill at ${killAt}`);
          await assertInStep();
        }
      });

      await t.step("flows written again by a later pass are not counted twice", async () => {
        await db.truncate();
        await ingest(flood(100));
        await runPass();
        // The same spoofed sources retransmit their SYNs: the same flows, updated.
        await ingest(flood(100, START + 1));
        await runPass();
        const [incident, ...more] = await incidents();
        assert.deepEqual(more, []);
        assert.equal(incident.flow_count, 100);
        assert.equal(incident.source_count, 100);
        await assertInStep();
      });

      await t.step(
        "flows rescored benign leave their incident, and an empty one goes",
        async () => {
          await db.truncate();
          await ingest(flood(100));
          await runPass();
          assert.equal((await incidents()).length, 1);
          await ingest(flood(40, START + 1));
          const benignOnly: FlowScorer = {
            modelVersion: "rule-incidents-benign",
            score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0.125 }))),
          };
          await runPass({ scorer: benignOnly });
          const [incident] = await incidents();
          assert.equal(incident.flow_count, 60, "the 40 flows rescored benign left");
          await assertInStep();
          await ingest(flood(100, START + 2));
          await runPass({ scorer: benignOnly });
          assert.deepEqual(await incidents(), []);
        },
      );

      await t.step(
        "flows relabelled or rescored by a later pass leave every incident in step",
        async () => {
          const allAs = (label: string, score: number): FlowScorer => ({
            modelVersion: `rule-incidents-${label}-${score}`,
            benignLabel: "benign",
            score: (rows) => Promise.resolve(rows.map(() => ({ label, score }))),
          });
          await db.truncate();
          await ingest(flood(100));
          await runPass();
          // 40 of the flows, updated, are of another class now: they move to an incident of it.
          await ingest(flood(40, START + 1));
          await runPass({ scorer: allAs("portscan", 0.75) });
          assert.deepEqual((await incidents()).map((i) => [i.label, i.flow_count]), [
            ["portscan", 40],
            ["syn_flood", 60],
          ]);
          await assertInStep();
          // The other 60 follow: the flood's incident is emptied and goes.
          await ingest(flood(100, START + 2));
          await runPass({ scorer: allAs("portscan", 0.75) });
          assert.deepEqual((await incidents()).map((i) => [i.label, i.flow_count]), [
            ["portscan", 100],
          ]);
          await assertInStep();
          // Every flow scored lower, still above the minimum: the highest score falls with them.
          await ingest(flood(100, START + 3));
          await runPass({ scorer: allAs("portscan", 0.625) });
          const [incident, ...more] = await incidents();
          assert.deepEqual(more, []);
          assert.equal(incident.max_score, 0.625);
          assert.equal(incident.source_count, 100);
          await assertInStep();
        },
      );

      await t.step("a scan that goes on in the next pass extends its incident", async () => {
        await db.truncate();
        await ingest(scan(30));
        await runPass();
        await ingest(scan(30, START + 60, 1000));
        await runPass();
        const [incident, ...more] = await incidents();
        assert.deepEqual(more, []);
        assert.equal(incident.flow_count, 60);
        assert.equal(incident.port_count, 60);
        await assertInStep();
      });

      await t.step("after an acknowledgement, a resumed scan opens a new incident", async () => {
        await db.truncate();
        await ingest(scan(30));
        await runPass();
        const [first] = await incidents();
        assert.equal((await acknowledgeIncident(db.sql, first.id))?.state, "acknowledged");
        await ingest(scan(30, START + 60, 1000));
        await runPass();
        const all = await incidents();
        assert.equal(all.length, 2);
        assert.deepEqual(all.map((i) => [i.state, i.flow_count]), [
          ["acknowledged", 30],
          ["open", 30],
        ]);
        await assertInStep();
      });

      await t.step(
        "a scan after a quiet gap longer than the window is a new incident",
        async () => {
          await db.truncate();
          await ingest(scan(10));
          await runPass({ incidentWindowSec: 600 });
          await ingest(scan(10, START + 3600, 2000));
          await runPass({ incidentWindowSec: 600 });
          assert.deepEqual((await incidents()).map((i) => i.flow_count), [10, 10]);
        },
      );

      await t.step("two aggregators at once build each incident once", async () => {
        await db.truncate();
        await ingest([...scan(40), ...flood(60)]);
        const results = await Promise.all([
          runPass({ instanceId: "a" }),
          runPass({ instanceId: "b" }),
        ]);
        await runPass({ instanceId: "b", nowMs: 1_764_000_510_000 });
        assert.ok(results.some((r) => !r.skipped));
        assert.deepEqual((await incidents()).map((i) => [i.label, i.flow_count]), [
          ["portscan", 40],
          ["syn_flood", 60],
        ]);
        await assertInStep();
      });
    } finally {
      await db.close();
    }
  },
});
