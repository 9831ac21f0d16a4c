import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import {
  ingestActivity,
  readAggregatorProgress,
  storePacketBatch,
} from "@traffic-analyzer/shared/db";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { type FlowScorer, MAX_PASS_PACKETS } from "./aggregation_pass.ts";
import {
  AggregatorService,
  BEHIND_PASS_PACKETS,
  FIRST_TIMED_PASS_PACKETS,
  MIN_TIMED_PASS_PACKETS,
  nextPassPackets,
} from "./aggregator_service.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

const BATCH_PACKETS = 1_000;
const START_SEC = 1_764_000_000;

/** One batch of UDP packets, one flow per packet (its own source port). */
function udpBatch(index: number): PacketRecord[] {
  const base = blankPacketRecord({ interface: "eth0", protocol: "UDP", ip_proto: 17 });
  return Array.from({ length: BATCH_PACKETS }, (_, i) => ({
    ...base,
    timestamp: START_SEC + index + i / BATCH_PACKETS,
    src_ip: `10.2.${index % 250}.${1 + (i % 250)}`,
    dst_ip: "192.0.2.53",
    src_port: 1_024 + i,
    dst_port: 53,
    length: 80,
    caplen: 80,
    ip_version: 4,
    ttl: 64,
    payload_length: 52,
  }));
}

Deno.test("nextPassPackets() reads the most packets when passes are not timed", () => {
  assert.equal(nextPassPackets(null, { maxPassMs: null }), MAX_PASS_PACKETS);
  assert.equal(
    nextPassPackets({ packets: 10, durationMs: 60_000 }, { maxPassMs: null, maxPassPackets: 7 }),
    7,
  );
});

Deno.test("nextPassPackets() takes larger untimed passes while behind", () => {
  const behind = { packets: MAX_PASS_PACKETS, durationMs: 5_000, more: true };
  const options = { maxPassMs: null, maxBehindPassPackets: BEHIND_PASS_PACKETS };
  assert.equal(nextPassPackets(behind, options), BEHIND_PASS_PACKETS);
  // Caught up: back to the usual size.
  assert.equal(nextPassPackets({ ...behind, more: false }, options), MAX_PASS_PACKETS);
  // Without a size for it, a pass while behind is no larger.
  assert.equal(nextPassPackets(behind, { maxPassMs: null }), MAX_PASS_PACKETS);
  // Timed passes (PGlite) are sized by their time alone.
  assert.equal(
    nextPassPackets({ packets: 5_000, durationMs: 100, more: true }, {
      maxPassMs: 2_000,
      maxBehindPassPackets: BEHIND_PASS_PACKETS,
    }),
    10_000,
  );
});

Deno.test("nextPassPackets() sizes a timed pass from the last one", async (t) => {
  await t.step("the first timed pass takes the first size", () => {
    assert.equal(nextPassPackets(null, { maxPassMs: 2_000 }), FIRST_TIMED_PASS_PACKETS);
    assert.equal(
      nextPassPackets({ packets: 0, durationMs: 50 }, { maxPassMs: 2_000 }),
      FIRST_TIMED_PASS_PACKETS,
    );
  });
  await t.step("a slow pass makes the next one smaller, in proportion", () => {
    assert.equal(
      nextPassPackets({ packets: 50_000, durationMs: 10_000 }, { maxPassMs: 2_000 }),
      10_000,
    );
  });
  await t.step("a fast pass at most doubles the next one", () => {
    assert.equal(
      nextPassPackets({ packets: 5_000, durationMs: 100 }, { maxPassMs: 2_000 }),
      10_000,
    );
  });
  await t.step("never fewer than the least, nor more than the most", () => {
    assert.equal(
      nextPassPackets({ packets: 2_000, durationMs: 600_000 }, { maxPassMs: 2_000 }),
      MIN_TIMED_PASS_PACKETS,
    );
    assert.equal(
      nextPassPackets({ packets: 200_000, durationMs: 1 }, { maxPassMs: 2_000 }),
      MAX_PASS_PACKETS,
    );
  });
});

