import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { storePacketBatch } from "@traffic-analyzer/shared/db";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import {
  type FlowScorer,
  type FlowTableCache,
  type PassStep,
  runAggregationPass,
} from "./aggregation_pass.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());
/** New flows go in by COPY where the aggregator does that: on PostgreSQL. */
// As the aggregator runs, on both backends (PGlite through its COPY FROM '/dev/blob').
const copyNewFlows = true;
const runPass = (options: Parameters<typeof runAggregationPass>[0]) =>
  runAggregationPass({ copyNewFlows, ...options });

// The pass only hands feature vectors to the scorer and stores its answers;
// what it scores with is the scorer's business (tested with the ONNX model in
// aggregator/scorer). A fixed rule keeps these tests about the pass itself.
const ruleScorer: FlowScorer = {
  modelVersion: "rule-test-1",
  score: (rows) =>
    Promise.resolve(rows.map((x) => ({ label: x[0] === 1 ? "tcp" : "other", score: 0.5 }))),
};

/**
 * Rounds of ingest in {@link rounds}: enough for a pass to die in two and
 * resume (the kill test kills every other round), and for a standby to take
 * over halfway. Six rounds tested nothing more, at twice the CPU: every pass
 * saves every flow so far.
 */
const ROUNDS = 4;
/**
 * Packets a batch. Nearly every sample packet starts a flow that lives until
 * the flush, so each pass saves every flow so far: the cost grows with the
 * square of the traffic, and a few hundred flows prove what thousands would.
 */
const BATCH_PACKETS = 60;

/**
 * {@link ROUNDS} rounds of three batches of traffic (TCP, DNS, ICMP, IPv6),
 * in time order across batches, as one agent would send them. (Packets that
 * arrive after later ones were already aggregated are a different matter: the
 * flow table then sees them late, so only in-order data can be compared
 * exactly.)
 */
function rounds(): PacketRecord[][][] {
  let startSec = 1_764_000_000;
  return Array.from({ length: ROUNDS }, (_, round) =>
    Array.from({ length: 3 }, (_, batch) => {
      const records = sampleRecords(BATCH_PACKETS, {
        seed: round * 10 + batch + 1,
        startSec,
      });
      startSec = records.at(-1)!.timestamp;
      return records;
    }));
}

