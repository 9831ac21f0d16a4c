import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { EncodedBatch } from "./batch_codec.ts";
import { CHUNK_BYTES, Outbox, type QueueMessageEvent } from "./outbox.ts";
import { unaccountedRecords } from "./agent_counters.ts";
import { OutboxError } from "./outbox_error.ts";
import { waitFor } from "./_test_support.ts";
import { batch, failed, incompressible, outbox, withKv } from "./_outbox_test_support.ts";

const KV_VALUE_LIMIT_BYTES = 65_536;

Deno.test("Outbox stores a batch over 64 KiB in chunks in one atomic write and restores it byte-identical", async () => {
  await withKv(async (kv, path) => {
    const big = batch("a:big", incompressible(8, 30_000));
    assert.ok(big.body.length > KV_VALUE_LIMIT_BYTES, `body is ${big.body.length} bytes`);
    await outbox(kv).store(big, failed);

    const chunks = await Array.fromAsync(kv.list<Uint8Array>({ prefix: ["body", "", "a:big"] }));
    assert.equal(chunks.length, Math.ceil(big.body.length / CHUNK_BYTES));
    assert.ok(chunks.every((c) => c.value.length <= CHUNK_BYTES));
    // One atomic write: every entry of the batch carries the same versionstamp.
    const meta = await kv.get(["pending", "", "a:big"]);
    assert.ok(chunks.every((c) => c.versionstamp === meta.versionstamp));

    // Restored through a fresh handle, as after a restart.
    kv.close();
    const reopened = await Deno.openKv(path);
    try {
      const loaded = await outbox(reopened).load("a:big");
      assert.ok(loaded !== null);
      assert.deepEqual(loaded.batch.body, big.body);
      assert.equal(loaded.batch.key, "a:big");
      assert.equal(loaded.batch.records, 8);
      assert.equal(loaded.info.chunks, chunks.length);
    } finally {
      reopened.close();
    }
  });
});

Deno.test("Outbox stores a batch whole or not at all", async () => {
  await withKv(async (kv) => {
    // Larger than one atomic write may be (encodeBatch never makes one): the write must fail as a whole.
    const body = new Uint8Array(900_000).fill(7);
    const tooBig: EncodedBatch = { key: "a:huge", records: 10, body, createdAtMs: 0 };
    const box = outbox(kv);
    await assert.rejects(box.store(tooBig, failed), OutboxError);
    assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["body"] })), []);
    assert.equal((await kv.get(["pending", "", "a:huge"])).value, null);
    const status = await box.status();
    assert.equal(status.pendingBatches, 0);
    assert.equal(status.pendingBytes, 0);
    assert.equal(status.counters.stored, 0);
  });
});

Deno.test("Outbox keeps dead letters with their reason outside the cap", async () => {
  await withKv(async (kv) => {
    const box = outbox(kv);
    const b = batch("a:bad", sampleRecords(4));
    await box.store(b, failed);
    const stored = await box.load("a:bad");
    assert.ok(stored !== null);
    assert.equal(
      await box.moveToDeadLetters(stored, {
        status: 400,
        reason: "HTTP 400: invalid record 2, field ttl",
      }),
      true,
    );
    const status = await box.status();
    assert.equal(status.pendingBatches, 0);
    assert.equal(status.pendingBytes, 0);
    assert.equal(status.deadLetters.length, 1);
    assert.equal(status.deadLetters[0].reason, "HTTP 400: invalid record 2, field ttl");
    assert.equal(status.deadLetters[0].status, 400);
    assert.equal(status.counters.dead_lettered, 4);
    assert.equal(status.counters.stored, 0);
    assert.equal(unaccountedRecords(status.counters), 0);
    const dead = await box.loadDeadLetter("a:bad");
    assert.deepEqual(dead?.body, b.body);
    // A stale copy cannot act on it twice.
    assert.equal(await box.complete(stored, { sent: 4 }), false);
    assert.equal((await box.counters()).sent, 0);

    assert.equal(await box.requeueDeadLetters(), 1);
    const requeued = await box.status();
    assert.equal(requeued.deadLetters.length, 0);
    assert.deepEqual((await box.load("a:bad"))?.batch.body, b.body);
    // The records moved from dead_lettered back to stored in one write.
    assert.equal(requeued.counters.dead_lettered, 0);
    assert.equal(requeued.counters.stored, 4);
    assert.equal(unaccountedRecords(requeued.counters), 0);
  });
});

