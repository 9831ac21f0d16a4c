import assert from "node:assert/strict";
import { Batcher, MAX_AGENT_ID_LENGTH } from "./batcher.ts";
import { defaultAgentId } from "./main.ts";

Deno.test("a file read without AGENT_ID is an agent of its own, apart from live capture", () => {
  const live = defaultAgentId();
  const read = defaultAgentId(true);
  assert.notEqual(read, live);
  assert.equal(read, `${live}:read`.slice(-MAX_AGENT_ID_LENGTH));
  // Always an id the batcher and ingest take (printable ASCII, no spaces, bounded).
  for (const id of [live, read]) assert.ok(Batcher.isValidAgentId(id), id);
});
