import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { decodeBatchBody, encodeBatch, type EncodedBatch } from "./batch_codec.ts";
import { Uploader, type UploaderOptions } from "./uploader.ts";
import { columnsOf } from "./_test_support.ts";

interface Seen {
  headers: Headers;
  body: Uint8Array;
}

type Reply = (request: Request, body: Uint8Array) => Response;

/**
 * An HTTP server on 127.0.0.1 answering from a script, one reply per request
 * (the last repeats), recording what it was sent. Only for the status
 * sequences the real server cannot be made to produce on demand.
 */
function scriptedServer(replies: Reply[]) {
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const body = new Uint8Array(await request.arrayBuffer());
      seen.push({ headers: request.headers, body });
      const reply = replies[Math.min(seen.length - 1, replies.length - 1)];
      return reply(request, body);
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/ingest_packets`;
  return { seen, url, [Symbol.asyncDispose]: () => server.shutdown() };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
const stored = json(201, { status: "stored", batch_id: 1, stored: 1 });

function batchOf(count: number, key = "sensor-1:k1"): EncodedBatch {
  return encodeBatch({ key, columns: columnsOf(sampleRecords(count)), createdAtMs: 0 })[0];
}

function uploader(url: string, overrides: Partial<UploaderOptions> = {}) {
  const delays: number[] = [];
  const invalidated: number[] = [];
  const up = new Uploader({
    serverUrl: url,
    agentId: "sensor-1",
    token: {
      get: () => Promise.resolve("secret"),
      invalidate: () => invalidated.push(1),
    },
    maxRetries: 3,
    retryDelayMs: 100,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve(true);
    },
    ...overrides,
  });
  return { up, delays, invalidated };
}

Deno.test("Uploader sends zstd Arrow with the bearer token, idempotency key and agent id", async () => {
  await using server = scriptedServer([stored]);
  const { up } = uploader(server.url);
  const batch = batchOf(5);
  const outcomes = await up.upload(batch);
  assert.deepEqual(outcomes.map((o) => [o.kind, o.status]), [["delivered", 201]]);
  const [request] = server.seen;
  assert.equal(request.headers.get("authorization"), "Bearer secret");
  assert.equal(request.headers.get("content-type"), "application/vnd.apache.arrow.stream");
  assert.equal(request.headers.get("content-encoding"), "zstd");
  assert.equal(request.headers.get("idempotency-key"), "sensor-1:k1");
  assert.equal(request.headers.get("x-agent-id"), "sensor-1");
  assert.deepEqual(request.body, batch.body);
  assert.equal(decodeBatchBody(request.body).length, 5);
});

Deno.test("Uploader retries 500 and 503 with the same key and body, then succeeds", async (t) => {
  await t.step(
    "500, 500, then 200 duplicate: delivered, backoff doubles from RETRY_DELAY",
    async () => {
      await using server = scriptedServer([
        json(500, { error: "internal server error" }),
        json(500, { error: "internal server error" }),
        json(200, { status: "duplicate", batch_id: 1, stored: 0 }),
      ]);
      const { up, delays } = uploader(server.url);
      const outcomes = await up.upload(batchOf(3));
      assert.deepEqual(outcomes.map((o) => [o.kind, o.status]), [["delivered", 200]]);
      assert.deepEqual(delays, [100, 200]);
      assert.equal(server.seen.length, 3);
      assert.equal(new Set(server.seen.map((s) => s.headers.get("idempotency-key"))).size, 1);
      assert.ok(server.seen.every((s) => s.body.length === server.seen[0].body.length));
    },
  );

  await t.step("503 with Retry-After is honoured, capped by maxRetryDelayMs", async () => {
    await using server = scriptedServer([
      json(503, { error: "database unavailable, retry later" }, { "retry-after": "5" }),
      json(503, { error: "database unavailable, retry later" }, { "retry-after": "3600" }),
      stored,
    ]);
    const { up, delays } = uploader(server.url, { maxRetryDelayMs: 60_000 });
    const outcomes = await up.upload(batchOf(3));
    assert.equal(outcomes[0].kind, "delivered");
    assert.deepEqual(delays, [5_000, 60_000]);
  });

  await t.step(
    "always 500: failed after MAX_RETRIES retries, with the server's reason",
    async () => {
      await using server = scriptedServer([json(500, { error: "internal server error" })]);
      const { up, delays } = uploader(server.url, { maxRetries: 2 });
      const [outcome] = await up.upload(batchOf(3));
      assert.equal(outcome.kind, "failed");
      assert.equal(server.seen.length, 3);
      assert.deepEqual(delays, [100, 200]);
      assert.match(outcome.reason, /HTTP 500: internal server error/);
    },
  );
});

Deno.test("Uploader sorts final answers into outcomes", async (t) => {
  await t.step("401: unauthorized, not retried, token cache dropped", async () => {
    await using server = scriptedServer([json(401, { error: "invalid bearer token" })]);
    const { up, delays, invalidated } = uploader(server.url);
    const [outcome] = await up.upload(batchOf(2));
    assert.equal(outcome.kind, "unauthorized");
    assert.equal(outcome.status, 401);
    assert.equal(server.seen.length, 1);
    assert.deepEqual(delays, []);
    assert.equal(invalidated.length, 1);
  });

  await t.step("400: rejected with the server's record and field", async () => {
    await using server = scriptedServer([
      json(400, { error: "invalid record 1, field ttl: too big", record: 1, field: "ttl" }),
    ]);
    const { up } = uploader(server.url);
    const [outcome] = await up.upload(batchOf(2));
    assert.equal(outcome.kind, "rejected");
    assert.ok(outcome.kind === "rejected");
    assert.equal(
      outcome.reason,
      'HTTP 400: invalid record 1, field ttl: too big (record 1, field "ttl")',
    );
  });

  await t.step("409: rejected", async () => {
    await using server = scriptedServer([json(409, { error: "key reused", batch_id: 4 })]);
    const { up } = uploader(server.url);
    assert.equal((await up.upload(batchOf(2)))[0].kind, "rejected");
  });

  await t.step("a 200 that is not an ingest answer is not a delivery", async () => {
    await using server = scriptedServer([
      () => new Response("<html>hello</html>", { status: 200 }),
    ]);
    const { up } = uploader(server.url, { maxRetries: 0 });
    const [outcome] = await up.upload(batchOf(2));
    assert.equal(outcome.kind, "failed");
  });

  await t.step("a redirect is not followed", async () => {
    await using server = scriptedServer([
      () => new Response(null, { status: 302, headers: { location: "/elsewhere" } }),
    ]);
    const { up } = uploader(server.url, { maxRetries: 0 });
    const [outcome] = await up.upload(batchOf(2));
    assert.equal(outcome.kind, "failed");
    assert.equal(server.seen.length, 1);
  });

  await t.step("405 from the server's base URL names SERVER_URL", async () => {
    await using server = scriptedServer([
      json(405, { error: "POST is not allowed on /: use GET or HEAD" }),
    ]);
    const { up } = uploader(server.url, { maxRetries: 0 });
    const [outcome] = await up.upload(batchOf(2));
    assert.equal(outcome.kind, "failed");
    assert.ok(outcome.kind === "failed");
    assert.match(outcome.reason, /^HTTP 405: .*: is SERVER_URL the ingest URL, such as http:/);
  });

  await t.step("no token at all: unauthorized without a request", async () => {
    await using server = scriptedServer([stored]);
    const { up } = uploader(server.url, {
      token: { get: () => Promise.resolve(null), invalidate: () => {} },
    });
    const [outcome] = await up.upload(batchOf(2));
    assert.equal(outcome.kind, "unauthorized");
    assert.equal(server.seen.length, 0);
  });
});

Deno.test("Uploader retries network errors and gives up as failed", async () => {
  // A port that was just free: connecting is refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const { up, delays } = uploader(`http://127.0.0.1:${port}/ingest_packets`, { maxRetries: 2 });
  const [outcome] = await up.upload(batchOf(2));
  assert.equal(outcome.kind, "failed");
  assert.equal(outcome.status, null);
  assert.deepEqual(delays, [100, 200]);
});

