import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { type BatchOrder, storePacketBatch } from "@traffic-analyzer/shared/db";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { type FlowScorer, type FlowTableCache, runAggregationPass } from "./aggregation_pass.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());
const copyNewFlows = true;

const ruleScorer: FlowScorer = {
  modelVersion: "rule-test-1",
  score: (rows) =>
    Promise.resolve(rows.map((x) => ({ label: x[0] === 1 ? "tcp" : "other", score: 0.5 }))),
};

const BATCH_PACKETS = 40;
const NOW_MS = 1_764_000_100_000;
const FLUSH_MS = NOW_MS + 7 * 86_400_000;

/**
 * Forty TCP conversations (handshake, data both ways, FIN), started 50 ms
 * apart and overlapping, so each one spans several batches: merged out of
 * order, a batch holding a conversation's first packets would split it.
 * Cut into batches of 40 packets in time order, as an agent reading a
 * file would.
 */
function capture(): PacketRecord[][] {
  const base = blankPacketRecord({ interface: "eth0", protocol: "TCP", ip_proto: 6 });
  const packets: PacketRecord[] = [];
  for (let c = 0; c < 40; c++) {
    const client = `10.1.0.${1 + c}`;
    const server = `192.0.2.${10 + (c % 3)}`;
    const port = 40_000 + c;
    const flags = [0x02, 0x12, 0x10, 0x18, 0x18, 0x18, 0x11, 0x11, 0x10];
    for (const [i, tcp_flags] of flags.entries()) {
      const fromClient = i % 2 === 0;
      const length = tcp_flags === 0x18 ? 400 : 60;
      packets.push({
        ...base,
        timestamp: 1_764_000_000 + c * 0.05 + i * 0.08,
        src_ip: fromClient ? client : server,
        dst_ip: fromClient ? server : client,
        src_port: fromClient ? port : 443,
        dst_port: fromClient ? 443 : port,
        length,
        caplen: length,
        ip_version: 4,
        ttl: 64,
        tcp_seq: c * 1000 + i,
        tcp_flags,
        tcp_window: 64240,
        tcp_header_length: 20,
        payload_length: length - 60,
      });
    }
  }
  packets.sort((a, b) => a.timestamp - b.timestamp);
  const batches: PacketRecord[][] = [];
  for (let i = 0; i < packets.length; i += BATCH_PACKETS) {
    batches.push(packets.slice(i, i + BATCH_PACKETS));
  }
  return batches;
}

const BATCHES = capture();

/** Stores batch `i` of the capture, with its place in the capture unless `ordered` is false. */
async function store(i: number, ordered = true): Promise<void> {
  const order: BatchOrder | null = ordered
    ? { stream: "file-test", sequence: i * BATCH_PACKETS }
    : null;
  const result = await storePacketBatch(db.sql, {
    agentId: "a1",
    idempotencyKey: `a1:test:${i}`,
    bodySha256: `body-${i}`,
    records: BATCHES[i],
    order,
  });
  assert.equal(result.status, "stored");
}

async function trafficData(): Promise<string[]> {
  const rows = await db.sql<{ row: string }[]>`
    select concat_ws('|', flow_uid, host(orig_ip), orig_port, host(resp_ip), resp_port,
      first_seen, last_seen, orig_packets, resp_packets, orig_bytes, resp_bytes, state,
      close_reason, conn_state, encode(features, 'hex'), label, score) as row
    from traffic_data order by flow_uid`;
  return rows.map((r) => r.row);
}

/**
 * Stores the batches in `commits` order, groups of them between passes, and
 * flushes at the end; returns traffic_data.
 */
async function run(
  commits: number[][],
  options: { ordered?: boolean; reorderWaitMs?: number; passEveryMs?: number } = {},
): Promise<string[]> {
  await db.truncate();
  let cache: FlowTableCache | null = null;
  // The wall clock of each pass: still, or a pass every `passEveryMs`.
  let wallMs = NOW_MS;
  const pass = async (nowMs: number) => {
    const result = await runAggregationPass({
      sql: db.sql,
      scorer: ruleScorer,
      nowMs,
      cache,
      copyNewFlows,
      reorderWaitMs: options.reorderWaitMs ?? 3_600_000,
    });
    cache = result.cache;
    return result;
  };
  for (const group of commits) {
    for (const i of group) await store(i, options.ordered ?? true);
    await pass(wallMs);
    wallMs += options.passEveryMs ?? 0;
  }
  await pass(FLUSH_MS);
  return await trafficData();
}

