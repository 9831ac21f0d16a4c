import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import { freePort, sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { Batcher, type PacketBatch } from "./batcher.ts";
import { bodyFormatOf, encodeBatch } from "./batch_codec.ts";
import { Delivery, type DeliveryOptions, type FilingLedger } from "./delivery.ts";
import { Outbox } from "./outbox.ts";
import { unaccountedRecords } from "./agent_counters.ts";
import { Uploader } from "./uploader.ts";
import {
  columnsOf,
  keptBatch,
  recordsOf,
  serverDatabase,
  storedBatchKeys,
  storedRows,
  type TestServer,
  waitFor,
} from "./_test_support.ts";
import { startTestServer } from "./_process_test_support.ts";

const TOKEN = "delivery-test-token";

/** Collects the agent's log records so tests can check alerts. */
async function captureLogs(): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: [LOG_ROOT], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  return records;
}

function logText(record: LogRecord): string {
  return record.message.map((part) => typeof part === "string" ? part : JSON.stringify(part))
    .join("");
}

/** Batches of records with distinct timestamps, made by a real Batcher. */
function makeBatches(agentId: string, count: number, size: number, seed: number): PacketBatch[] {
  const batches: PacketBatch[] = [];
  const batcher = new Batcher({
    batchSize: size,
    batchTimeoutMs: 60_000,
    agentId,
    onBatch: (b) => batches.push(keptBatch(b)),
  });
  for (const r of sampleRecords(count * size, { seed, startSec: 1_700_000_000 + seed * 1000 })) {
    batcher.add(r);
  }
  batcher.close();
  return batches;
}

interface Harness {
  kv: Deno.Kv;
  outbox: Outbox;
  delivery: Delivery;
  close(): Promise<void>;
}

async function harness(
  dir: string,
  name: string,
  url: string,
  options: {
    token?: string;
    agentId: string;
    listen?: boolean;
    delivery?: Partial<DeliveryOptions>;
    requestTimeoutMs?: number;
    fetch?: typeof fetch;
  },
): Promise<Harness> {
  const kv = await Deno.openKv(`${dir}/${name}.kv`);
  const outbox = new Outbox({
    kv,
    // As the agent wires it: batches are recorded for the URL they are sent to.
    target: url,
    maxBytes: 1 << 30,
    replayDelayMs: 100,
    maxReplayDelayMs: 500,
    sweepIntervalMs: 1_000,
    lostAfterMs: 2_000,
  });
  const uploader = new Uploader({
    serverUrl: url,
    agentId: options.agentId,
    token: { get: () => Promise.resolve(options.token ?? TOKEN), invalidate: () => {} },
    maxRetries: 1,
    retryDelayMs: 10,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    fetch: options.fetch,
  });
  const delivery = new Delivery({
    uploader,
    outbox,
    overflow: "wait",
    whenOutboxFull: "wait",
    ...options.delivery,
  });
  if (options.listen) {
    outbox.listen(async (key) => {
      await delivery.replay(key);
    });
  }
  return {
    kv,
    outbox,
    delivery,
    async close() {
      await delivery.close({ graceMs: 0 });
      await outbox.stop();
      kv.close();
      await outbox.listening;
    },
  };
}

