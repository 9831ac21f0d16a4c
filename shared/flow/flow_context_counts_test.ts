import assert from "node:assert/strict";
import { contextSubject as subject } from "./_test_context_subject.ts";
import { ContextTracker } from "./context_features.ts";
import { emptyFlowContext, type FlowContext, writeContextObject } from "./flow_context.ts";
import { FlowContextCounts } from "./flow_context_counts.ts";

Deno.test("ContextTracker.countsOf() keeps the counts that give contextOf()'s values, later", () => {
  const tracker = new ContextTracker({ shortWindowSec: 2, longWindowSec: 10 });
  const kept: [FlowContext, FlowContextCounts][] = [];
  const hosts = ["h1", "h2", "h3"];
  for (let i = 0; i < 60; i++) {
    const handle = tracker.admitHandle(
      subject(`f${i}`, i * 0.37, `o${i % 4}`, hosts[i % 3], 20 + (i % 5), {
        answered: i % 2 === 0,
        rejected: i % 7 === 0,
        established: i % 3 === 0,
      }),
    );
    kept.push([tracker.contextOf(handle), tracker.countsOf(handle)]);
  }
  // Later flows moved every window on; each flow's counts still give its own context.
  for (const [context, counts] of kept) {
    const written = new Float32Array(28);
    counts.write(written, 0);
    const made = counts.context();
    assert.deepEqual(made, context);
    assert.ok(Object.isFrozen(made));
    assert.equal(counts.context(), made, "made once, then the same object");
    const expected = new Float32Array(28);
    writeContextObject(context, expected, 0);
    assert.deepEqual(written, expected);
  }
  const empty = tracker.countsOf(
    tracker.admitHandle(subject("x", 30, "o", "h", 1, { orig_ip: null })),
  );
  assert.deepEqual(empty.context(), emptyFlowContext());
  const given = Object.freeze(emptyFlowContext());
  assert.equal(FlowContextCounts.of(given).context(), given);
});
