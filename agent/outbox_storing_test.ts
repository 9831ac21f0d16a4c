/**
 * The outbox at OUTBOX_MAX_BYTES: it evicts the batches made first (whatever
 * order they were stored in), drops a batch older than all it holds or larger
 * than the cap, waits for room when asked to, and cleans an age index entry
 * without its batch only while that batch is absent.
 */
import assert from "node:assert/strict";
import { unaccountedRecords } from "./agent_counters.ts";
import { waitFor } from "./_test_support.ts";
import { batch, failed, incompressible, outbox, withKv } from "./_outbox_test_support.ts";

Deno.test("Outbox drops the oldest batches above OUTBOX_MAX_BYTES and counts them", async (t) => {
  await withKv(async (kv) => {
    const batches = [1, 2, 3, 4, 5].map((i) => batch(`a:${i}`, incompressible(10, 2_000, i)));
    const size = Math.max(...batches.map((b) => b.body.length));
    let nowMs = 1_000;
    const box = outbox(kv, { maxBytes: size * 3, clock: () => nowMs });

    await t.step("the first three fit", async () => {
      for (const b of batches.slice(0, 3)) {
        nowMs += 10;
        assert.deepEqual(await box.store(b, failed), { outcome: "stored", evicted: [] });
      }
      assert.equal((await box.status()).pendingBatches, 3);
    });

    await t.step("each further one pushes the oldest out", async () => {
      nowMs += 10;
      assert.deepEqual(await box.store(batches[3], failed), {
        outcome: "stored",
        evicted: ["a:1"],
      });
      nowMs += 10;
      assert.deepEqual(await box.store(batches[4], failed), {
        outcome: "stored",
        evicted: ["a:2"],
      });
      const status = await box.status();
      assert.equal(status.pendingBatches, 3);
      assert.ok(status.pendingBytes <= size * 3);
      assert.equal(
        status.pendingBytes,
        batches.slice(2).reduce((n, b) => n + b.body.length, 0),
      );
      assert.equal(status.pendingRecords, 30);
      assert.equal(status.counters.dropped, 20);
      // `stored` is what the outbox holds now; every record filed is somewhere.
      assert.equal(status.counters.stored, 30);
      assert.equal(status.counters.captured, 50);
      assert.equal(unaccountedRecords(status.counters), 0);
      assert.deepEqual((await Array.fromAsync(box.pending())).map((i) => i.key), [
        "a:3",
        "a:4",
        "a:5",
      ]);
      assert.equal(await box.load("a:1"), null);
      assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["body", "", "a:1"] })), []);
    });

    await t.step("a batch made before every stored one is the one dropped", async () => {
      // Its upload failed after theirs: it is still the oldest data.
      const late = { ...batch("a:0", incompressible(10, 2_000, 6)), createdAtMs: 0 };
      assert.deepEqual(await box.store(late, failed), { outcome: "dropped", evicted: [] });
      const status = await box.status();
      assert.deepEqual((await Array.fromAsync(box.pending())).map((i) => i.key), [
        "a:3",
        "a:4",
        "a:5",
      ]);
      assert.equal(status.counters.dropped, 30);
      assert.equal(unaccountedRecords(status.counters), 0);
    });

    await t.step("a batch larger than the whole cap is dropped itself", async () => {
      const huge = batch("a:huge", incompressible(40, 2_000, 9));
      assert.ok(huge.body.length > size * 3);
      assert.deepEqual(await box.store(huge, failed), { outcome: "dropped", evicted: [] });
      const status = await box.status();
      assert.equal(status.pendingBatches, 3);
      assert.equal(status.counters.dropped, 70);
      assert.equal(unaccountedRecords(status.counters), 0);
    });
  });
});

