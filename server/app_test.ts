import assert from "node:assert/strict";
import { gzipSync as nodeGzip } from "node:zlib";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { TUNNEL_TYPES } from "@traffic-analyzer/shared/packet/record";
import { createApp, type CreateAppOptions } from "./app.ts";
import { createServerMetrics } from "./server_metrics.ts";

const TOKEN = "test-token-1";
const gzipSync = (text: string) => new Uint8Array(nodeGzip(text));
const db = await openTestDatabase();

function makeApp(overrides: Partial<CreateAppOptions> = {}) {
  const metrics = createServerMetrics();
  const app = createApp({
    sql: db.sql,
    backend: db.kind,
    ingestTokens: [TOKEN, "second-token"],
    limits: {
      maxBodyBytes: 200_000,
      maxDecompressedBytes: 400_000,
      maxBatchRecords: 1000,
    },
    clock: () => 1_000_000,
    startedAtMs: 940_000,
    metrics,
    ...overrides,
  });
  return { app, metrics };
}

function ingest(
  app: ReturnType<typeof makeApp>["app"],
  body: BodyInit,
  headers: Record<string, string> = {},
) {
  return app.request("/ingest_packets", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${TOKEN}`,
      ...headers,
    },
  });
}

async function countPackets(): Promise<number> {
  const [{ n }] = await db.sql<
    { n: number }[]
  >`select count(*)::int8 as n from raw_packets`;
  return n;
}

async function insertFlow(i: number, overrides: Record<string, unknown> = {}) {
  const row = {
    flow_uid: `uid-${i}`,
    community_id: `1:cid${i}=`,
    orig_ip: "10.0.0.1",
    orig_port: 40000 + i,
    resp_ip: "10.0.0.2",
    resp_port: 80,
    protocol: "TCP",
    first_seen: 1_764_000_000 + i,
    last_seen: 1_764_000_010 + i,
    orig_packets: 3,
    resp_packets: 2,
    orig_bytes: 300,
    resp_bytes: 200,
    state: "closed",
    label: "benign",
    score: 0.9,
    model_version: "test",
    ...overrides,
  };
  await db.sql`insert into traffic_data ${db.sql(row)}`;
}

Deno.test({
  name: "POST /ingest_packets",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await db.truncate();
    const { app, metrics } = makeApp();
    const records = sampleRecords(50, { dataBytes: 8 });

    await t.step("stores a plain JSON batch and answers 201", async () => {
      const res = await ingest(app, JSON.stringify(records), {
        "idempotency-key": "b1",
      });
      assert.equal(res.status, 201);
      const body = await res.json();
      assert.equal(body.status, "stored");
      assert.equal(body.stored, 50);
      assert.equal(await countPackets(), 50);
      assert.equal(metrics.ingestRecords.get(), 50);
    });

    await t.step("stores a gzip batch", async () => {
      const res = await ingest(app, gzipSync(JSON.stringify(records)), {
        "content-encoding": "gzip",
        "idempotency-key": "b2",
        "x-agent-id": "probe-7",
      });
      assert.equal(res.status, 201);
      assert.equal(await countPackets(), 100);
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
        const before = await countPackets();
        const res = await ingest(app, JSON.stringify(records), {
          "idempotency-key": "b1",
        });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).status, "duplicate");
        assert.equal(await countPackets(), before);
      },
    );

    await t.step("a repeated key with another body answers 409", async () => {
      const before = await countPackets();
      const res = await ingest(app, JSON.stringify(records.slice(1)), {
        "idempotency-key": "b1",
      });
      assert.equal(res.status, 409);
      assert.match((await res.json()).error, /already used/);
      assert.equal(await countPackets(), before);
    });

    await t.step("bad JSON answers 400 and stores nothing", async () => {
      const before = await countPackets();
      const res = await ingest(app, "[{not json");
      assert.equal(res.status, 400);
      assert.match((await res.json()).error, /not valid JSON/);
      assert.equal(await countPackets(), before);
    });

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
        const before = await countPackets();
        const bad = structuredClone(records);
        (bad[7] as unknown as Record<string, unknown>).src_port = 70000;
        const res = await ingest(app, JSON.stringify(bad));
        assert.equal(res.status, 400);
        const body = await res.json();
        assert.equal(body.record, 7);
        assert.equal(body.field, "src_port");
        assert.match(body.error, /record 7, field src_port/);
        assert.equal(await countPackets(), before);
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
        ];
        for (const [name, mutate, field] of cases) {
          await t.step(name, async () => {
            const bad = structuredClone(
              records.slice(0, 3),
            ) as unknown as Record<string, unknown>[];
            mutate(bad[2]);
            const res = await ingest(app, JSON.stringify(bad));
            assert.equal(res.status, 400);
            const body = await res.json();
            assert.equal(body.record, 2);
            assert.equal(body.field, field);
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
  },
});

Deno.test({
  name: "flow and packet API",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await db.truncate();
    const { app } = makeApp();
    for (let i = 1; i <= 25; i++) await insertFlow(i);

    await t.step(
      "GET /api/last10 returns the ten most recently active flows",
      async () => {
        const res = await app.request("/api/last10");
        assert.equal(res.status, 200);
        const flows = await res.json();
        assert.equal(flows.length, 10);
        assert.equal(flows[0].flow_uid, "uid-25");
        for (
          const field of [
            "id",
            "community_id",
            "orig_ip",
            "orig_port",
            "resp_ip",
            "resp_port",
            "protocol",
            "vlan",
            "first_seen",
            "last_seen",
            "orig_packets",
            "resp_packets",
            "orig_bytes",
            "resp_bytes",
            "state",
            "label",
            "score",
            "model_version",
          ]
        ) assert.ok(field in flows[0], field);
        assert.equal(flows[0].orig_ip, "10.0.0.1");
        assert.equal(typeof flows[0].orig_packets, "number");
      },
    );

    await t.step(
      "GET /api/alltraffic pages through every flow once, in a stable order",
      async () => {
        const seen: number[] = [];
        let cursor: number | null = null;
        do {
          const url: string = `/api/alltraffic?limit=7${cursor ? `&cursor=${cursor}` : ""}`;
          const res = await app.request(url);
          assert.equal(res.status, 200);
          const page: { flows: { id: number }[]; next_cursor: number | null } = await res.json();
          seen.push(...page.flows.map((f) => f.id));
          cursor = page.next_cursor;
          // A flow inserted while paging must not shift the pages.
          if (seen.length === 7) await insertFlow(99);
        } while (cursor !== null);
        assert.equal(seen.length, 25);
        assert.equal(new Set(seen).size, 25);
        assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
      },
    );

    await t.step(
      "GET /api/alltraffic?community_id= gives the flows of one Community ID",
      async () => {
        await insertFlow(101, { community_id: "1:wCb3OG7yAFWelaUydu0D+125CLM=" });
        await insertFlow(102, { community_id: "1:wCb3OG7yAFWelaUydu0D+125CLM=" });
        const res = await app.request(
          `/api/alltraffic?community_id=${encodeURIComponent("1:wCb3OG7yAFWelaUydu0D+125CLM=")}`,
        );
        assert.equal(res.status, 200);
        const page: { flows: { flow_uid: string }[]; next_cursor: number | null } = await res
          .json();
        assert.deepEqual(page.flows.map((f) => f.flow_uid), ["uid-102", "uid-101"]);
        assert.equal(page.next_cursor, null);
        const none = await app.request("/api/alltraffic?community_id=1:AAAA");
        assert.deepEqual((await none.json()).flows, []);
      },
    );

    await t.step(
      "GET /api/alltraffic rejects a bad limit, cursor or community_id with 400",
      async () => {
        for (
          const query of [
            "limit=0",
            "limit=5000",
            "limit=abc",
            "cursor=-3",
            "community_id=nope",
            `community_id=${"1:" + "A".repeat(120)}`,
          ]
        ) {
          const res = await app.request(`/api/alltraffic?${query}`);
          assert.equal(res.status, 400, query);
          assert.ok((await res.json()).error);
        }
      },
    );

    await t.step(
      "GET /api/raw_packets/last/{count} returns the newest packets",
      async () => {
        const records = sampleRecords(5, { dataBytes: 4 });
        await ingest(app, JSON.stringify(records), {
          "idempotency-key": "raw",
        });
        const res = await app.request("/api/raw_packets/last/3");
        assert.equal(res.status, 200);
        const packets = await res.json();
        assert.equal(packets.length, 3);
        assert.equal(packets[0].timestamp, records[4].timestamp);
        assert.equal(packets[0].data, records[4].data);
      },
    );

    await t.step(
      "GET /api/raw_packets/last/{count} validates count",
      async () => {
        for (const count of ["0", "-1", "abc", "100001", "1.5"]) {
          const res = await app.request(`/api/raw_packets/last/${count}`);
          assert.equal(res.status, 400, count);
          assert.match((await res.json()).error, /count/);
        }
      },
    );

    await t.step(
      "GET / and /alltraffic_page render HTML with escaped fields",
      async () => {
        await insertFlow(200, {
          label: "<script>alert(1)</script>",
          last_seen: 1_800_000_000,
        });
        const res = await app.request("/");
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /text\/html/);
        const page = await res.text();
        assert.ok(!page.includes("<script>alert(1)</script>"));
        assert.ok(page.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
        const all = await app.request("/alltraffic_page?limit=5");
        assert.equal(all.status, 200);
        const text = await all.text();
        assert.match(text, /Next page/);
        assert.ok(!text.includes("<script>alert"));
        assert.equal(
          (await app.request("/alltraffic_page?limit=0")).status,
          400,
        );
      },
    );

    await t.step(
      "GET /health reports the database, version and uptime",
      async () => {
        const res = await app.request("/health");
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.status, "ok");
        assert.equal(body.database.ok, true);
        assert.equal(body.database.backend, db.kind);
        assert.ok(body.database.schema_version >= 1);
        assert.equal(body.uptime_sec, 60);
        assert.match(body.version, /^\d+\.\d+\.\d+/);
        assert.equal(body.aggregator.last_pass_at, null);
        assert.equal(body.aggregator.lag_packets, 5, "the five packets ingested above");
        assert.ok(body.aggregator.lag_sec >= 0);
      },
    );

    await t.step("GET /openapi.json documents every route", async () => {
      const res = await app.request("/openapi.json");
      assert.equal(res.status, 200);
      const doc = await res.json();
      for (
        const path of [
          "/ingest_packets",
          "/api/last10",
          "/api/alltraffic",
          "/api/raw_packets/last/{count}",
          "/health",
        ]
      ) assert.ok(doc.paths[path], path);
      const body = doc.paths["/ingest_packets"].post.requestBody.content["application/json"];
      const fields = Object.keys(body.schema.items.properties);
      for (const field of ["tunnel_type", "tunnel_src_ip", "tunnel_dst_ip", "tunnel_id"]) {
        assert.ok(fields.includes(field), `the record schema documents ${field}`);
      }
      const tunnelType = JSON.stringify(body.schema.items.properties.tunnel_type);
      for (const type of TUNNEL_TYPES) assert.ok(tunnelType.includes(`"${type}"`), tunnelType);
    });

    await t.step("an unknown route answers 404 in JSON", async () => {
      const res = await app.request("/nope");
      assert.equal(res.status, 404);
      assert.ok((await res.json()).error);
    });
  },
});

Deno.test({
  name: "a database outage answers 503 and stores nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // A second database, closed to simulate the outage; the shared one stays up.
    const { openDatabase } = await import("@traffic-analyzer/shared/db");
    const url = Deno.env.get("DATABASE_URL") || null;
    const broken = url
      ? await openDatabase({
        databaseUrl: url.replace(/:\d+\//, ":1/"),
        poolSize: 1,
      })
      : await openDatabase({});
    if (!url) await broken.close();
    const { app } = makeApp({ sql: broken.sql, backend: broken.kind });
    const records = sampleRecords(3);
    await t.step("ingest answers 503 with Retry-After", async () => {
      const res = await ingest(app, JSON.stringify(records));
      assert.equal(res.status, 503);
      assert.match((await res.json()).error, /database unavailable/);
      assert.ok(res.headers.get("retry-after"));
    });
    await t.step("health answers 503", async () => {
      const res = await app.request("/health");
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.equal(body.database.ok, false);
    });
    await t.step("API reads answer 503", async () => {
      assert.equal((await app.request("/api/last10")).status, 503);
    });
    await broken.close();
  },
});

Deno.test({
  name: "close the shared test database",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.close();
  },
});
