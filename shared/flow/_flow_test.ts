import assert from "node:assert/strict";
import { FlowFeatureAccumulator } from "./flow_features.ts";
import { Flow } from "./_flow.ts";
import { canonicalKey, keyScope } from "./_flow_key.ts";

Deno.test("Flow defines every field init() sets as a class field, in init()'s order", () => {
  const acc = new FlowFeatureAccumulator();
  // init() on a plain object adds the fields in the order it sets them.
  const plain = {} as Flow;
  Flow.prototype.init.call(plain, "k", acc);
  // The fields a Flow has before init() runs are its class fields: V8 gives
  // those slots inside the object. A field only init() sets (a `declare`d
  // one) would live in a property array outside it.
  const init = Flow.prototype.init;
  let bare: Flow;
  try {
    Flow.prototype.init = () => {};
    bare = new Flow("k", acc);
  } finally {
    Flow.prototype.init = init;
  }
  assert.deepEqual(Object.keys(bare), Object.keys(plain));
});

Deno.test("a reused Flow is reset to a new one's values", () => {
  const acc = new FlowFeatureAccumulator();
  const reused = new Flow("a", acc);
  reused.uid = "Fxyz";
  reused.firstSeen = 1.5;
  reused.origIsn = 4_000_000_000;
  reused.closed = true;
  reused.init("k", acc);
  assert.deepEqual({ ...reused }, { ...new Flow("k", acc) });
});

Deno.test("a Flow without a key string reads its tuple key from its endpoints", () => {
  const acc = new FlowFeatureAccumulator();
  for (const agent of [null, "agent-7"]) {
    const flow = new Flow(null, acc);
    flow.agent = agent;
    flow.ipProto = 6;
    flow.origIp = "10.0.0.2";
    flow.origPort = 80;
    flow.respIp = "10.0.0.1";
    flow.respPort = 51234;
    const key = canonicalKey(keyScope(agent, null, null, ""), 6, "10.0.0.1", 51234, "10.0.0.2", 80);
    assert.equal(flow.key, key);
    assert.equal(flow.keyText, key);
  }
});