Deno.test("AggregatorService answers ingest while it works off a large backlog", async () => {
  // A backlog larger than one timed pass: on PGlite (one session) a pass that
  // took all of it kept a batch that came meanwhile waiting until it was done.
  const backlogBatches = Math.ceil(FIRST_TIMED_PASS_PACKETS / BATCH_PACKETS) + 1;
  let lastBacklogId = 0;
  for (let b = 0; b < backlogBatches; b++) {
    const result = await storePacketBatch(db.sql, {
      agentId: "backlog-agent",
      idempotencyKey: `backlog-${b}`,
      bodySha256: `backlog-${b}`,
      records: udpBatch(b),
    });
    assert.equal(result.status, "stored");
    if (result.status === "stored") lastBacklogId = result.batchId;
  }
  // The batch is sent once the pass is inside its transaction: scoring happens
  // there. On PostgreSQL it commits beside the pass (another session); the
  // scorer holds the pass until it has, so that the pass is provably still
  // running then. On PGlite (one session) it cannot commit inside a pass.
  let passScoring: () => void = () => {};
  const scoring = new Promise<void>((resolve) => passScoring = resolve);
  let batchCommitted: () => void = () => {};
  const committed = new Promise<void>((resolve) => batchCommitted = resolve);
  let held = false;
  const scorer: FlowScorer = {
    modelVersion: "service-test-1",
    score: async (rows) => {
      passScoring();
      if (db.kind === "postgres" && !held) {
        held = true;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          committed,
          new Promise((resolve) => timer = setTimeout(resolve, 30_000)),
        ]);
        clearTimeout(timer);
      }
      return rows.map(() => ({ label: "benign", score: 0.1 }));
    },
  };
  const service = new AggregatorService({
    sql: db.sql,
    scorer,
    intervalMs: 1_000,
    clock: () => START_SEC * 1000,
    copyNewFlows: true,
  });
  let firstPassRunning = true;
  const firstPass = service.runOnce().finally(() => firstPassRunning = false);
  await scoring;
  const stored = await storePacketBatch(db.sql, {
    agentId: "live-agent",
    idempotencyKey: "live-0",
    bodySha256: "live-0",
    records: udpBatch(backlogBatches),
  });
  const committedDuringPass = firstPassRunning;
  // Read before the held pass may go on (a plain read: the pass holds the row).
  const [progress]: [{ lastBatchId: number }] = await db.sql`
    select last_batch_id::int as "lastBatchId" from aggregator_progress where id = 1`;
  batchCommitted();
  assert.equal(stored.status, "stored");
  // Committed while a pass ran, or between two passes: not after all of them.
  assert.ok(
    committedDuringPass || progress.lastBatchId < lastBacklogId,
    `the batch committed only once passes had taken the whole backlog ` +
      `(watermark ${progress.lastBatchId}, last backlog batch ${lastBacklogId})`,
  );
  await firstPass;
  // Nothing lost or merged twice across the passes that follow.
  for (let pass = 0; pass < 50; pass++) {
    const result = await service.runOnce();
    if (!result.more && result.packets === 0) break;
  }
  if (stored.status === "stored") {
    assert.equal((await readAggregatorProgress(db.sql)).lastBatchId, stored.batchId);
  }
  const [{ packets }]: [{ packets: number }] = await db.sql`
    select coalesce(sum(orig_packets + resp_packets), 0)::int as packets from traffic_data`;
  assert.equal(packets, (backlogBatches + 1) * BATCH_PACKETS);
});

Deno.test("AggregatorService gives back a pass's memory after each pass that merged enough packets", async () => {
  // Issue 15: without it, garbage of several passes stayed resident (docs/performance_log.md).
  const scorer: FlowScorer = {
    modelVersion: "service-test-1",
    score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0.1 }))),
  };
  let released = 0;
  const service = new AggregatorService({
    sql: db.sql,
    scorer,
    intervalMs: 1_000,
    clock: () => START_SEC * 1000,
    copyNewFlows: true,
    releaseMemory: () => released++,
    releaseMemoryMinPackets: BATCH_PACKETS,
  });
  // Whatever an earlier test left, taken first.
  for (let pass = 0; pass < 50; pass++) {
    const result = await service.runOnce();
    if (!result.more && result.packets === 0) break;
  }
  released = 0;
  await storePacketBatch(db.sql, {
    agentId: "release-agent",
    idempotencyKey: "release-0",
    bodySha256: "release-0",
    records: udpBatch(500),
  });
  const merged = await service.runOnce();
  assert.equal(merged.packets, BATCH_PACKETS);
  assert.equal(released, 1);
  await storePacketBatch(db.sql, {
    agentId: "release-agent",
    idempotencyKey: "release-1",
    bodySha256: "release-1",
    records: udpBatch(501).slice(0, BATCH_PACKETS - 1),
  });
  const small = await service.runOnce();
  assert.equal(small.packets, BATCH_PACKETS - 1);
  assert.equal(released, 1, "a pass below releaseMemoryMinPackets leaves little garbage");
  const idle = await service.runOnce();
  assert.equal(idle.packets, 0);
  assert.equal(released, 1, "an idle pass has nothing to give back");
});

Deno.test("AggregatorService's loop lets a batch being stored go first", async () => {
  // On PGlite one session serves both: a pass started while a batch waits
  // holds the batch back for the whole pass. The loop waits while ingest is busy.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  let locked: () => void = () => {};
  const inTransaction = new Promise<void>((resolve) => locked = resolve);
  let storingInside = -1;
  const storing = storePacketBatch(db.sql, {
    agentId: "yield-agent",
    idempotencyKey: "yield-0",
    bodySha256: "yield-0",
    records: udpBatch(900),
  }, {
    afterLock: async () => {
      storingInside = ingestActivity(db.sql).storing;
      locked();
      await held;
    },
  });
  await inTransaction;
  assert.equal(storingInside, 1);
  const service = new AggregatorService({
    sql: db.sql,
    scorer: {
      modelVersion: "yield-test-1",
      score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0.1 }))),
    },
    intervalMs: 100,
    yieldToIngestMs: 600_000,
    clock: () => START_SEC * 1000,
    copyNewFlows: true,
  });
  try {
    service.start();
    // Long enough for the loop's first pass to start, were it not waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(service.status.passes, 0, "a pass started while a batch was being stored");
    release();
    const stored = await storing;
    assert.equal(stored.status, "stored");
    assert.equal(ingestActivity(db.sql).storing, 0);
    assert.notEqual(ingestActivity(db.sql).lastEndedMs, null);
    // Once ingest is quiet the pass runs (bounded wait: the test cannot hang).
    for (let i = 0; i < 600 && service.status.passes === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(service.status.passes > 0, "no pass ran once ingest was quiet");
  } finally {
    release();
    await storing.catch(() => {});
    await service.stop();
  }
});

Deno.test("AggregatorService refuses a negative yieldToIngestMs", () => {
  assert.throws(
    () =>
      new AggregatorService({
        sql: db.sql,
        scorer: {
          modelVersion: "x",
          score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0 }))),
        },
        yieldToIngestMs: -1,
      }),
    RangeError,
  );
});