Deno.test("Outbox replays stored batches through the KV queue, once per live message", async (t) => {
  await withKv(async (kv) => {
    const box = new Outbox({ kv, maxBytes: 1 << 30, replayDelayMs: 50, maxReplayDelayMs: 100 });
    const calls: string[] = [];
    let fail = 2;
    box.listen(async (key) => {
      calls.push(key);
      const stored = await box.load(key);
      assert.ok(stored !== null);
      if (fail-- > 0) await box.reschedule(stored, failed);
      else {await box.complete(stored, {
          sent: stored.batch.records,
          replayed: stored.batch.records,
        });}
    });
    try {
      await t.step("a failed replay is rescheduled until it succeeds", async () => {
        await box.store(batch("a:1", sampleRecords(5)), failed);
        await waitFor(
          "the batch to be replayed",
          async () => (await box.status()).pendingBatches === 0,
        );
        assert.deepEqual(calls, ["a:1", "a:1", "a:1"]);
        const counters = await box.counters();
        assert.equal(counters.sent, 5);
        assert.equal(counters.replayed, 5);
      });
    } finally {
      await box.stop();
    }
  });
});

Deno.test("Outbox ignores stale queue messages and sweeps up lost ones", async (t) => {
  await withKv(async (kv) => {
    let nowMs = Date.now();
    const events: QueueMessageEvent[] = [];
    const box = new Outbox({
      kv,
      maxBytes: 1 << 30,
      replayDelayMs: 150,
      maxReplayDelayMs: 150,
      sweepIntervalMs: 3_600_000,
      clock: () => nowMs,
      onQueueMessage: (event) => events.push(event),
    });
    const calls: string[] = [];
    box.listen((key) => {
      calls.push(key);
      return Promise.resolve();
    });
    try {
      await t.step("a re-enqueued batch is handled once, its old message is ignored", async () => {
        await box.store(batch("a:1", sampleRecords(2)), failed);
        assert.equal(await box.replayAllNow(), 1);
        await waitFor("the re-enqueued message", () => calls.length === 1);
        // The first message (due after 150 ms) carries the old token: it arrives, and is ignored.
        await waitFor("the stale message", () => events.some((e) => e.action === "stale"));
        assert.deepEqual(calls, ["a:1"]);
        assert.deepEqual(events.map((e) => `${e.key} ${e.action}`), ["a:1 handled", "a:1 stale"]);
      });

      await t.step("the sweep re-enqueues a batch overdue past lostAfterMs", async () => {
        // The handler above neither completed nor rescheduled it: its message is gone.
        assert.equal(await box.sweep(), 0, "not yet overdue");
        nowMs += 120_000;
        assert.equal(await box.sweep(), 1);
        await waitFor("the swept batch", () => calls.length === 2);
      });

      await t.step("the sweep re-enqueues what KV left in keysIfUndelivered", async () => {
        const stored = await box.load("a:1");
        assert.ok(stored !== null);
        await kv.set(["pending_lost", "", "a:1"], { key: "a:1" });
        nowMs -= 120_000;
        assert.equal(await box.sweep(), 1);
        assert.equal((await kv.get(["pending_lost", "", "a:1"])).value, null);
        await waitFor("the undelivered batch", () => calls.length === 3);
      });
    } finally {
      await box.stop();
    }
  });
});

Deno.test("Outbox counters persist across restarts", async () => {
  await withKv(async (kv, path) => {
    await outbox(kv).recordSent(batch("a:1", sampleRecords(7)));
    await outbox(kv).store(batch("a:2", sampleRecords(3, { seed: 2 })), failed);
    await outbox(kv).addCounters({ kernel_dropped: 2 });
    kv.close();
    const reopened = await Deno.openKv(path);
    try {
      const counters = await outbox(reopened).counters();
      assert.deepEqual(counters, {
        captured: 10,
        kernel_dropped: 2,
        sent: 7,
        stored: 3,
        replayed: 0,
        dropped: 0,
        dead_lettered: 0,
      });
    } finally {
      reopened.close();
    }
  });
});

