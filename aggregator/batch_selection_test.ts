import assert from "node:assert/strict";
import type { PendingBatch } from "@traffic-analyzer/shared/db";
import { selectPassBatches, type SelectPassBatchesOptions } from "./batch_selection.ts";

const OPTIONS: SelectPassBatchesOptions = {
  afterBatchId: 0,
  horizon: 100,
  maxRecords: 1_000_000,
  maxBatches: 10_000,
  reorderWaitMs: 60_000,
};

/** A pending batch of 10 packets; `at` is its position (null: no order). */
function batch(
  id: number,
  at: number | null,
  options: { agentId?: string; stream?: string; ageMs?: number; records?: number } = {},
): PendingBatch {
  return {
    id,
    recordCount: options.records ?? 10,
    agentId: options.agentId ?? "a1",
    stream: at === null ? null : options.stream ?? "file-x",
    sequence: at,
    ageMs: options.ageMs ?? 0,
  };
}

const ids = (batches: PendingBatch[]) => batches.map((b) => b.id);

Deno.test("selectPassBatches() merges a stream's batches in capture order, not commit order", () => {
  // Committed 0, 20, 10, 30 (ids 1..4): the batch at 10 came late.
  const pending = [batch(1, 0), batch(2, 20), batch(3, 10), batch(4, 30)];
  const selection = selectPassBatches(pending, [], OPTIONS);
  assert.deepEqual(ids(selection.batches), [1, 3, 2, 4]);
  assert.equal(selection.watermark, 100, "every batch up to the horizon is taken");
  assert.deepEqual(selection.markAggregated, []);
  assert.deepEqual(selection.positions, [{ agentId: "a1", stream: "file-x", nextSequence: 40 }]);
  assert.equal(selection.lateBatches, 0);
  assert.equal(selection.skippedGaps, 0);
  assert.equal(selection.held, 0);
});

Deno.test("selectPassBatches() holds a stream back behind a gap while the wait lasts", async (t) => {
  // The batch at 10 is missing; 20 and 30 committed 5 s ago.
  const pending = [batch(1, 0), batch(2, 20, { ageMs: 5_000 }), batch(3, 30, { ageMs: 4_000 })];

  await t.step("within the wait, only the batch before the gap goes", () => {
    const selection = selectPassBatches(pending, [], OPTIONS);
    assert.deepEqual(ids(selection.batches), [1]);
    assert.equal(selection.held, 2);
    assert.equal(selection.watermark, 1, "the watermark stays below the held batches");
    assert.deepEqual(selection.positions, [{ agentId: "a1", stream: "file-x", nextSequence: 10 }]);
    assert.equal(selection.more, false, "held batches do not make the loop hurry");
  });

  await t.step("after the wait, the rest goes and the gap is counted", () => {
    const later = pending.slice(1).map((b) => ({ ...b, ageMs: b.ageMs + 60_000 }));
    const selection = selectPassBatches(
      later,
      [{ agentId: "a1", stream: "file-x", nextSequence: 10, sinceMovedMs: 65_000 }],
      { ...OPTIONS, afterBatchId: 1 },
    );
    assert.deepEqual(ids(selection.batches), [2, 3]);
    assert.equal(selection.skippedGaps, 1);
    assert.equal(selection.held, 0);
    assert.equal(selection.watermark, 100);
    assert.deepEqual(selection.positions, [{ agentId: "a1", stream: "file-x", nextSequence: 40 }]);

    // The missing batch comes after all: merged at once, counted late.
    const late = selectPassBatches(
      [batch(7, 10)],
      [{ agentId: "a1", stream: "file-x", nextSequence: 40, sinceMovedMs: 0 }],
      { ...OPTIONS, afterBatchId: 6 },
    );
    assert.deepEqual(ids(late.batches), [7]);
    assert.equal(late.lateBatches, 1);
    assert.deepEqual(late.positions, [{ agentId: "a1", stream: "file-x", nextSequence: 40 }]);
  });

  await t.step("a stream that moved recently keeps waiting (an outbox replaying)", () => {
    const old = pending.slice(1).map((b) => ({ ...b, ageMs: 120_000 }));
    const selection = selectPassBatches(
      old,
      [{ agentId: "a1", stream: "file-x", nextSequence: 10, sinceMovedMs: 1_000 }],
      { ...OPTIONS, afterBatchId: 1 },
    );
    assert.deepEqual(ids(selection.batches), []);
    assert.equal(selection.held, 2);
    assert.equal(selection.watermark, 1);
  });

  await t.step("REORDER_WAIT 0 never waits", () => {
    const selection = selectPassBatches(pending, [], { ...OPTIONS, reorderWaitMs: 0 });
    assert.deepEqual(ids(selection.batches), [1, 2, 3]);
    assert.equal(selection.skippedGaps, 1);
  });
});

Deno.test("selectPassBatches() lets other streams and unordered batches pass a held one", () => {
  const pending = [
    batch(1, 0),
    batch(2, null, { agentId: "curl" }),
    batch(3, 20),
    batch(4, 0, { agentId: "a2" }),
    batch(5, null, { agentId: "curl" }),
    batch(6, 10, { agentId: "a2" }),
  ];
  const selection = selectPassBatches(pending, [], OPTIONS);
  assert.deepEqual(ids(selection.batches), [1, 2, 4, 5, 6]);
  assert.equal(selection.held, 1);
  assert.equal(selection.watermark, 2, "below the held batch 3");
  assert.deepEqual(selection.markAggregated, [4, 5, 6], "taken above the watermark");
});

Deno.test("selectPassBatches() goes in commit order across streams, each after its predecessors", () => {
  // a1's batch at 0 commits last (id 5): a1's batches wait for it, a2's do not.
  const pending = [
    batch(1, 10),
    batch(2, 0, { agentId: "a2" }),
    batch(3, 20),
    batch(4, 10, { agentId: "a2" }),
    batch(5, 0),
  ];
  const selection = selectPassBatches(pending, [], OPTIONS);
  assert.deepEqual(ids(selection.batches), [2, 4, 5, 1, 3]);
});

Deno.test("selectPassBatches() cuts by records at a whole batch and never breaks a stream's order", () => {
  const pending = [batch(1, 10), batch(2, 0), batch(3, 20), batch(4, null)];
  const selection = selectPassBatches(pending, [], { ...OPTIONS, maxRecords: 25 });
  assert.deepEqual(ids(selection.batches), [2, 1]);
  assert.equal(selection.more, true);
  assert.equal(selection.watermark, 2, "batch 3 is left, and the watermark stays below it");
  assert.deepEqual(selection.positions, [{ agentId: "a1", stream: "file-x", nextSequence: 20 }]);
  const one = selectPassBatches(pending, [], { ...OPTIONS, maxRecords: 5 });
  assert.deepEqual(ids(one.batches), [2], "at least one batch, even over the limit");
});

Deno.test("selectPassBatches() keeps commit order for batches without an order", () => {
  const pending = [batch(4, null), batch(5, null), batch(9, null)];
  const selection = selectPassBatches(pending, [], { ...OPTIONS, afterBatchId: 3, horizon: 9 });
  assert.deepEqual(ids(selection.batches), [4, 5, 9]);
  assert.equal(selection.watermark, 9);
  assert.deepEqual(selection.positions, []);
});

Deno.test("selectPassBatches() never moves the watermark back (retention emptied the table)", () => {
  const selection = selectPassBatches([], [], { ...OPTIONS, afterBatchId: 50, horizon: 0 });
  assert.equal(selection.watermark, 50);
});
