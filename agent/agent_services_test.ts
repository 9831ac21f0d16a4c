import assert from "node:assert/strict";
import { loadConfig } from "@traffic-analyzer/shared";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { Batcher, type PacketBatch } from "./batcher.ts";
import { openAgentKv, openAgentServices } from "./agent_services.ts";
import { describeOtherTargets } from "./other_targets.ts";
import { FileReadSession } from "./file_read_session.ts";
import { encodeBatch } from "./batch_codec.ts";
import { unaccountedRecords } from "./agent_counters.ts";
import { columnsOf, keptBatch, writeUniqueCapture } from "./_test_support.ts";

/** An ingest endpoint that counts requests and answers 201, or 503 while `down`. */
function stubIngest() {
  const stub = {
    requests: 0,
    /** Idempotency keys of the batches it took (201). */
    took: [] as string[],
    down: false,
    url: "",
    server: null as Deno.HttpServer<Deno.NetAddr> | null,
  };
  stub.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    stub.requests++;
    if (!stub.down) stub.took.push(req.headers.get("idempotency-key") ?? "");
    return stub.down
      ? Response.json({ error: "database unavailable" }, { status: 503 })
      : Response.json({ status: "stored", batch_id: 1, stored: 1 }, { status: 201 });
  });
  stub.url = `http://127.0.0.1:${stub.server.addr.port}/ingest_packets`;
  return stub;
}

const AGENT = "services";

function configFor(dir: string, url: string) {
  return loadConfig({
    env: { DATA_DIR: dir, SERVER_URL: url, AGENT_TOKEN: "t", MAX_RETRIES: "0" },
  }).config;
}

function oneBatch(): PacketBatch {
  const batches: PacketBatch[] = [];
  const batcher = new Batcher({
    batchSize: 5,
    batchTimeoutMs: 60_000,
    agentId: AGENT,
    onBatch: (b) => batches.push(keptBatch(b)),
  });
  for (const record of sampleRecords(5, { seed: 3 })) batcher.add(record);
  batcher.close();
  return batches[0];
}

