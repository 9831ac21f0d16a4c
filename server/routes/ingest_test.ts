import assert from "node:assert/strict";
import { openTestDatabase, type TestDatabase } from "@traffic-analyzer/shared/db/testing";
import { gzipSync as nodeGzip, zstdCompressSync, type ZstdOptions } from "node:zlib";
import { busyRecords, sampleRecords } from "@traffic-analyzer/shared/testing";
import {
  ColumnarBatchBuilder,
  encodeArrowBatch,
  type PacketRecord,
} from "@traffic-analyzer/shared/packet";
import { ARROW_STREAM_TYPE } from "../ingest_batch_body.ts";
import { countPackets, ingest, makeTestApp } from "../_test_app.ts";

const gzipSync = (text: string) => new Uint8Array(nodeGzip(text));

Deno.test({
  name: "POST /ingest_packets",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app, metrics } = makeTestApp(db);
      const records = sampleRecords(50, { dataBytes: 8 });

      await t.step("stores a plain JSON batch and answers 201", async () => {
        const res = await ingest(app, JSON.stringify(records), {
          "idempotency-key": "b1",
        });
        assert.equal(res.status, 201);
        const body = await res.json();
        assert.equal(body.status, "stored");
        assert.equal(body.stored, 50);
        assert.equal(await countPackets(db), 50);
        assert.equal(metrics.ingestRecords.get(), 50);
      });

      await t.step("stores a gzip batch", async () => {
        const res = await ingest(app, gzipSync(JSON.stringify(records)), {
          "content-encoding": "gzip",
          "idempotency-key": "b2",
          "x-agent-id": "probe-7",
        });
        assert.equal(res.status, 201);
        assert.equal(await countPackets(db), 100);
        const [{ agent_id }] = await db.sql<{ agent_id: string }[]>`
          select agent_id from ingest_batches where idempotency_key = 'b2'`;
        assert.equal(agent_id, "probe-7");
      });

      await t.step(
        "accepts a seed-style record with only the eight fixed fields",
        async () => {
          const seed = [{
            timestamp: 1_764_000_000.5,
            interface: "eth0",
            src_ip: "192.0.2.1",
            dst_ip: "192.0.2.2",
            protocol: "UDP",
            src_port: 5353,
            dst_port: 53,
            length: 74,
          }];
          const res = await ingest(app, JSON.stringify(seed), {
            "idempotency-key": "seed",
          });
          assert.equal(res.status, 201);
          const [row] = await db.sql<{ caplen: number; malformed: boolean }[]>`
          select caplen, malformed from raw_packets r join ingest_batches b on b.id = r.batch_id
          where b.idempotency_key = 'seed'`;
          assert.deepEqual({ ...row }, { caplen: 74, malformed: false });
        },
      );

      await t.step(
        "a repeated key with the same body answers 200 and stores nothing",
        async () => {
          const before = await countPackets(db);
          const res = await ingest(app, JSON.stringify(records), {
            "idempotency-key": "b1",
          });
          assert.equal(res.status, 200);
          assert.equal((await res.json()).status, "duplicate");
          assert.equal(await countPackets(db), before);
        },
      );

      await t.step("a repeated key with another body answers 409", async () => {
        const before = await countPackets(db);
        const res = await ingest(app, JSON.stringify(records.slice(1)), {
          "idempotency-key": "b1",
        });
        assert.equal(res.status, 409);
        assert.match((await res.json()).error, /already used/);
        assert.equal(await countPackets(db), before);
      });

      await t.step("bad JSON answers 400 and stores nothing", async () => {
        const before = await countPackets(db);
        const res = await ingest(app, "[{not json");
        assert.equal(res.status, 400);
        assert.match((await res.json()).error, /not valid JSON/);
        assert.equal(await countPackets(db), before);
      });

      await t.step(
        "invalid UTF-8 inside a text of the agents' form answers 400 and stores nothing",
        async () => {
          const before = await countPackets(db);
          // The scan reads this form itself; the value of `interface` gets 0xff 0xfe, no UTF-8.
          const text = new TextEncoder().encode(JSON.stringify(records.slice(0, 3)));
          const field = new TextEncoder().encode('"interface":"');
          const at = text.findIndex((_, i) => field.every((byte, k) => text[i + k] === byte)) +
            field.length;
          const body = new Uint8Array([...text.subarray(0, at), 0xff, 0xfe, ...text.subarray(at)]);
          for (const [encoding, sent] of [["identity", body], ["gzip", nodeGzip(body)]] as const) {
            const res = await ingest(app, new Uint8Array(sent), {
              "content-encoding": encoding,
              "idempotency-key": `utf8-${encoding}`,
            });
            assert.equal(res.status, 400, encoding);
            assert.match((await res.json()).error, /not valid UTF-8/, encoding);
          }
          assert.equal(await countPackets(db), before);
        },
      );

      await t.step("a body that is not an array answers 400", async () => {
        const res = await ingest(app, JSON.stringify(records[0]));
        assert.equal(res.status, 400);
        assert.match((await res.json()).error, /JSON array/);
      });

      await t.step("an empty batch answers 400", async () => {
        const res = await ingest(app, "[]");
        assert.equal(res.status, 400);
      });

      await t.step(
        "a schema violation names the record and field, and stores nothing",
        async () => {
          const before = await countPackets(db);
          const bad = structuredClone(records);
          (bad[7] as unknown as Record<string, unknown>).src_port = 70000;
          const res = await ingest(app, JSON.stringify(bad));
          assert.equal(res.status, 400);
          const body = await res.json();
          assert.equal(body.record, 7);
          assert.equal(body.field, "src_port");
          assert.match(body.error, /record 7, field src_port/);
          assert.equal(await countPackets(db), before);
        },
      );

      await t.step(
        "an unknown field, a bad address or a missing field is a 400",
        async (t) => {
          const cases: [string, (r: Record<string, unknown>) => void, string][] = [
            ["unknown field", (r) => (r.srcport = 1), "srcport"],
            ["bad address", (r) => (r.dst_ip = "300.1.1.1"), "dst_ip"],
            ["missing field", (r) => delete r.protocol, "protocol"],
            ["wrong type", (r) => (r.timestamp = "yesterday"), "timestamp"],
            ["<script> in a field", (r) => (r.eth_src = "<script>"), "eth_src"],
            // JSON carries both as \u escapes; PostgreSQL would refuse the
            // first (22021) and turn the second into U+FFFD.
            ["a NUL in interface", (r) => (r.interface = "eth\u00000"), "interface"],
            ["a NUL in protocol", (r) => (r.protocol = "TCP\u0000"), "protocol"],
            ["a lone surrogate in interface", (r) => (r.interface = "eth\ud800"), "interface"],
            [
              "a lone surrogate in malformed_reason",
              (r) => (r.malformed_reason = "\udfff"),
              "malformed_reason",
            ],
          ];
          for (const [name, mutate, field] of cases) {
            await t.step(name, async () => {
              const bad = structuredClone(
                records.slice(0, 3),
              ) as unknown as Record<string, unknown>[];
              mutate(bad[2]);
              const before = await countPackets(db);
              const res = await ingest(app, JSON.stringify(bad));
              assert.equal(res.status, 400);
              const body = await res.json();
              assert.equal(body.record, 2);
              assert.equal(body.field, field);
              assert.match(body.error, new RegExp(`record 2, field ${field}`));
              assert.equal(await countPackets(db), before);
            });
          }
        },
      );

      await t.step("a body over the size limit answers 413", async () => {
        const big = JSON.stringify(sampleRecords(1000, { dataBytes: 200 }));
        assert.ok(big.length > 200_000);
        const res = await ingest(app, big);
        assert.equal(res.status, 413);
        assert.match((await res.json()).error, /larger than 200000 bytes/);
      });

      await t.step(
        "a gzip body over the decompressed limit answers 413",
        async () => {
          const bomb = gzipSync(" ".repeat(2_000_000));
          assert.ok(bomb.length < 200_000);
          const res = await ingest(app, bomb, { "content-encoding": "gzip" });
          assert.equal(res.status, 413);
          assert.match((await res.json()).error, /after gunzip/);
        },
      );

      await t.step("too many records answers 413", async () => {
        const seedStyle = {
          timestamp: 1_764_000_000,
          interface: "eth0",
          src_ip: null,
          dst_ip: null,
          protocol: "ARP",
          src_port: null,
          dst_port: null,
          length: 42,
        };
        const many = JSON.stringify(
          Array.from({ length: 1001 }, () => seedStyle),
        );
        const res = await ingest(app, gzipSync(many), {
          "content-encoding": "gzip",
        });
        assert.equal(res.status, 413);
        assert.match((await res.json()).error, /limit of 1000/);
      });

      await t.step("bad gzip answers 400", async () => {
        const res = await ingest(app, "this is not gzip", {
          "content-encoding": "gzip",
        });
        assert.equal(res.status, 400);
        assert.match((await res.json()).error, /invalid gzip/);
      });

      await t.step("an unsupported encoding answers 415", async () => {
        const res = await ingest(app, "[]", { "content-encoding": "br" });
        assert.equal(res.status, 415);
      });

      await t.step("no token answers 401", async () => {
        const res = await app.request("/ingest_packets", {
          method: "POST",
          body: JSON.stringify(records),
        });
        assert.equal(res.status, 401);
        assert.match((await res.json()).error, /missing bearer token/);
        assert.ok(res.headers.get("www-authenticate"));
      });

      await t.step("a wrong token answers 401", async () => {
        const res = await ingest(app, JSON.stringify(records), {
          authorization: "Bearer nope",
        });
        assert.equal(res.status, 401);
        assert.match((await res.json()).error, /invalid bearer token/);
      });

      await t.step("the second configured token is accepted", async () => {
        const res = await ingest(app, JSON.stringify(records.slice(0, 1)), {
          authorization: "Bearer second-token",
        });
        assert.equal(res.status, 201);
      });

      await t.step("metrics count the results", async () => {
        const text = await (await app.request("/metrics")).text();
        assert.match(text, /ta_ingest_batches_total\{result="stored"\} 4/);
        assert.match(text, /ta_ingest_batches_total\{result="duplicate"\} 1/);
        assert.match(text, /ta_ingest_rejected_total\{status="401"\} 2/);
        assert.match(text, /ta_ingest_batch_records_bucket\{le="50"\} 4/);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name:
    "POST /ingest_packets stores a batch as agents write it (read from its bytes) as it stores the same batch spaced out (read by JSON.parse)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      const records = sampleRecords(20, { dataBytes: 8 }).map((record, i) => ({
        ...record,
        app_protocol: "http",
        http_host: ["bücher.example", 'a"b\\c', "\ufeffx"][i % 3],
        http_path: `/${i}\t\u2028`,
        http_status: 200,
        timestamp: [1_764_057_600.123456, 1_764_000_000.0012347, 0][i % 3],
      }));
      const texts = { compact: JSON.stringify(records), spaced: JSON.stringify(records, null, 1) };
      for (const [key, text] of Object.entries(texts)) {
        const res = await ingest(app, gzipSync(text), {
          "content-encoding": "gzip",
          "idempotency-key": key,
        });
        assert.equal(res.status, 201);
      }
      const rows = async (key: string) =>
        (await db.sql<{ row: string }[]>`
          select (to_jsonb(r) - 'id' - 'received_at' - 'batch_id')::text as row
          from raw_packets r join ingest_batches b on b.id = r.batch_id
          where b.idempotency_key = ${key} order by r.id`).map(({ row }) => row);
      const compact = await rows("compact");
      assert.equal(compact.length, records.length);
      assert.deepEqual(compact, await rows("spaced"));
    } finally {
      await db.close();
    }
  },
});

