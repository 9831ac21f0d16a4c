import assert from "node:assert/strict";
import { keptBatch, recordsOf } from "./_test_support.ts";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { Batcher, type PacketBatch, type Scheduler } from "./batcher.ts";

/** A clock and timers that move only when the test says so. */
class ManualTime implements Scheduler {
  nowMs = 1_000_000;
  #timers = new Map<number, { atMs: number; callback: () => void }>();
  #nextId = 1;

  clock = () => this.nowMs;

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { atMs: this.nowMs + delayMs, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    this.nowMs += ms;
    for (const [id, timer] of [...this.#timers]) {
      if (timer.atMs <= this.nowMs) {
        this.#timers.delete(id);
        timer.callback();
      }
    }
  }
}

function setup(batchSize: number, batchTimeoutMs: number) {
  const time = new ManualTime();
  const batches: PacketBatch[] = [];
  let n = 0;
  const batcher = new Batcher({
    batchSize,
    batchTimeoutMs,
    agentId: "sensor-1",
    onBatch: (b) => batches.push(keptBatch(b)),
    clock: time.clock,
    scheduler: time,
    newId: () => `id${++n}`,
  });
  return { time, batches, batcher };
}

Deno.test("Batcher emits a batch as soon as it holds batchSize records", () => {
  const { batches, batcher, time } = setup(3, 30_000);
  const records = sampleRecords(7);
  for (const r of records.slice(0, 2)) batcher.add(r);
  assert.equal(batches.length, 0);
  batcher.add(records[2]);
  assert.equal(batches.length, 1);
  assert.deepEqual(recordsOf(batches[0]), records.slice(0, 3));
  assert.equal(batches[0].key, "sensor-1:id1");
  for (const r of records.slice(3)) batcher.add(r);
  assert.equal(batches.length, 2);
  assert.equal(batcher.pending, 1);
  // The full batches disarmed their timers: only the open batch's remains.
  assert.equal(time.pendingTimers, 1);
});

Deno.test("Batcher emits a partial batch batchTimeoutMs after its first record", async (t) => {
  await t.step("not before the timeout, counted from the first record", () => {
    const { batches, batcher, time } = setup(100, 30_000);
    const records = sampleRecords(3);
    batcher.add(records[0]);
    time.advance(20_000);
    batcher.add(records[1]);
    time.advance(9_999);
    assert.equal(batches.length, 0);
    assert.equal(batcher.deadlineMs, 1_000_000 + 30_000);
    time.advance(1);
    assert.equal(batches.length, 1);
    assert.deepEqual(recordsOf(batches[0]), records.slice(0, 2));
    assert.equal(batches[0].openedAtMs, 1_000_000);
    assert.equal(batches[0].createdAtMs, 1_030_000);
    assert.equal(batcher.deadlineMs, null);
    // The next record opens a new batch with its own full timeout.
    batcher.add(records[2]);
    time.advance(29_999);
    assert.equal(batches.length, 1);
    time.advance(1);
    assert.equal(batches.length, 2);
  });

  await t.step("a batch closed by size does not leave a timer that cuts the next one short", () => {
    const { batches, batcher, time } = setup(2, 1_000);
    const records = sampleRecords(3);
    batcher.add(records[0]);
    time.advance(900);
    batcher.add(records[1]);
    assert.equal(batches.length, 1);
    batcher.add(records[2]);
    time.advance(200);
    assert.equal(batches.length, 1, "the old batch's deadline must not close the new one");
    time.advance(800);
    assert.equal(batches.length, 2);
  });

  await t.step("an empty batcher schedules nothing", () => {
    const { batcher, time } = setup(2, 1_000);
    assert.equal(time.pendingTimers, 0);
    time.advance(10_000);
    assert.equal(batcher.pending, 0);
  });
});

Deno.test("Batcher.close() flushes the open batch and refuses more records", () => {
  const { batches, batcher, time } = setup(10, 1_000);
  batcher.add(sampleRecords(1)[0]);
  batcher.close();
  assert.equal(batches.length, 1);
  assert.equal(time.pendingTimers, 0);
  assert.throws(() => batcher.add(sampleRecords(1)[0]), /closed/);
});

Deno.test("Batcher gives every batch a distinct key fixed when it is made", () => {
  const batches: PacketBatch[] = [];
  const batcher = new Batcher({
    batchSize: 1,
    batchTimeoutMs: 1_000,
    agentId: "a",
    onBatch: (b) => batches.push(keptBatch(b)),
  });
  for (const r of sampleRecords(50)) batcher.add(r);
  assert.equal(new Set(batches.map((b) => b.key)).size, 50);
  assert.ok(batches.every((b) => /^a:[0-9a-f-]{36}$/.test(b.key)));
});

Deno.test("Batcher checks its options and names the bad one", () => {
  const base = { batchSize: 1, batchTimeoutMs: 1, agentId: "a", onBatch: () => {} };
  assert.throws(() => new Batcher({ ...base, batchSize: 0 }), /'batchSize'.*current value is 0/);
  assert.throws(() => new Batcher({ ...base, batchTimeoutMs: 0 }), /'batchTimeoutMs'/);
  assert.throws(() => new Batcher({ ...base, agentId: "has space" }), /'agentId'/);
  assert.throws(() => new Batcher({ ...base, agentId: "x".repeat(101) }), /'agentId'/);
});

Deno.test("Batcher with batchTimeoutMs Infinity cuts by count only and names batches by position", () => {
  const time = new ManualTime();
  const batches: PacketBatch[] = [];
  const batcher = new Batcher({
    batchSize: 3,
    batchTimeoutMs: Infinity,
    agentId: "sensor-1",
    onBatch: (b) => batches.push(keptBatch(b)),
    clock: time.clock,
    scheduler: time,
    keyOf: (first, count) => `sensor-1:f:${first}+${count}`,
    firstIndex: 6,
  });
  for (const r of sampleRecords(7)) batcher.add(r);
  assert.equal(time.pendingTimers, 0, "no timer is armed");
  time.advance(365 * 86_400_000);
  assert.deepEqual(batches.map((b) => [b.key, b.firstIndex]), [
    ["sensor-1:f:6+3", 6],
    ["sensor-1:f:9+3", 9],
  ]);
  batcher.close();
  assert.deepEqual(batches.map((b) => b.key).at(-1), "sensor-1:f:12+1");
});

Deno.test("Batcher.abandon() forgets the open batch instead of emitting it short", () => {
  const { batches, batcher, time } = setup(3, 30_000);
  for (const r of sampleRecords(5)) batcher.add(r);
  assert.equal(batches.length, 1);
  assert.equal(batcher.abandon(), 2);
  assert.equal(time.pendingTimers, 0);
  time.advance(60_000);
  assert.equal(batches.length, 1);
  assert.throws(() => batcher.add(sampleRecords(1)[0]), /closed/);
});
