import assert from "node:assert/strict";
import { loadConfig } from "@traffic-analyzer/shared";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { Batcher, type PacketBatch } from "./batcher.ts";
import { openAgentServices } from "./agent_services.ts";
import { describeOtherTargets } from "./other_targets.ts";
import { keptBatch } from "./_test_support.ts";

/** An ingest endpoint that counts requests and answers 201, or 503 while `down`. */
function stubIngest() {
  const stub = {
    requests: 0,
    down: false,
    url: "",
    server: null as Deno.HttpServer<Deno.NetAddr> | null,
  };
  stub.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    stub.requests++;
    return stub.down
      ? Response.json({ error: "database unavailable" }, { status: 503 })
      : Response.json({ status: "stored", batch_id: 1, stored: 1 }, { status: 201 });
  });
  stub.url = `http://127.0.0.1:${stub.server.addr.port}/ingest_packets`;
  return stub;
}

function oneBatch(): PacketBatch {
  const batches: PacketBatch[] = [];
  const batcher = new Batcher({
    batchSize: 5,
    batchTimeoutMs: 60_000,
    agentId: "services",
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
  const open = (url: string) =>
    openAgentServices({
      config: loadConfig({
        env: { DATA_DIR: dir, SERVER_URL: url, AGENT_TOKEN: "t", MAX_RETRIES: "0" },
      }).config,
      agentId: "services",
    });
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
