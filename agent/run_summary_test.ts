import assert from "node:assert/strict";
import { DeliveryTally } from "./delivery_tally.ts";
import { summarizeRun } from "./run_summary.ts";

function tally(counts: Partial<Record<Parameters<DeliveryTally["add"]>[0], number>>) {
  const t = new DeliveryTally();
  for (const [kind, batches] of Object.entries(counts)) {
    t.add(kind as Parameters<DeliveryTally["add"]>[0], batches, batches * 10);
  }
  return t;
}

const facts = {
  mode: "read" as const,
  source: "a.pcap",
  packets: 200,
  startIndex: 0,
  seconds: 1.23,
};

Deno.test("summarizeRun() says what a read did in one line and exits 0 when all was sent", () => {
  const outcome = summarizeRun({ ...facts, tally: tally({ sent: 20 }), outboxPending: 0 });
  assert.equal(
    outcome.line,
    "agent: read 200 packets from a.pcap in 1.2 s: 20 batches sent, 0 stored in the outbox, 0 dead letters",
  );
  assert.deepEqual([outcome.exitCode, outcome.problem], [0, null]);
});

Deno.test("summarizeRun() names a resume, batches found filed before, replays and drops", () => {
  const outcome = summarizeRun({
    ...facts,
    startIndex: 4000,
    tally: tally({ sent: 1, dead_lettered: 1, replayed: 3, already_filed: 2, dropped: 1 }),
    outboxPending: 0,
  });
  assert.equal(
    outcome.line,
    "agent: read 200 packets from a.pcap (resumed at packet 4000) in 1.2 s: 1 batch sent, " +
      "0 stored in the outbox, 1 dead letter, 3 replayed from the outbox, " +
      "1 dropped (larger than OUTBOX_MAX_BYTES), 2 already sent or stored before",
  );
});

Deno.test("summarizeRun() exits 1 when the token kept batches back, and says what to do", async (t) => {
  await t.step("refused", () => {
    const refused = tally({ stored: 20 });
    refused.refused("HTTP 401: invalid bearer token");
    const outcome = summarizeRun({ ...facts, tally: refused, outboxPending: 20 });
    assert.equal(outcome.exitCode, 1);
    assert.equal(
      outcome.problem,
      "nothing was delivered: the server refused the token (HTTP 401: invalid bearer token); " +
        "set AGENT_TOKEN to one of its INGEST_TOKENS. The 20 batches wait in the outbox; " +
        "`deno task replay` sends them once the token is right",
    );
  });
  await t.step("missing, after some were sent", () => {
    const missing = tally({ sent: 2, stored: 1 });
    missing.refused(
      "no token: set AGENT_TOKEN, or start the server so it writes DATA_DIR/ingest_token",
    );
    const outcome = summarizeRun({ ...facts, tally: missing, outboxPending: 1 });
    assert.equal(outcome.exitCode, 1);
    assert.match(
      outcome.problem!,
      /^10 packets were not delivered: there is no token \(set AGENT_TOKEN, or start the server .*\)\. The 1 batch waits in the outbox; `deno task replay` sends it once/,
    );
  });
});

Deno.test("summarizeRun() exits 3 when a failing server left batches in the outbox", () => {
  const failing = tally({ stored: 5 });
  failing.failed("network error: connection refused");
  const outcome = summarizeRun({ ...facts, tally: failing, outboxPending: 5 });
  assert.equal(outcome.exitCode, 3);
  assert.equal(
    outcome.problem,
    "5 batches wait in the outbox (server failing: network error: connection refused); " +
      "`deno task replay` or the next agent run sends them",
  );
  const one = summarizeRun({ ...facts, tally: failing, outboxPending: 1 });
  assert.match(one.problem!, /^1 batch waits in the outbox \(server failing.*sends it$/);
  // Replayed meanwhile: nothing waits, nothing to say.
  assert.equal(summarizeRun({ ...facts, tally: failing, outboxPending: 0 }).exitCode, 0);
});

Deno.test("summarizeRun() ends live capture with 0 whatever is stored", () => {
  const outcome = summarizeRun({
    ...facts,
    mode: "live",
    source: "eth0",
    tally: tally({ stored: 5 }),
    outboxPending: 5,
  });
  assert.match(
    outcome.line,
    /^agent: captured 200 packets on eth0 in 1\.2 s: 0 batches sent, 5 stored/,
  );
  assert.deepEqual([outcome.exitCode, outcome.problem], [0, null]);
});