Deno.test("A batch stored for one SERVER_URL is never sent to another, and still reaches its own", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ta-services-" });
  const first = stubIngest();
  const other = stubIngest();
  const open = (url: string) => openAgentServices({ config: configFor(dir, url), agentId: AGENT });
  try {
    await t.step("stored while its server fails", async () => {
      first.down = true;
      const services = await open(first.url);
      try {
        await services.delivery.submit(oneBatch());
        await services.delivery.drain();
        assert.equal((await services.outbox.status()).pendingBatches, 1);
      } finally {
        await services.close(0);
      }
    });

    await t.step("a run for another server keeps it, and says how to send it", async () => {
      const services = await open(other.url);
      try {
        const summary = await services.delivery.replayAll();
        assert.equal(summary.sent.batches + summary.stored.batches, 0);
        assert.equal(other.requests, 0, "no request reached the other server");
        const others = await services.outbox.otherTargets();
        assert.deepEqual(others.map((h) => [h.target, h.batches, h.records]), [
          [first.url, 1, 5],
        ]);
        const line = describeOtherTargets(others, services.outbox.target)!;
        assert.match(line, new RegExp(`not sent to ${other.url}`));
        assert.ok(line.includes(`1 batch (5 records, ${others[0].bytes} bytes) for ${first.url}`));
        assert.ok(line.includes(`\`deno task replay --server-url ${first.url}\``));
        assert.equal((await services.outbox.status()).pendingBatches, 1, "still stored");
      } finally {
        await services.close(0);
      }
    });

    await t.step("its own server gets it once it answers", async () => {
      first.down = false;
      const services = await open(first.url);
      try {
        const summary = await services.delivery.replayAll();
        assert.equal(summary.sent.batches, 1);
        assert.equal((await services.outbox.status()).pendingBatches, 0);
        assert.equal(other.requests, 0);
      } finally {
        await services.close(0);
      }
    });
  } finally {
    await first.server?.shutdown();
    await other.server?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("describeOtherTargets() names batches without a server apart, and says nothing when there are none", () => {
  assert.equal(describeOtherTargets([], "http://a/ingest_packets"), null);
  const line = describeOtherTargets(
    [{ target: null, batches: 2, records: 7, bytes: 90 }],
    "http://a/ingest_packets",
  )!;
  assert.match(line, /2 batches \(7 records, 90 bytes\) stored by an older agent/);
  assert.match(line, /deno task replay --untargeted --server-url <url>/);
});

/**
 * `agent --read path` into `url` (`--restart` with `restart`), as main.ts
 * runs it, with batches of 5 packets; returns null when the file was read
 * completely before.
 */
async function readInto(
  dir: string,
  path: string,
  url: string,
  restart = false,
): Promise<{ stored: number } | null> {
  const config = configFor(dir, url);
  const { kv } = await openAgentKv(config);
  const session = await FileReadSession.open({
    kv,
    path,
    agentId: AGENT,
    target: url,
    batchSize: 5,
    payloadCapture: "headers",
    restart,
    saveIntervalMs: 0,
  });
  if (session.alreadyComplete) {
    kv.close();
    return null;
  }
  const services = await openAgentServices({
    config,
    agentId: AGENT,
    kv,
    mode: "file",
    ledger: session,
  });
  try {
    const sink = session.sink(services.delivery);
    for (let first = session.startIndex; first < 20; first += 5) {
      await sink.submit({
        key: session.keyOf(first, 5),
        firstIndex: first,
        count: 5,
        columns: columnsOf(sampleRecords(5, { seed: first + 1 })),
        openedAtMs: 0,
        createdAtMs: 0,
      });
    }
    await services.delivery.drain();
    await session.finish({ complete: true, packets: 20 });
    return { stored: (await services.outbox.holding()).batches };
  } finally {
    await services.close(0);
  }
}

Deno.test("A file is read into each server on its own: progress and waiting batches are per SERVER_URL", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ta-services-read-" });
  const path = `${dir}/capture.pcap`;
  await writeUniqueCapture(path, 20);
  const a = stubIngest();
  const b = stubIngest();
  try {
    await t.step("read to its end into A", async () => {
      assert.deepEqual(await readInto(dir, path, a.url), { stored: 0 });
      assert.equal(a.took.length, 4);
      assert.equal(await readInto(dir, path, a.url), null, "A has it all");
    });

    await t.step("the same file into B is read again, and B gets every batch", async () => {
      assert.deepEqual(await readInto(dir, path, b.url), { stored: 0 });
      assert.deepEqual(b.took.toSorted(), a.took.toSorted());
      assert.equal(await readInto(dir, path, b.url), null);
    });

    await t.step("--restart into B while both fail leaves A's waiting batches for A", async () => {
      a.down = true;
      b.down = true;
      assert.deepEqual(await readInto(dir, path, a.url, true), { stored: 4 });
      // Same keys as A's waiting batches: stored again for B, not taken as filed.
      assert.deepEqual(await readInto(dir, path, b.url, true), { stored: 4 });
    });

    await t.step("each server gets its own batches once it answers", async () => {
      a.down = false;
      b.down = false;
      for (const server of [b, a]) {
        const services = await openAgentServices({
          config: configFor(dir, server.url),
          agentId: AGENT,
        });
        try {
          const summary = await services.delivery.replayAll();
          assert.equal(summary.sent.batches, 4);
        } finally {
          await services.close(0);
        }
      }
      assert.equal(a.took.length, 8);
      assert.equal(b.took.length, 8);
      const services = await openAgentServices({ config: configFor(dir, a.url), agentId: AGENT });
      try {
        const status = await services.outbox.status();
        assert.equal(status.pendingBatches, 0);
        assert.equal(status.counters.captured, 80);
        assert.equal(unaccountedRecords(status.counters), 0);
      } finally {
        await services.close(0);
      }
    });
  } finally {
    await a.server?.shutdown();
    await b.server?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A store an older agent wrote is moved under per-server keys on open: nothing lost, nothing sent elsewhere", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ta-services-old-" });
  const a = stubIngest();
  const b = stubIngest();
  const now = Date.now();
  try {
    {
      // The layouts before per-server keys, written by hand: a batch recorded for A (with its
      // age index entry and a marker of a message KV gave up on), a batch of an agent older
      // than targets, and a dead letter recorded for B, each body under ["chunk", key, i].
      const kv = await Deno.openKv(`${dir}/agent.kv`);
      try {
        const old = [
          { key: "old:a", records: 3, target: a.url as string | undefined },
          { key: "old:none", records: 4, target: undefined },
          { key: "old:dead", records: 5, target: b.url },
        ];
        let bytes = 0;
        for (const [i, entry] of old.entries()) {
          const [encoded] = encodeBatch({
            key: entry.key,
            columns: columnsOf(sampleRecords(entry.records, { seed: 40 + i })),
            createdAtMs: now - 60_000,
          });
          await kv.set(["chunk", entry.key, 0], encoded.body);
          const info = {
            key: entry.key,
            records: entry.records,
            bodyBytes: encoded.body.length,
            chunks: 1,
            createdAtMs: now - 60_000,
            order: null,
            ...(entry.target === undefined ? {} : { target: entry.target }),
          };
          if (entry.key === "old:dead") {
            await kv.set(["dead", entry.key], {
              ...info,
              deadAtMs: now - 30_000,
              status: 400,
              reason: "HTTP 400: bad record",
            });
            continue;
          }
          bytes += encoded.body.length;
          await kv.set(["outbox", "batch", entry.key], {
            ...info,
            storedAtMs: now - 50_000 + i,
            attempts: 2,
            nextAttemptAtMs: now - 1_000,
            queueToken: crypto.randomUUID(),
            lastStatus: 503,
            lastReason: "HTTP 503",
          });
          await kv.set(["outbox", "age", now - 50_000 + i, entry.key], true);
        }
        await kv.set(["outbox", "undelivered", "old:a"], { key: "old:a", token: "gone" });
        await kv.set(["outbox", "totals"], { batches: 2, records: 7, bytes });
        await kv.set(["counters", "captured"], new Deno.KvU64(12n));
        await kv.set(["counters", "dead_lettered"], new Deno.KvU64(5n));
      } finally {
        kv.close();
      }
    }

    await t.step("opened for A: listed by server, and only A's batch goes to A", async () => {
      const services = await openAgentServices({ config: configFor(dir, a.url), agentId: AGENT });
      try {
        const status = await services.outbox.status();
        assert.deepEqual(status.targets.map((h) => [h.target, h.batches, h.records]).sort(), [
          [null, 1, 4],
          [a.url, 1, 3],
        ]);
        assert.deepEqual(status.deadLetters.map((d) => [d.key, d.target]), [["old:dead", b.url]]);
        assert.equal(unaccountedRecords(status.counters), 0);
        assert.equal(await services.outbox.requeueDeadLetters(), 0, "B's dead letter stays");
        const summary = await services.delivery.replayAll();
        assert.deepEqual(summary.sent, { batches: 1, records: 3 });
        assert.deepEqual(a.took, ["old:a"]);
        for (
          const prefix of [["outbox", "batch"], ["outbox", "age"], ["outbox", "undelivered"], [
            "dead",
          ]]
        ) {
          assert.deepEqual(await Array.fromAsync(services.kv.list({ prefix })), [], `${prefix}`);
        }
      } finally {
        await services.close(0);
      }
    });

    await t.step(
      "opened for B: its dead letter is resent there, the untargeted batch only when filed for it",
      async () => {
        const services = await openAgentServices({ config: configFor(dir, b.url), agentId: AGENT });
        try {
          assert.equal(await services.outbox.requeueDeadLetters(), 1);
          assert.deepEqual((await services.delivery.replayAll()).sent, { batches: 1, records: 5 });
          assert.deepEqual(b.took, ["old:dead"]);
          // `deno task replay --untargeted --server-url B`
          assert.deepEqual(await services.outbox.adoptUntargeted(), { batches: 1, deadLetters: 0 });
          assert.deepEqual((await services.delivery.replayAll()).sent, { batches: 1, records: 4 });
          assert.deepEqual(b.took, ["old:dead", "old:none"]);
          assert.deepEqual(a.took, ["old:a"]);
          const status = await services.outbox.status();
          assert.equal(status.pendingBatches, 0);
          assert.equal(status.deadLetters.length, 0);
          assert.deepEqual([status.counters.captured, status.counters.sent], [12, 12]);
          assert.equal(unaccountedRecords(status.counters), 0);
          assert.deepEqual(await Array.fromAsync(services.kv.list({ prefix: ["chunk"] })), []);
        } finally {
          await services.close(0);
        }
      },
    );
  } finally {
    await a.server?.shutdown();
    await b.server?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