/** Resolves once a session waits for this schema's ingest lock (PostgreSQL only). */
async function waitForIngestLockWaiter(): Promise<void> {
  while (true) {
    const [{ waiting }] = await db.sql<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_locks
      where locktype = 'advisory' and not granted
        and database = (select oid from pg_database where datname = current_database())
        and objid::text::int8 =
          hashtext('traffic_analyzer_ingest:' || current_schema())::int8 & 4294967295`;
    if (waiting > 0) return;
    // Poll again shortly; the pass reaches the lock within a few queries.
    await db.sql`select pg_sleep(0.01)`;
  }
}

async function ingestRound(round: PacketRecord[][], label: string): Promise<void> {
  for (const [i, records] of round.entries()) {
    await storePacketBatch(db.sql, {
      agentId: "test",
      idempotencyKey: `${label}-${i}`,
      bodySha256: `${label}-${i}`,
      records,
    });
  }
}

async function trafficData(): Promise<string[]> {
  const rows = await db.sql<{ row: string }[]>`
    select concat_ws('|', flow_uid, community_id, host(orig_ip), orig_port, host(resp_ip),
      resp_port, protocol, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
      resp_bytes, state, close_reason, conn_state, features::text, label, score,
      model_version) as row
    from traffic_data order by flow_uid`;
  return rows.map((r) => r.row);
}

/** Each flow's incident, as the incident's key and numbers (ids depend on the run). */
async function incidentMembers(): Promise<string[]> {
  const rows = await db.sql<{ row: string }[]>`
    select concat_ws('|', f.flow_uid, i.label, i.key_kind, host(i.key_ip), i.first_seen,
      i.last_seen, i.max_score, i.flow_count, i.port_count, i.target_count,
      i.source_count) as row
    from incident_flows f join incidents i on i.id = f.incident_id
    order by f.flow_uid`;
  return rows.map((r) => r.row);
}

const NOW_MS = 1_764_000_100_000;
const FLUSH_MS = NOW_MS + 7 * 86_400_000;

async function referenceRun(
  data: PacketRecord[][][],
  options: { copyNewFlows?: boolean; alertMinScore?: number } = {},
): Promise<string[]> {
  await db.truncate();
  let cache: FlowTableCache | null = null;
  const run = (nowMs: number) =>
    runPass({ sql: db.sql, scorer: ruleScorer, nowMs, cache, ...options });
  for (const [r, round] of data.entries()) {
    await ingestRound(round, `r${r}`);
    cache = (await run(NOW_MS)).cache;
  }
  await run(NOW_MS);
  cache = null;
  await run(FLUSH_MS);
  return await trafficData();
}

let sharedReference: Promise<string[]> | null = null;

/**
 * The rows of `referenceRun(rounds())`, run once per file: the data and the
 * run are the same every time, and a run costs seconds of CPU. Tests that
 * need the database as the run left it call `referenceRun()` themselves.
 */
function referenceRows(): Promise<string[]> {
  return sharedReference ??= referenceRun(rounds());
}

Deno.test({
  name: "runAggregationPass() writes every packet into exactly one flow, scored",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const data = rounds();
    const rows = await referenceRun(data);
    sharedReference ??= Promise.resolve(rows);
    assert.ok(rows.length > 100);
    const [totals] = await db.sql<{ packets: number; unscored: number; active: number }[]>`
      select sum(orig_packets + resp_packets)::int8 as packets,
        count(*) filter (where label is null or model_version is null)::int8 as unscored,
        count(*) filter (where state = 'active')::int8 as active
      from traffic_data`;
    assert.equal(totals.packets, data.flat(2).length);
    assert.equal(totals.unscored, 0);
    assert.equal(totals.active, 0, "the flush pass ended every flow");
    const [progress] = await db.sql<{ lag: number }[]>`
      select count(*)::int8 as lag from ingest_batches b, aggregator_progress p
      where b.id > p.last_batch_id`;
    assert.equal(progress.lag, 0);
  },
});

Deno.test({
  name: "new flows stored by COPY give the same traffic_data and incidents as upserts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const data = rounds();
    // Every flow of the rule scorer (0.5) is an alert at this bar.
    const alertMinScore = 0.5;
    const copied = await referenceRun(data, { copyNewFlows: true, alertMinScore });
    // New flows join their incidents without a lookup or conflict handling.
    const copiedIncidents = await incidentMembers();
    assert.ok(copiedIncidents.length > 100);
    assert.deepEqual(await referenceRun(data, { copyNewFlows: false, alertMinScore }), copied);
    assert.deepEqual(await incidentMembers(), copiedIncidents);
  },
});

Deno.test({
  name: "a pass that finds its new flows stored already upserts them instead",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const data = rounds();
    // Every flow an alert (the rule scorer's 0.5): the rerun's flows are in incidents already.
    const alertMinScore = 0.5;
    const reference = await referenceRun(data, { copyNewFlows: true, alertMinScore });
    const referenceIncidents = await incidentMembers();
    // The flow table is lost but traffic_data is not: every flow the rerun
    // creates is stored already, which COPY cannot take.
    // In one batch the server reports the stored flow when the COPY ends; in
    // small, slowly scored batches, while later batches are still being sent.
    const slowScorer: FlowScorer = {
      modelVersion: ruleScorer.modelVersion,
      score: (rows) =>
        new Promise((resolve) => setTimeout(() => resolve(ruleScorer.score(rows)), 2)),
    };
    for (const [scorer, scoreBatchSize] of [[ruleScorer, 4096], [slowScorer, 32]] as const) {
      await db.sql`delete from aggregator_progress`;
      await db.sql`insert into aggregator_progress default values`;
      const run = (nowMs: number) =>
        runPass({ sql: db.sql, scorer, nowMs, copyNewFlows: true, scoreBatchSize, alertMinScore });
      await run(NOW_MS);
      await run(FLUSH_MS);
      assert.deepEqual(await trafficData(), reference, `batches of ${scoreBatchSize}`);
      assert.deepEqual(await incidentMembers(), referenceIncidents, `batches of ${scoreBatchSize}`);
    }
  },
});

Deno.test({
  name: "runAggregationPass() takes a backlog in bounded passes and says when more is left",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const data = rounds();
    const reference = await referenceRows();
    await db.truncate();
    for (const [r, round] of data.entries()) await ingestRound(round, `r${r}`);
    let cache: FlowTableCache | null = null;
    let passes = 0;
    const maxPackets = 200;
    for (let more = true; more; passes++) {
      const result = await runPass({
        sql: db.sql,
        scorer: ruleScorer,
        nowMs: NOW_MS,
        cache,
        maxPackets,
      });
      assert.ok(result.packets <= maxPackets);
      cache = result.cache;
      more = result.more;
    }
    assert.equal(passes, Math.ceil(data.flat(2).length / maxPackets));
    assert.ok(passes >= 4, `${passes} passes`);
    await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: FLUSH_MS, cache: null });
    assert.deepEqual(await trafficData(), reference);
  },
});

Deno.test({
  name: "a pass killed at any step and run again gives the same traffic_data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const data = rounds();
    const reference = await referenceRows();
    const steps: PassStep[] = ["locked", "read", "merged", "scored", "written", "saved"];
    for (const killAt of steps) {
      await t.step(`killed after "${killAt}"`, async () => {
        await db.truncate();
        let cache: FlowTableCache | null = null;
        for (const [r, round] of data.entries()) {
          await ingestRound(round, `r${r}`);
          // Every other round the pass dies at this step, after it changed the
          // in-memory table; the rerun must not trust that table.
          if (r % 2 === 0) {
            await assert.rejects(() =>
              runPass({
                sql: db.sql,
                scorer: ruleScorer,
                nowMs: NOW_MS,
                cache,
                // Small batches: flows are being sent (on PostgreSQL, the
                // COPY is open) when the pass dies after merging.
                scoreBatchSize: 16,
                onStep: (s) => {
                  if (s === killAt) throw new Error(`killed at ${s}`);
                },
              }), /killed at/);
            cache = null;
          }
          cache = (await runPass({
            sql: db.sql,
            scorer: ruleScorer,
            nowMs: NOW_MS,
            cache,
          })).cache;
        }
        await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: NOW_MS, cache });
        await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: FLUSH_MS });
        assert.deepEqual(await trafficData(), reference);
      });
    }
  },
});

Deno.test({
  name: "two aggregators at once never double-count and never skip",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const data = rounds();
    const reference = await referenceRows();
    await db.truncate();
    let stop = false;
    let skipped = 0;
    let ran = 0;
    const instance = async () => {
      let cache: FlowTableCache | null = null;
      while (!stop) {
        const result = await runPass({
          sql: db.sql,
          scorer: ruleScorer,
          nowMs: NOW_MS,
          cache,
        });
        if (result.skipped) skipped++;
        else ran++;
        cache = result.cache;
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const instances = [instance(), instance()];
    for (const [r, round] of data.entries()) await ingestRound(round, `r${r}`);
    stop = true;
    await Promise.all(instances);
    await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: NOW_MS });
    await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: FLUSH_MS });
    assert.ok(ran > 0);
    assert.deepEqual(await trafficData(), reference);
    // On one PGlite connection passes queue, so only PostgreSQL can overlap.
    if (db.kind === "postgres") {
      await db.sql.begin(async (tx) => {
        await tx`
          select pg_advisory_xact_lock(hashtext('traffic_analyzer_aggregator:' || current_schema()))`;
        const result = await runPass({
          sql: db.sql,
          scorer: ruleScorer,
          nowMs: NOW_MS,
        });
        assert.equal(result.skipped, true, "a pass stands aside while another holds the lock");
      });
    } else assert.equal(skipped, 0);
  },
});

Deno.test({
  name: "an instance stands by while another passes, and takes over once it stops",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const data = rounds();
    const reference = await referenceRows();
    await db.truncate();
    const standbyMs = 60_000;
    let cacheA: FlowTableCache | null = null;
    let cacheB: FlowTableCache | null = null;
    for (const [r, round] of data.entries()) {
      await ingestRound(round, `r${r}`);
      if (r < ROUNDS / 2) {
        // A is active: B, trying first, stands by and takes no batch.
        if (r > 0) {
          const b = await runPass({
            sql: db.sql,
            scorer: ruleScorer,
            nowMs: NOW_MS,
            instanceId: "b",
            standbyMs,
            cache: cacheB,
          });
          assert.deepEqual([b.skipped, b.standby, b.packets], [true, true, 0], `round ${r}`);
        }
        const a = await runPass({
          sql: db.sql,
          scorer: ruleScorer,
          nowMs: NOW_MS,
          instanceId: "a",
          standbyMs,
          cache: cacheA,
        });
        assert.deepEqual([a.skipped, a.standby], [false, false], `round ${r}`);
        cacheA = a.cache;
      } else {
        // A stopped after the first half: once its last pass is older than
        // the standby time, B takes over, loading the table A stored.
        if (r === ROUNDS / 2) {
          await db.sql`update aggregator_progress
            set last_pass_at = now() - interval '2 minutes'`;
        }
        const b = await runPass({
          sql: db.sql,
          scorer: ruleScorer,
          nowMs: NOW_MS,
          instanceId: "b",
          standbyMs,
          cache: cacheB,
        });
        assert.equal(b.skipped, false, `round ${r}`);
        cacheB = b.cache;
      }
    }
    await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: NOW_MS, cache: cacheB });
    await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: FLUSH_MS });
    assert.deepEqual(await trafficData(), reference);
  },
});

Deno.test({
  name: "a batch whose transaction commits after a later batch is not skipped",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    const [early, late] = rounds()[0];
    // The early batch draws its id first but commits last.
    const earlyWritten = Promise.withResolvers<void>();
    const releaseEarly = Promise.withResolvers<void>();
    const earlyDone = storePacketBatch(db.sql, {
      agentId: "slow",
      idempotencyKey: "early",
      bodySha256: "early",
      records: early,
    }, {
      beforeCommit: () => {
        earlyWritten.resolve();
        return releaseEarly.promise;
      },
    });
    await earlyWritten.promise;
    const lateDone = storePacketBatch(db.sql, {
      agentId: "fast",
      idempotencyKey: "late",
      bodySha256: "late",
      records: late,
    });
    // On PostgreSQL the late batch commits while the early one is open, and
    // the pass must wait for the early transaction rather than pass its id:
    // release it only once the pass is seen waiting on the ingest lock. PGlite
    // has one connection, so there the late batch and the pass queue behind
    // the early transaction (in either order), and no batch may be skipped.
    if (db.kind === "postgres") await lateDone;
    const pass = runPass({ sql: db.sql, scorer: ruleScorer, nowMs: NOW_MS });
    if (db.kind === "postgres") await waitForIngestLockWaiter();
    releaseEarly.resolve();
    await earlyDone;
    await lateDone;
    const first = await pass;
    if (db.kind === "postgres") {
      assert.equal(first.packets, early.length + late.length, "both batches in the first pass");
    }
    // On PGlite the late batch may queue behind the pass and go to the next;
    // on both, no packet is skipped:
    await runPass({ sql: db.sql, scorer: ruleScorer, nowMs: FLUSH_MS });
    const [{ packets }] = await db.sql<{ packets: number }[]>`
      select sum(orig_packets + resp_packets)::int8 as packets from traffic_data`;
    assert.equal(packets, early.length + late.length);
    const [{ lag }] = await db.sql<{ lag: number }[]>`
      select count(*)::int8 as lag from ingest_batches b, aggregator_progress p
      where b.id > p.last_batch_id`;
    assert.equal(lag, 0);
  },
});