Deno.test("Outbox with whenFull wait holds a batch until a replay makes room, dropping nothing", async (t) => {
  await withKv(async (kv) => {
    const b = (key: string, seed: number) => batch(key, incompressible(10, 2_000, seed));
    const batches = [b("w:1", 1), b("w:2", 2), b("w:3", 3), b("w:4", 4)];
    // Room for any two of them and never three. The sizes differ by tens of bytes from run to
    // run (random payloads, compressed): a cap from the first one alone sometimes left the
    // second and third too large together, and the store then waited out roomPollMs.
    const sizes = batches.map((x) => x.body.length);
    const maxBytes = Math.max(...sizes) * 2;
    assert.ok(Math.min(...sizes) * 3 > maxBytes, `sizes ${sizes}`);
    const box = outbox(kv, { maxBytes, roomPollMs: 3_600_000 });
    await box.store(batches[0], failed);
    await box.store(batches[1], failed);

    await t.step("the store waits while the outbox is full", async () => {
      let settled = false;
      const waiting = box.store(batches[2], { ...failed, whenFull: "wait" }).finally(() =>
        settled = true
      );
      await waitFor("the store to wait for room", () => box.waitingForRoom === 1);
      assert.equal(settled, false);
      assert.equal((await box.status()).pendingBatches, 2);
      const oldest = await box.load("w:1");
      assert.ok(oldest !== null);
      await box.complete(oldest, { sent: 10, replayed: 10 });
      // Fails rather than waits out roomPollMs when the wake-up is missed.
      await waitFor("the store to finish after the room was made", () => settled, 10_000);
      assert.deepEqual(await waiting, { outcome: "stored", evicted: [] });
      const status = await box.status();
      assert.deepEqual((await Array.fromAsync(box.pending())).map((i) => i.key), ["w:2", "w:3"]);
      assert.equal(status.counters.dropped, 0);
    });

    await t.step("a stop ends the wait: the batch is neither stored nor counted", async () => {
      const stop = new AbortController();
      const waiting = box.store(batches[3], { ...failed, whenFull: "wait", signal: stop.signal });
      await waitFor("the store to wait for room", () => box.waitingForRoom === 1);
      stop.abort();
      assert.deepEqual(await waiting, { outcome: "aborted", evicted: [] });
      const counters = await box.counters();
      assert.equal(counters.captured, 30);
      assert.equal(unaccountedRecords(counters), 0);
    });
  });
});

Deno.test("Outbox at its cap drops the batch made first, whatever order the batches were stored in", async () => {
  await withKv(async (kv) => {
    const made = (key: string, createdAtMs: number, seed: number) => ({
      ...batch(key, incompressible(10, 2_000, seed)),
      createdAtMs,
    });
    // Two uploads failing together store their batches in either order.
    const [second, first, third] = [
      made("b:2", 2_000, 2),
      made("b:1", 1_000, 1),
      made("b:3", 3_000, 3),
    ];
    const [n1, n2, n3] = [first, second, third].map((b) => b.body.length);
    const box = outbox(kv, { maxBytes: Math.max(n1 + n2, n1 + n3, n2 + n3) });
    assert.equal((await box.store(second, failed)).outcome, "stored");
    assert.equal((await box.store(first, failed)).outcome, "stored");
    assert.equal((await box.status()).oldestCreatedAtMs, 1_000);
    assert.deepEqual(await box.store(third, failed), { outcome: "stored", evicted: ["b:1"] });
    assert.deepEqual((await Array.fromAsync(box.pending())).map((i) => i.key).sort(), [
      "b:2",
      "b:3",
    ]);
    assert.equal(unaccountedRecords(await box.counters()), 0);
  });
});

Deno.test("Outbox at its cap cleans an index entry without its batch only while the batch is still absent", async () => {
  await withKv(async (kv) => {
    const made = (key: string, createdAtMs: number, seed: number) => ({
      ...batch(key, incompressible(10, 2_000, seed)),
      createdAtMs,
    });
    const [x, y, w] = [made("c:x", 500, 1), made("c:y", 1_000, 2), made("c:w", 1_500, 3)];
    // Larger than x: with y and w it does not fit, so the cap evicts.
    const z = { ...batch("c:z", incompressible(14, 2_000, 4)), createdAtMs: 2_000 };
    const options = { maxBytes: x.body.length + y.body.length + w.body.length, target: null };
    assert.equal((await outbox(kv, options).store(y, failed)).outcome, "stored");
    assert.equal((await outbox(kv, options).store(w, failed)).outcome, "stored");
    // An index entry whose batch is gone, as a crash of some older code could leave it.
    await kv.set(["outbox", "by_age", 500, "", x.key], true);
    // The cap's eviction finds it; just then another writer stores that very batch.
    let raced = false;
    const racing = new Proxy(kv, {
      get(target, name) {
        if (name === "get") {
          return async (key: Deno.KvKey) => {
            const entry = await target.get(key);
            if (!raced && entry.value === null && key[0] === "pending" && key[2] === x.key) {
              raced = true;
              assert.equal((await outbox(kv, options).store(x, failed)).outcome, "stored");
            }
            return entry;
          };
        }
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const result = await outbox(racing, options).store(z, failed);
    assert.ok(raced);
    // x, made first, goes first: its index entry was not taken from it.
    assert.deepEqual(result, { outcome: "stored", evicted: [x.key, y.key] });
    const box = outbox(kv, options);
    assert.deepEqual((await Array.fromAsync(box.pending())).map((i) => i.key).sort(), [
      w.key,
      z.key,
    ]);
    const indexed = await Array.fromAsync(kv.list({ prefix: ["outbox", "by_age"] }));
    assert.deepEqual(indexed.map((e) => e.key[4]).sort(), [w.key, z.key]);
    assert.equal(unaccountedRecords(await box.counters()), 0);
  });
});