Deno.test("Outbox files a batch with a guard key once, however often it is filed", async (t) => {
  await withKv(async (kv) => {
    const box = outbox(kv);
    const guardKey = ["read", "agent", "file", 0, "a:1"];
    const b = batch("a:1", sampleRecords(5));

    await t.step("the first filing counts and sets the guard in the same write", async () => {
      assert.equal(await box.recordSent(b, { guardKey }), "filed");
      const guard = await kv.get(guardKey);
      const sent = await kv.get(["counters", "sent"]);
      assert.equal(guard.value, 5);
      assert.equal(guard.versionstamp, sent.versionstamp);
    });

    await t.step("sent again, stored, dead-lettered or dropped: nothing more", async () => {
      assert.equal(await box.recordSent(b, { guardKey }), "already_filed");
      assert.deepEqual(await box.store(b, { ...failed, guardKey }), {
        outcome: "already_filed",
        evicted: [],
      });
      assert.equal(await box.deadLetter(b, failed, { guardKey }), "already_filed");
      const small = outbox(kv, { maxBytes: 65_536 });
      const huge = batch("a:1", incompressible(40, 2_000));
      assert.equal((await small.store(huge, { ...failed, guardKey })).outcome, "already_filed");
      const status = await box.status();
      assert.equal(status.pendingBatches, 0);
      assert.equal(status.deadLetters.length, 0);
      assert.deepEqual(
        [status.counters.captured, status.counters.sent, status.counters.dropped],
        [5, 5, 0],
      );
    });

    await t.step(
      "a part of a stored batch is stored without counting it captured again",
      async () => {
        await box.store(batch("a:2", sampleRecords(4, { seed: 2 })), failed);
        await box.store(batch("a:2/0", sampleRecords(2, { seed: 3 })), {
          ...failed,
          captured: false,
        });
        const counters = await box.counters();
        assert.equal(counters.captured, 9);
        assert.equal(counters.stored, 6, "the parent and its part, until the parent completes");
      },
    );
  });
});

Deno.test("Outbox counters: captured = sent + stored + dropped + dead_lettered after every step", async () => {
  await withKv(async (kv) => {
    const b = (key: string, n: number, seed: number) => batch(key, incompressible(n, 2_000, seed));
    // The very batches stored below: their random payloads make sizes differ by tens of
    // bytes, so a cap from other copies could hold the last two of them or not.
    const [s1, s2, s3] = [b("s:1", 10, 1), b("s:2", 10, 2), b("s:3", 10, 3)];
    const [n1, n2, n3] = [s1, s2, s3].map((x) => x.body.length);
    // Room for any two of the three, never for all three.
    const box = outbox(kv, { maxBytes: Math.max(n1 + n2, n1 + n3, n2 + n3) });
    const check = async (what: string) => {
      const counters = await box.counters();
      assert.equal(unaccountedRecords(counters), 0, `${what}: ${JSON.stringify(counters)}`);
    };
    await box.recordSent(b("s:0", 3, 0));
    await check("sent directly");
    await box.store(s1, failed);
    await box.store(s2, failed);
    await check("stored");
    await box.store(s3, failed);
    await check("the oldest evicted");
    const replayed = await box.load("s:2");
    assert.ok(replayed !== null);
    await box.complete(replayed, { sent: 10, replayed: 10 });
    await check("replayed");
    const refused = await box.load("s:3");
    assert.ok(refused !== null);
    await box.moveToDeadLetters(refused, { status: 400, reason: "HTTP 400: invalid" });
    await check("dead-lettered from the outbox");
    await box.deadLetter(b("s:4", 2, 4), { status: 400, reason: "HTTP 400: invalid" });
    await check("dead-lettered directly");
    await box.requeueDeadLetters();
    await check("dead letters requeued");
    const counters = await box.counters();
    assert.deepEqual(counters, {
      captured: 35,
      kernel_dropped: 0,
      sent: 13,
      stored: 12,
      replayed: 10,
      dropped: 10,
      dead_lettered: 0,
    });
  });
});

