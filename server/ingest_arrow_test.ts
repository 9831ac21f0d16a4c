import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import fc from "fast-check";
import {
  Dictionary,
  Float64,
  Int32,
  Table,
  tableToIPC,
  Uint16,
  Uint32,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { lastRawPackets } from "@traffic-analyzer/shared/db";
import { propertyRuns, sampleRecords } from "@traffic-analyzer/shared/testing";
import {
  ColumnarBatchBuilder,
  encodeArrowBatch,
  type PacketRecord,
} from "@traffic-analyzer/shared/packet";
import { createApp } from "./app.ts";
import { createServerMetrics } from "./server_metrics.ts";
import { ARROW_STREAM_TYPE } from "./ingest_batch_body.ts";

const TOKEN = "arrow-test-token";
type TestDatabase = Awaited<ReturnType<typeof openTestDatabase>>;
let db: TestDatabase;
let app: ReturnType<typeof createApp>;

function post(body: Uint8Array | string, headers: Record<string, string> = {}) {
  return app.request("/ingest_packets", {
    method: "POST",
    body: body as BodyInit,
    headers: { "content-type": ARROW_STREAM_TYPE, authorization: `Bearer ${TOKEN}`, ...headers },
  });
}

function arrowOf(records: readonly PacketRecord[]): Uint8Array {
  const builder = new ColumnarBatchBuilder(Math.max(1, records.length));
  for (const record of records) builder.appendRecord(record);
  return encodeArrowBatch(builder.build());
}

async function countPackets(): Promise<number> {
  const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int8 as n from raw_packets`;
  return n;
}

async function lastStored(count: number) {
  return (await lastRawPackets(db.sql, count)).reverse() as unknown as Record<string, unknown>[];
}

function assertStored(rows: Record<string, unknown>[], records: readonly PacketRecord[]): void {
  assert.equal(rows.length, records.length);
  rows.forEach((row, i) => {
    for (const [field, value] of Object.entries(records[i])) {
      assert.deepEqual(row[field], value, `record ${i}, field ${field}`);
    }
  });
}

Deno.test({
  name: "POST /ingest_packets with an Arrow IPC stream",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    db = await openTestDatabase();
    try {
      await run(t);
    } finally {
      await db.close();
    }
  },
});

async function run(t: Deno.TestContext): Promise<void> {
  app = createApp({
    sql: db.sql,
    backend: db.kind,
    ingestTokens: [TOKEN],
    limits: { maxBodyBytes: 400_000, maxDecompressedBytes: 800_000, maxBatchRecords: 1000 },
    clock: () => 1_000_000,
    startedAtMs: 940_000,
    metrics: createServerMetrics(),
  });
  {
    const records = sampleRecords(120, { seed: 11, dataBytes: 24 });

    await t.step("stores the agent's Arrow batch, zstd or gzip, and answers 201", async () => {
      for (
        const [key, body, encoding] of [
          ["a-zstd", zstdCompressSync(arrowOf(records)), "zstd"],
          ["a-gzip", gzipSync(arrowOf(records)), "gzip"],
        ] as const
      ) {
        const res = await post(new Uint8Array(body), {
          "content-encoding": encoding,
          "idempotency-key": key,
        });
        assert.equal(res.status, 201, await res.clone().text());
        assert.equal((await res.json()).stored, records.length);
        assertStored(await lastStored(records.length), records);
      }
    });

    await t.step("the same key as JSON is a repeat of the same packets: 200", async () => {
      const res = await post(JSON.stringify(records), {
        "content-type": "application/json",
        "idempotency-key": "a-zstd",
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).status, "duplicate");
    });

    await t.step(
      "a batch from Arrow's own builders, seed fields only, stores like JSON",
      async () => {
        const seed = records.slice(0, 3).map((r) => ({
          timestamp: r.timestamp,
          interface: r.interface,
          src_ip: r.src_ip,
          dst_ip: r.dst_ip,
          protocol: r.protocol,
          src_port: r.src_port,
          dst_port: r.dst_port,
          length: r.length,
        }));
        const table = new Table({
          timestamp: vectorFromArray(seed.map((r) => r.timestamp), new Float64()),
          interface: vectorFromArray(seed.map((r) => r.interface), new Utf8()),
          src_ip: vectorFromArray(
            seed.map((r) => r.src_ip),
            new Dictionary(new Utf8(), new Int32()),
          ),
          dst_ip: vectorFromArray(seed.map((r) => r.dst_ip), new Utf8()),
          protocol: vectorFromArray(seed.map((r) => r.protocol), new Utf8()),
          src_port: vectorFromArray(seed.map((r) => r.src_port), new Uint16()),
          dst_port: vectorFromArray(seed.map((r) => r.dst_port), new Uint16()),
          length: vectorFromArray(seed.map((r) => r.length), new Uint32()),
        });
        const res = await post(tableToIPC(table, "stream"), { "idempotency-key": "builders" });
        assert.equal(res.status, 201, await res.clone().text());
        const json = await app.request("/ingest_packets", {
          method: "POST",
          body: JSON.stringify(seed),
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(json.status, 201);
        const rows = await lastStored(6);
        const strip = (row: Record<string, unknown>) => {
          const { id: _i, batch_id: _b, received_at: _r, ...rest } = row;
          return rest;
        };
        assert.deepEqual(rows.slice(0, 3).map(strip), rows.slice(3).map(strip));
      },
    );

    await t.step("a bad value answers 400 naming row and column, and stores nothing", async () => {
      const before = await countPackets();
      const bad = records.map((r, i) => i === 17 ? { ...r, ttl: 300 } : r);
      const table = new Table({
        timestamp: vectorFromArray(bad.map((r) => r.timestamp), new Float64()),
        interface: vectorFromArray(bad.map((r) => r.interface), new Utf8()),
        src_ip: vectorFromArray(bad.map((r) => r.src_ip), new Utf8()),
        dst_ip: vectorFromArray(bad.map((r) => r.dst_ip), new Utf8()),
        protocol: vectorFromArray(bad.map((r) => r.protocol), new Utf8()),
        src_port: vectorFromArray(bad.map((r) => r.src_port), new Int32()),
        dst_port: vectorFromArray(bad.map((r) => r.dst_port), new Int32()),
        length: vectorFromArray(bad.map((r) => r.length), new Int32()),
        ttl: vectorFromArray(bad.map((r) => r.ttl), new Int32()),
      });
      const res = await post(tableToIPC(table, "stream"), { "idempotency-key": "bad" });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.record, 17);
      assert.equal(body.field, "ttl");
      assert.match(body.error, /record 17, field ttl: expected an integer from 0 to 255/);
      assert.equal(await countPackets(), before);
    });

    await t.step("more records than MAX_BATCH_RECORDS answers 413", async () => {
      const res = await post(arrowOf(sampleRecords(1001, { seed: 2 })));
      assert.equal(res.status, 413);
    });

    await t.step("another Content-Type answers 415", async () => {
      const res = await post(arrowOf(records), { "content-type": "application/x-protobuf" });
      assert.equal(res.status, 415);
    });

    await t.step("no body crashes or hangs the server, or is stored in part", async () => {
      const base = arrowOf(sampleRecords(30, { seed: 4, dataBytes: 8 }));
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 6 })
              .map((changes) => {
                const bytes = base.slice();
                for (const [at, value] of changes) bytes[at] = value;
                return bytes;
              }),
            fc.nat(base.length).map((cut) => base.slice(0, cut)),
            fc.uint8Array({ maxLength: 400 }),
          ),
          async (body) => {
            const before = await countPackets();
            const started = performance.now();
            const res = await post(body, { "idempotency-key": `fuzz-${n++}` });
            assert.ok(performance.now() - started < 10_000, "took over 10 s");
            assert.ok(res.status < 500, `answered ${res.status}: ${await res.clone().text()}`);
            const answer = await res.json();
            const after = await countPackets();
            if (res.status === 201) assert.equal(after - before, answer.stored);
            else {
              assert.ok(res.status === 400 || res.status === 413, String(res.status));
              assert.equal(after, before);
            }
          },
        ),
        propertyRuns(150),
      );
    });
  }
}
