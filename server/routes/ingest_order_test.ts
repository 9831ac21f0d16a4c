import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { countPackets, ingest, makeTestApp } from "../_test_app.ts";

Deno.test({
  name: "POST /ingest_packets stores the batch's place in its agent's capture",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db);
      const body = JSON.stringify(sampleRecords(5));
      const order = async (key: string) => {
        const rows = await db.sql<{ stream: string | null; sequence: number | null }[]>`
          select stream, sequence from ingest_batches where idempotency_key = ${key}`;
        return rows.length === 0 ? undefined : { ...rows[0], sequence: rows[0].sequence };
      };

      await t.step("X-Batch-Stream and X-Batch-Sequence are stored with the batch", async () => {
        const res = await ingest(app, body, {
          "idempotency-key": "ordered",
          "x-agent-id": "a1",
          "x-batch-stream": "file-0123abcd",
          "x-batch-sequence": "9007199254740991",
        });
        assert.equal(res.status, 201);
        const stored = await order("ordered");
        assert.equal(stored?.stream, "file-0123abcd");
        assert.equal(Number(stored?.sequence), 9007199254740991);
      });

      await t.step("without them the batch has no order (commit order)", async () => {
        const res = await ingest(app, body, { "idempotency-key": "plain" });
        assert.equal(res.status, 201);
        assert.deepEqual(await order("plain"), { stream: null, sequence: null });
      });

      const bad: [string, Record<string, string>, string][] = [
        ["a sequence without a stream", { "x-batch-sequence": "0" }, "X-Batch-Stream"],
        ["a stream without a sequence", { "x-batch-stream": "live-1" }, "X-Batch-Sequence"],
        ["a negative sequence", { "x-batch-stream": "s", "x-batch-sequence": "-1" }, "Sequence"],
        ["an exponent", { "x-batch-stream": "s", "x-batch-sequence": "1e3" }, "Sequence"],
        ["hex", { "x-batch-stream": "s", "x-batch-sequence": "0x10" }, "Sequence"],
        ["a leading zero", { "x-batch-stream": "s", "x-batch-sequence": "007" }, "Sequence"],
        ["a fraction", { "x-batch-stream": "s", "x-batch-sequence": "1.5" }, "Sequence"],
        [
          "a sequence past 2^53 - 1",
          { "x-batch-stream": "s", "x-batch-sequence": "9007199254740992" },
          "Sequence",
        ],
        [
          "a stream of 101 characters",
          { "x-batch-stream": "s".repeat(101), "x-batch-sequence": "1" },
          "Stream",
        ],
        [
          "a stream with a space",
          { "x-batch-stream": "live 1", "x-batch-sequence": "1" },
          "Stream",
        ],
      ];
      for (const [what, headers, named] of bad) {
        await t.step(`${what} answers 400 naming the header, and stores nothing`, async () => {
          const before = await countPackets(db);
          const key = `bad-${what}`.replaceAll(" ", "-");
          const res = await ingest(app, body, { "idempotency-key": key, ...headers });
          assert.equal(res.status, 400);
          const answer = await res.json();
          assert.match(answer.error, new RegExp(`X-Batch-${named.replace("X-Batch-", "")}`));
          assert.equal(await countPackets(db), before);
          assert.equal(await order(key), undefined);
        });
      }
    } finally {
      await db.close();
    }
  },
});
