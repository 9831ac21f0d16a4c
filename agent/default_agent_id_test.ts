import assert from "node:assert/strict";
import { Batcher } from "./batcher.ts";
import { defaultAgentId } from "./main.ts";

Deno.test("a file read without AGENT_ID is an agent of its own, apart from live capture", () => {
  const live = defaultAgentId();
  const read = defaultAgentId("/captures/site a/mirror é.pcap");
  assert.notEqual(read, live);
  assert.ok(read.startsWith(`${live}:`), read);
  assert.ok(read.endsWith(":mirror--.pcap"), read);
  // Always an id the batcher and ingest take (printable ASCII, no spaces, bounded).
  for (const id of [live, read, defaultAgentId(`/tmp/${"x".repeat(300)}.pcap`)]) {
    assert.ok(Batcher.isValidAgentId(id), id);
  }
  // The same file read again (say with --restart) is the same agent, so its batches repeat.
  assert.equal(defaultAgentId("other/dir/mirror é.pcap"), read);
});