Deno.test("Outbox replays a batch only to the ingest URL it was recorded for, and keeps the others", async (t) => {
  await withKv(async (kv) => {
    const A = "http://127.0.0.1:8000/ingest_packets";
    const B = "http://127.0.0.1:9000/ingest_packets";
    await outbox(kv, { target: A }).store(batch("a:1", sampleRecords(2)), failed);
    await outbox(kv, { target: A }).store(batch("a:2", sampleRecords(3)), failed);
    // As an agent older than targets stored it (moved by migrateAgentStore): no target at all.
    await outbox(kv, { target: null }).store(batch("old:1", sampleRecords(4)), failed);

    await t.step(
      "another target's outbox neither loads, lists, sweeps nor brings them forward",
      async () => {
        const elsewhere = outbox(kv, { target: B });
        assert.equal(await elsewhere.load("a:1"), null);
        assert.equal(await elsewhere.load("old:1"), null);
        assert.deepEqual(await Array.fromAsync(elsewhere.pending()), []);
        assert.equal(await elsewhere.replayAllNow(), 0);
        assert.equal(await elsewhere.sweep(0), 0);
        const others = await elsewhere.otherTargets();
        assert.deepEqual(others.map((h) => [h.target, h.batches, h.records]), [[A, 2, 5], [
          null,
          1,
          4,
        ]]);
        assert.ok(others.every((h) => h.bytes > 0));
        // Nothing is lost, and all of it still counts against the cap.
        const status = await elsewhere.status();
        assert.equal(status.pendingBatches, 3);
        assert.equal(status.counters.stored, 9);
      },
    );

    await t.step("a queue message for another target's batch is left alone", async () => {
      const events: QueueMessageEvent[] = [];
      const calls: string[] = [];
      const elsewhere = new Outbox({
        kv,
        maxBytes: 1 << 30,
        target: B,
        onQueueMessage: (event) => events.push(event),
      });
      // Due now, as a message left by the run that stored it.
      assert.equal(await outbox(kv, { target: A }).replayAllNow(), 2);
      elsewhere.listen((key) => {
        calls.push(key);
        return Promise.resolve();
      });
      try {
        await waitFor("both messages", () => events.length === 2);
        assert.deepEqual(events.map((e) => e.action), ["other_target", "other_target"]);
        assert.deepEqual(calls, []);
        assert.ok(await outbox(kv, { target: A }).load("a:1") !== null, "still stored for A");
      } finally {
        await elsewhere.stop();
      }
    });

    await t.step(
      "its own target's outbox sends them; untargeted ones only when adopted",
      async () => {
        const own = outbox(kv, { target: A });
        assert.deepEqual((await Array.fromAsync(own.pending())).map((i) => i.key), ["a:1", "a:2"]);
        assert.deepEqual((await own.otherTargets()).map((h) => h.target), [null]);
        const adopting = outbox(kv, { target: B });
        assert.deepEqual(await Array.fromAsync(adopting.pending()), []);
        assert.deepEqual(await adopting.adoptUntargeted(), { batches: 1, deadLetters: 0 });
        assert.deepEqual((await Array.fromAsync(adopting.pending())).map((i) => i.key), ["old:1"]);
        assert.equal((await adopting.load("old:1"))?.batch.records, 4);
        assert.deepEqual(await Array.fromAsync(outbox(kv, { target: null }).pending()), []);
        assert.equal((await adopting.status()).pendingBatches, 3, "moved, not copied");
      },
    );
  });
});

Deno.test("Outbox keeps the same key stored for two targets as two batches, each with its own body", async () => {
  await withKv(async (kv) => {
    const A = "http://127.0.0.1:8000/ingest_packets";
    const B = "http://127.0.0.1:9000/ingest_packets";
    // A file read into A, then (--restart) into B: the same keys, both servers failing.
    const forA = outbox(kv, { target: A });
    const forB = outbox(kv, { target: B });
    const same = batch("agent:file:0+3", sampleRecords(3));
    assert.equal((await forA.store(same, failed)).outcome, "stored");
    assert.equal((await forB.store(same, failed)).outcome, "stored", "not taken as filed");
    assert.deepEqual(
      (await forB.targets()).map((h) => [h.target, h.batches]).sort(),
      [[A, 1], [B, 1]],
    );
    const ofB = await forB.load(same.key);
    assert.ok(ofB !== null);
    assert.ok(await forB.complete(ofB, { sent: 3, replayed: 3 }));
    // B's delivery removed B's copy and its body only.
    const ofA = await forA.load(same.key);
    assert.deepEqual(ofA?.batch.body, same.body);
    assert.equal(await forB.load(same.key), null);
    const counters = await forA.counters();
    assert.deepEqual([counters.captured, counters.sent, counters.stored], [6, 3, 3]);
    assert.equal(unaccountedRecords(counters), 0);
  });
});

Deno.test("Outbox never keeps one key both pending and dead-lettered, so neither loses the body they would share", async () => {
  await withKv(async (kv) => {
    const box = outbox(kv);
    const b = batch("agent:file:0+4", sampleRecords(4));
    const refused = { status: 400, reason: "HTTP 400: invalid record 2, field ttl" };
    assert.equal(await box.deadLetter(b, refused), "filed");
    // The same batch read again (--restart) and not delivered: the dead letter holds it.
    assert.equal((await box.store(b, failed)).outcome, "already_filed");
    assert.equal(await box.load(b.key), null);
    assert.deepEqual((await box.loadDeadLetter(b.key))?.body, b.body);

    // The other way round: a pending copy keeps the batch, and its body stays whole.
    assert.equal(await box.requeueDeadLetters(), 1);
    assert.equal(await box.deadLetter(b, refused), "already_filed");
    const pending = await box.load(b.key);
    assert.deepEqual(pending?.batch.body, b.body);
    assert.ok(pending !== null && await box.complete(pending, { sent: 4, replayed: 4 }));
    const status = await box.status();
    assert.deepEqual([status.pendingBatches, status.deadLetters.length], [0, 0]);
    assert.equal(unaccountedRecords(status.counters), 0);
  });
});
