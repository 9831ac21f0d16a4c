import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { readStreamPositions, saveStreamPositions } from "./stream_positions.ts";
import type { Sql } from "./open_database.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

Deno.test({
  name:
    "saveStreamPositions() counts a stream as moved only when its position advances, so late batches do not restart a gap's wait",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stream = { agentId: "a", stream: "live-1" };
    const save = (nextSequence: number) =>
      db.sql.begin((tx) =>
        saveStreamPositions(tx as unknown as Sql, [{ ...stream, nextSequence }])
      );
    const sinceMoved = async () =>
      (await readStreamPositions(db.sql, [stream]))[0].sinceMovedMs ?? -1;
    await save(10_000);
    // The stream last moved ten minutes ago.
    await db.sql`update aggregator_streams set updated_at = now() - interval '10 minutes'
      where agent_id = ${stream.agentId} and stream = ${stream.stream}`;
    // A pass that merged only late batches writes the same position.
    await save(10_000);
    assert.ok(await sinceMoved() >= 590_000, "a pass that did not move it leaves the time");
    await save(15_000);
    assert.ok(await sinceMoved() < 60_000, "an advance is a move");
    assert.equal((await readStreamPositions(db.sql, [stream]))[0].nextSequence, 15_000);
  },
});