Deno.test("batches stored out of capture order give the same traffic_data as in order", async () => {
  const n = BATCHES.length;
  assert.ok(n >= 8, `the capture makes ${n} batches`);
  const inOrder = await run(Array.from({ length: n }, (_, i) => [i]));
  assert.ok(inOrder.length === 40, `40 conversations, 40 flows: ${inOrder.length}`);

  // An outage's batches replayed late: 1 and 2 commit after 3..5, and the
  // last batch before the one ahead of it, with passes in between.
  const late = [
    [0, 3],
    [4, 5],
    [1],
    [2, 7],
    [6],
    ...Array.from({ length: n - 8 }, (_, i) => [8 + i]),
  ];
  assert.deepEqual(late.flat().toSorted((a, b) => a - b), [...Array(n).keys()]);
  assert.deepEqual(await run(late), inOrder);

  // Several uploads in flight: neighbours swap places, and a pass sees each state.
  const swapped: number[][] = [];
  for (let i = 0; i < n; i += 2) {
    if (i + 1 < n) swapped.push([i + 1]);
    swapped.push([i]);
  }
  assert.deepEqual(swapped.flat().toSorted((a, b) => a - b), [...Array(n).keys()]);
  assert.deepEqual(await run(swapped), inOrder);

  // The same commits without an order are merged in commit order, and differ:
  // what this test guards against.
  assert.notDeepEqual(await run(late, { ordered: false }), inOrder);
});

Deno.test("a pause in a capture's delivery shorter than REORDER_WAIT changes nothing", async () => {
  const n = BATCHES.length;
  const inOrder = await run(Array.from({ length: n }, (_, i) => [i]));
  // An agent killed and run again: eight passes, a second apart, find nothing new.
  const paused: number[][] = Array.from({ length: n }, (_, i) => [i]);
  paused.splice(3, 0, ...Array.from({ length: 8 }, () => []));
  assert.deepEqual(await run(paused, { passEveryMs: 1000, reorderWaitMs: 15_000 }), inOrder);
  // Packet time following the wall clock at once would end flows and fix
  // their context before the rest of the capture came.
  assert.notDeepEqual(await run(paused, { passEveryMs: 1000, reorderWaitMs: 0 }), inOrder);
});

Deno.test("a missing batch holds its stream back, then the pass proceeds after REORDER_WAIT", async () => {
  await db.truncate();
  let cache: FlowTableCache | null = null;
  const pass = async (reorderWaitMs: number, nowMs = NOW_MS) => {
    const result = await runAggregationPass({
      sql: db.sql,
      scorer: ruleScorer,
      nowMs,
      cache,
      copyNewFlows,
      reorderWaitMs,
    });
    cache = result.cache;
    return result;
  };
  const HOUR = 3_600_000;
  await store(0);
  await store(2);
  await store(3);

  const first = await pass(HOUR);
  assert.equal(first.batches, 1, "batch 0 only; 2 and 3 wait for 1");
  assert.equal(first.heldBatches, 2);
  const again = await pass(HOUR, NOW_MS + 600_000);
  assert.equal(again.batches, 0, "still within the wait");
  assert.equal(again.heldBatches, 2);
  const [{ behind }] = await db.sql<{ behind: number }[]>`
    select count(*)::int as behind from ingest_batches
    where id > (select last_batch_id from aggregator_progress) and not aggregated`;
  assert.equal(behind, 2, "the held batches stay pending");

  // The wait is over (0 here: the batches are older than it).
  const proceeded = await pass(0);
  assert.equal(proceeded.batches, 2);
  assert.equal(proceeded.skippedGaps, 1);
  assert.equal(proceeded.heldBatches, 0);

  // The missing batch comes after all: merged at once, counted late.
  await store(1);
  const late = await pass(HOUR);
  assert.equal(late.batches, 1);
  assert.equal(late.lateBatches, 1);
  await pass(HOUR, FLUSH_MS);

  const [progress] = await db.sql<{ late_batches: number; skipped_gaps: number }[]>`
    select late_batches::int, skipped_gaps::int from aggregator_progress`;
  assert.deepEqual({ ...progress }, { late_batches: 1, skipped_gaps: 1 });
  // Merged late, but every packet is counted in exactly one flow.
  const [{ packets }] = await db.sql<{ packets: number }[]>`
    select sum(orig_packets + resp_packets)::int as packets from traffic_data`;
  assert.equal(packets, BATCHES.slice(0, 4).flat().length);
  const [{ left }] = await db.sql<{ left: number }[]>`
    select count(*)::int as left from batch_packet_columns`;
  assert.equal(left, 0, "every taken batch's block is gone");
});