Deno.test("Uploader splits a batch on 413 into halves with derived keys until each fits", async () => {
  // Accepts at most 2 records per request, like MAX_BATCH_RECORDS=2.
  await using server = scriptedServer([(_request, body) => {
    const records = decodeBatchBody(body);
    return records.length > 2
      ? json(413, { error: "too many records", limit_records: 2 })()
      : stored();
  }]);
  const { up } = uploader(server.url);
  const batch = batchOf(5, "a:k");
  const outcomes = await up.upload(batch);
  assert.ok(outcomes.every((o) => o.kind === "delivered"));
  assert.deepEqual(outcomes.map((o) => o.batch.key), ["a:k/0", "a:k/1/0", "a:k/1/1"]);
  assert.deepEqual(outcomes.map((o) => o.batch.records), [2, 1, 2]);
  assert.deepEqual(
    outcomes.flatMap((o) => decodeBatchBody(o.batch.body)),
    decodeBatchBody(batch.body),
  );
});

Deno.test("Uploader dead-letters a single record the server finds too large", async () => {
  await using server = scriptedServer([
    json(413, { error: "request body is larger than 1024 bytes" }),
  ]);
  const { up } = uploader(server.url);
  const [outcome] = await up.upload(batchOf(1));
  assert.equal(outcome.kind, "rejected");
  assert.equal(outcome.status, 413);
});

Deno.test("Uploader stops retrying when its signal aborts", async () => {
  await using server = scriptedServer([json(503, { error: "down" })]);
  const abort = new AbortController();
  const { up } = uploader(server.url, {
    sleep: () => {
      abort.abort();
      return Promise.resolve(false);
    },
  });
  const [outcome] = await up.upload(batchOf(2), { signal: abort.signal });
  assert.equal(outcome.kind, "failed");
  assert.equal(server.seen.length, 1);
});