Deno.test({
  name: "Delivery against the real server",
  // The server subprocess and the KV queue outlive single steps by design.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ta-delivery-" });
    const database = await serverDatabase();
    const port = freePort();
    const url = `http://127.0.0.1:${port}/ingest_packets`;
    let server: TestServer | null = null;
    const logs = await captureLogs();
    const start = async (env: Record<string, string> = {}) => {
      server = await startTestServer({
        port,
        dataDir: `${dir}/server`,
        database,
        tokens: [TOKEN],
        env,
      });
      return server;
    };
    try {
      await t.step("server down, then up: every batch arrives exactly once", async () => {
        const agentId = "down-up";
        const h = await harness(dir, "down-up", url, { agentId, listen: true });
        try {
          const batches = makeBatches(agentId, 7, 20, 1);
          const late = batches.pop()!;
          for (const b of batches) await h.delivery.submit(b);
          await h.delivery.drain();
          let status = await h.outbox.status();
          assert.equal(
            status.pendingBatches,
            6,
            "nothing can be delivered while the server is down",
          );
          assert.equal(status.counters.stored, 120);
          assert.equal(
            unaccountedRecords(status.counters),
            0,
            "after a flush, every record is placed",
          );
          assert.equal(h.delivery.tally.get("stored").batches, 6);

          const up = await start({ MAX_BATCH_RECORDS: "50" });
          await waitFor("the outbox to empty", async () => {
            status = await h.outbox.status();
            return status.pendingBatches === 0;
          }, 60_000);

          // A batch that reached the server but whose answer was lost is stored and replayed:
          // the server recognises its key and stores nothing twice.
          const lost = encodeBatch(late)[0];
          const response = await fetch(up.ingestUrl, {
            method: "POST",
            headers: {
              authorization: `Bearer ${TOKEN}`,
              "content-type": bodyFormatOf(lost.body).contentType,
              "content-encoding": bodyFormatOf(lost.body).contentEncoding,
              "idempotency-key": lost.key,
              "x-agent-id": agentId,
            },
            body: lost.body as Uint8Array<ArrayBuffer>,
          });
          assert.equal(response.status, 201, await response.text());
          await h.outbox.store(lost, { status: null, reason: "no answer within 30000 ms" });
          await waitFor("the outbox to empty again", async () => {
            status = await h.outbox.status();
            return status.pendingBatches === 0;
          }, 60_000);

          const all = [...batches, late];
          const rows = await storedRows(up, database, agentId);
          assert.equal(rows.length, 140);
          assert.equal(new Set(rows.map((r) => r.timestamp)).size, 140, "no record twice");
          const expected = all.flatMap((b) => recordsOf(b).map((r) => r.timestamp)).sort();
          assert.deepEqual(rows.map((r) => r.timestamp).sort(), expected);
          const keys = await storedBatchKeys(database, agentId);
          if (keys !== null) {
            assert.deepEqual(keys.sort(), all.map((b) => b.key).sort());
          }
          // The lost batch was filed (stored) by hand above: captured counts it too.
          assert.equal(status.counters.captured, 140);
          assert.equal(status.counters.sent, 140);
          assert.equal(status.counters.replayed, 140);
          assert.equal(unaccountedRecords(status.counters), 0);
        } finally {
          await h.close();
        }
      });

      await t.step(
        "413: a batch over the server's record limit is split and all of it stored",
        async () => {
          const agentId = "split";
          const h = await harness(dir, "split", url, { agentId });
          try {
            const [big] = makeBatches(agentId, 1, 120, 2);
            await h.delivery.submit(big);
            await h.delivery.drain();
            const status = await h.outbox.status();
            assert.equal(status.pendingBatches, 0);
            assert.equal(status.deadLetters.length, 0);
            assert.equal(status.counters.sent, 120);
            const rows = await storedRows(server!, database, agentId);
            assert.equal(rows.length, 120);
            const keys = await storedBatchKeys(database, agentId);
            if (keys !== null) {
              assert.deepEqual(keys.sort(), [
                `${big.key}/0/0`,
                `${big.key}/0/1`,
                `${big.key}/1/0`,
                `${big.key}/1/1`,
              ]);
            }
          } finally {
            await h.close();
          }
        },
      );

      await t.step("401: the batch is kept in the outbox and an alert is logged", async () => {
        const agentId = "bad-token";
        logs.length = 0;
        const h = await harness(dir, "bad-token", url, { agentId, token: "wrong" });
        const batches = makeBatches(agentId, 2, 10, 3);
        try {
          for (const b of batches) await h.delivery.submit(b);
          await h.delivery.drain();
          const status = await h.outbox.status();
          assert.equal(status.pendingBatches, 2);
          assert.equal(status.pendingRecords, 20);
          assert.equal(status.deadLetters.length, 0);
          assert.equal(status.counters.sent, 0);
          const alerts = logs.filter((r) => r.level === "error" && logText(r).startsWith("ALERT"));
          assert.equal(alerts.length, 1, "one alert, not one per batch");
          assert.match(logText(alerts[0]), /HTTP 401/);
          assert.equal((await storedRows(server!, database, agentId)).length, 0);
        } finally {
          await h.close();
        }
        // Fixed token: the kept batches go out.
        const fixed = await harness(dir, "bad-token", url, { agentId });
        try {
          const summary = await fixed.delivery.replayAll();
          assert.deepEqual(summary.sent, { batches: 2, records: 20 });
          assert.equal((await storedRows(server!, database, agentId)).length, 20);
        } finally {
          await fixed.close();
        }
      });

      await t.step("400: the batch is dead-lettered with the server's reason", async () => {
        const agentId = "invalid";
        const h = await harness(dir, "invalid", url, { agentId });
        try {
          const [good] = makeBatches(agentId, 1, 5, 4);
          // The columns cannot hold an out-of-range number; an empty interface name they can.
          const records: PacketRecord[] = recordsOf(good);
          records[3] = { ...records[3], interface: "" };
          await h.delivery.submit({ ...good, columns: columnsOf(records) });
          await h.delivery.drain();
          const status = await h.outbox.status();
          assert.equal(status.pendingBatches, 0);
          assert.equal(status.deadLetters.length, 1);
          const [dead] = status.deadLetters;
          assert.equal(dead.status, 400);
          assert.equal(dead.key, good.key);
          assert.match(dead.reason, /record 3/);
          assert.match(dead.reason, /field interface/);
          assert.equal(status.counters.dead_lettered, 5);
          assert.equal((await storedRows(server!, database, agentId)).length, 0);
        } finally {
          await h.close();
        }
      });
    } finally {
      await reset();
      await (server as TestServer | null)?.stop();
      await database.drop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("Delivery stores nothing when the server answers 500 and then 201", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-stub-" });
  let calls = 0;
  const stub = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      await request.arrayBuffer();
      calls++;
      return calls === 1
        ? Response.json({ error: "internal server error" }, { status: 500 })
        : Response.json({ status: "stored", batch_id: 1, stored: 3 }, { status: 201 });
    },
  );
  const h = await harness(dir, "stub", `http://127.0.0.1:${stub.addr.port}/ingest_packets`, {
    agentId: "stub",
  });
  try {
    const [b] = makeBatches("stub", 1, 3, 5);
    await h.delivery.submit(b);
    await h.delivery.drain();
    const status = await h.outbox.status();
    assert.equal(calls, 2);
    assert.equal(status.pendingBatches, 0);
    assert.equal(status.counters.sent, 3);
    assert.equal(status.counters.stored, 0);
  } finally {
    await h.close();
    await stub.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A stub ingest endpoint; `answer` decides each response (it may hold it). */
function stubServer(answer: (request: Request, body: ArrayBuffer) => Promise<Response>) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => answer(request, await request.arrayBuffer()),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/ingest_packets`, server };
}

const STORED = () => Response.json({ status: "stored", batch_id: 1, stored: 1 }, { status: 201 });

Deno.test("Delivery stores every batch at once while the server is down, with few attempts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-down-" });
  let attempts = 0;
  const counting: typeof fetch = (input, init) => {
    attempts++;
    return fetch(input, init);
  };
  // Nothing listens on this port: every attempt is refused at once.
  const h = await harness(dir, "down", `http://127.0.0.1:${freePort()}/ingest_packets`, {
    agentId: "down",
    fetch: counting,
    delivery: { maxInFlight: 4, outageProbeMs: 3_600_000 },
  });
  try {
    const batches = makeBatches("down", 60, 10, 11);
    for (const b of batches) await h.delivery.submit(b);
    await h.delivery.drain();
    const status = await h.outbox.status();
    assert.equal(status.pendingBatches, 60);
    assert.equal(unaccountedRecords(status.counters), 0);
    assert.equal(status.counters.captured, 600);
    // The first uploads fail (each with its one quick retry); the rest go straight to the outbox.
    assert.ok(attempts <= 4 * 2, `${attempts} attempts for 60 batches`);
    assert.equal(h.delivery.tally.get("stored").batches, 60);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Delivery does not wait for a server that never answers: stuck uploads spill the backlog", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-hung-" });
  const held: (() => void)[] = [];
  const stub = stubServer(() =>
    new Promise((resolve) => held.push(() => resolve(new Response(null, { status: 503 }))))
  );
  const h = await harness(dir, "hung", stub.url, {
    agentId: "hung",
    // Far longer than the test may take: the delivery must not wait for it.
    requestTimeoutMs: 600_000,
    delivery: { maxInFlight: 2, maxQueuedBatches: 4, stallMs: 200 },
  });
  try {
    const batches = makeBatches("hung", 40, 5, 12);
    const submitted = (async () => {
      for (const b of batches) await h.delivery.submit(b);
    })();
    await waitFor("every batch to be taken", async () => {
      await Promise.race([submitted, new Promise((r) => setTimeout(r, 50))]);
      return (await h.outbox.status()).pendingBatches === 38;
    }, 60_000);
    await submitted;
    assert.equal(h.delivery.backlog.inFlight, 2, "two uploads still wait for their answer");
  } finally {
    for (const release of held) release();
    await h.close();
    await stub.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Delivery keeps waiting on a slow server that still answers: no spill while uploads end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-slow-" });
  // The server answers one request at a time, 800 ms (of the delivery's clock) apart: with two
  // in flight, the second waits 1,600 ms, longer than stallMs, while answers keep coming.
  let now = 0;
  const held: (() => void)[] = [];
  const stub = stubServer(() => new Promise((resolve) => held.push(() => resolve(STORED()))));
  let done = false;
  let answered = 0;
  const h = await harness(dir, "slow", stub.url, {
    agentId: "slow",
    requestTimeoutMs: 600_000,
    delivery: { maxInFlight: 2, maxQueuedBatches: 1, stallMs: 1_000, clock: () => now },
  });
  const answering = (async () => {
    while (!done) {
      // The next answer only once the delivery has taken the last one (and read the clock).
      if (held.length === 0 || h.delivery.tally.get("sent").batches < answered) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      now += 800;
      // Time for the waiting submit() to look at the uploads (it does every stallMs / 4).
      await new Promise((r) => setTimeout(r, 300));
      answered++;
      held.shift()!();
    }
  })();
  try {
    for (const b of makeBatches("slow", 10, 5, 21)) await h.delivery.submit(b);
    await h.delivery.drain();
    assert.equal(h.delivery.tally.get("stored").batches, 0, "nothing spilled to the outbox");
    assert.equal(h.delivery.tally.get("sent").batches, 10);
    assert.ok(now >= 8_000, "the uploads did wait on one another");
  } finally {
    done = true;
    await answering;
    await h.close();
    await stub.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Delivery keeps MAX_IN_FLIGHT uploads in flight and takes acknowledgements in any order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-inflight-" });
  let inFlight = 0;
  let most = 0;
  const waiting: (() => void)[] = [];
  const stub = stubServer(async () => {
    inFlight++;
    most = Math.max(most, inFlight);
    // Hold requests until four are in flight, then answer the newest first.
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === 4) {
        for (const release of waiting.splice(0).reverse()) release();
      }
    });
    inFlight--;
    return STORED();
  });
  const h = await harness(dir, "inflight", stub.url, {
    agentId: "inflight",
    delivery: { maxInFlight: 4 },
  });
  try {
    for (const b of makeBatches("inflight", 12, 5, 13)) await h.delivery.submit(b);
    await h.delivery.drain();
    assert.equal(most, 4);
    const status = await h.outbox.status();
    assert.equal(status.counters.sent, 60);
    assert.equal(status.pendingBatches, 0);
    assert.equal(unaccountedRecords(status.counters), 0);
  } finally {
    await h.close();
    await stub.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Delivery with a ledger files a batch read again (after a crash) once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-ledger-" });
  const seen = new Set<string>();
  const stub = stubServer((request) => {
    const key = request.headers.get("idempotency-key")!;
    const repeat = seen.has(key);
    seen.add(key);
    return Promise.resolve(
      repeat
        ? Response.json({ status: "duplicate", batch_id: 1, stored: 0 }, { status: 200 })
        : STORED(),
    );
  });
  const filed: string[] = [];
  const ledger: FilingLedger = {
    guardKey: (key) => ["test-guard", key],
    filed: (key) => filed.push(key),
  };
  const h = await harness(dir, "ledger", stub.url, { agentId: "ledger", delivery: { ledger } });
  try {
    const batches = makeBatches("ledger", 3, 5, 14);
    for (const b of batches) await h.delivery.submit(b);
    await h.delivery.drain();
    // The same batches again, as a rerun that resumed before them would send them.
    for (const b of batches) await h.delivery.submit(b);
    await h.delivery.drain();
    const status = await h.outbox.status();
    assert.equal(status.counters.captured, 15);
    assert.equal(status.counters.sent, 15);
    assert.equal(h.delivery.tally.get("sent").batches, 3);
    assert.equal(h.delivery.tally.get("already_filed").batches, 3);
    assert.deepEqual(filed.sort(), [...batches, ...batches].map((b) => b.key).sort());
  } finally {
    await h.close();
    await stub.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Delivery does not take uploads it cut off at shutdown for a failing server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-delivery-abort-" });
  const held: (() => void)[] = [];
  let received = 0;
  // Every request is held unanswered, as a server still working on it at shutdown.
  const stub = stubServer(() =>
    new Promise((resolve) => {
      received++;
      held.push(() => resolve(STORED()));
    })
  );
  const logs = await captureLogs();
  const h = await harness(dir, "abort", stub.url, { agentId: "abort", listen: true });
  try {
    const [stored, fresh] = makeBatches("abort", 2, 4, 21);
    await h.outbox.store(encodeBatch(stored)[0], { status: null, reason: "stored before" });
    await waitFor("the stored batch's replay to be in flight", () => received === 1, 30_000);
    await h.delivery.submit(fresh);
    await waitFor("the fresh batch's upload to be in flight", () => received === 2, 30_000);

    await h.delivery.close({ graceMs: 0 });

    const failing = logs.filter((r) => logText(r).startsWith("Server failing"));
    assert.deepEqual(failing.map(logText), [], "no server failure logged");
    assert.equal(h.delivery.tally.failure, null, "no server failure counted");
    // Both stay stored for the next run; the replay cut off is not counted as an attempt.
    assert.equal(h.delivery.tally.get("stored").batches, 1);
    const pending = await Array.fromAsync(h.outbox.pending());
    assert.deepEqual(pending.map((i) => i.key).sort(), [stored.key, fresh.key].sort());
    assert.equal(pending.find((i) => i.key === stored.key)!.attempts, 0);
  } finally {
    await reset();
    for (const release of held) release();
    await h.close();
    await stub.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