/** The rows a batch stored, but `id`, `received_at` and `batch_id`, as JSON text. */
async function storedRows(db: TestDatabase, key: string): Promise<string[]> {
  return (await db.sql<{ row: string }[]>`
    select (to_jsonb(r) - 'id' - 'received_at' - 'batch_id')::text as row
    from raw_packets r join ingest_batches b on b.id = r.batch_id
    where b.idempotency_key = ${key} order by r.id`).map(({ row }) => row);
}

/** The column block a batch stored, as hex. */
async function storedBlock(db: TestDatabase, key: string): Promise<string> {
  const [{ block }] = await db.sql<{ block: Uint8Array }[]>`
    select c.block from batch_packet_columns c join ingest_batches b on b.id = c.batch_id
    where b.idempotency_key = ${key}`;
  return new Uint8Array(block).toHex();
}

Deno.test({
  name:
    "POST /ingest_packets stores a JSON batch read into a builder a larger batch used (and a refused one after it) as it stores it read into a new one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db, {
        limits: { maxBodyBytes: 8_000_000, maxDecompressedBytes: 8_000_000, maxBatchRecords: 5000 },
      });
      const small = sampleRecords(13, { seed: 5, dataBytes: 8 });
      // Every app-layer, boolean and binary cell set, so any of it left in the builder shows.
      const large = busyRecords(2500, { seed: 6, dataBytes: 200 });
      const post = async (key: string, records: unknown[], status = 201) => {
        const res = await ingest(app, JSON.stringify(records), { "idempotency-key": key });
        assert.equal(res.status, status, await res.text());
      };
      // The first request's builder is new; the later ones reuse it.
      await post("fresh", small);
      await post("large", large);
      await post("refused", [...large.slice(0, 100), { ...large[100], dns_ttl: -5 }], 400);
      await post("reused", small);
      const rows = (key: string) => storedRows(db, key);
      const block = (key: string) => storedBlock(db, key);
      const fresh = await rows("fresh");
      assert.equal(fresh.length, small.length);
      assert.deepEqual(await rows("reused"), fresh);
      assert.equal(await block("reused"), await block("fresh"));
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name:
    "POST /ingest_packets stores a zstd Arrow batch the same whether its frame declares its size or not, before and after larger and refused ones",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db, {
        limits: { maxBodyBytes: 8_000_000, maxDecompressedBytes: 8_000_000, maxBatchRecords: 5000 },
      });
      // The agent's frames declare their size (the server sizes its buffer by it); other
      // writers' may not.
      const arrowOf = (records: readonly PacketRecord[], declared = true) => {
        const builder = new ColumnarBatchBuilder(records.length);
        for (const record of records) builder.appendRecord(record);
        const stream = encodeArrowBatch(builder.build());
        const options = declared ? { pledgedSrcSize: stream.length } as ZstdOptions : {};
        return zstdCompressSync(stream, options);
      };
      const small = sampleRecords(13, { seed: 5, dataBytes: 8 });
      // Every app-layer, boolean and binary cell set, so any of it left behind would show.
      const large = busyRecords(2500, { seed: 6, dataBytes: 200 });
      const post = async (key: string, body: Uint8Array, status = 201) => {
        const res = await ingest(app, body as BodyInit, {
          "idempotency-key": key,
          "content-type": ARROW_STREAM_TYPE,
          "content-encoding": "zstd",
        });
        assert.equal(res.status, status, await res.text());
      };
      await post("fresh", arrowOf(small, false));
      await post("large", arrowOf(large));
      const refused = arrowOf(large);
      refused[refused.length - 20] ^= 0xff;
      await post("refused", refused, 400);
      await post("large-again", arrowOf(large), 201);
      await post("declared", arrowOf(small));
      const rows = (key: string) => storedRows(db, key);
      const block = (key: string) => storedBlock(db, key);
      const fresh = await rows("fresh");
      assert.equal(fresh.length, small.length);
      assert.deepEqual(await rows("declared"), fresh);
      assert.equal(await block("declared"), await block("fresh"));
      assert.deepEqual(await rows("large-again"), await rows("large"));
      assert.equal(await block("large-again"), await block("large"));
    } finally {
      await db.close();
    }
  },
});
