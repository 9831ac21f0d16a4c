import assert from "node:assert/strict";
import { ContextTracker } from "./context_features.ts";
import { FlowFeatureAccumulator } from "./flow_features.ts";
import { AgentLane } from "./_agent_lane.ts";
import { Flow } from "./_flow.ts";
import { PacketKey } from "./_flow_key.ts";
import { FlowMap } from "./_flow_map.ts";
import { FragmentMap } from "./_fragment_map.ts";

function firstFragmentKey(fragmentKey: string): PacketKey {
  const k = new PacketKey();
  k.fragmentKey = fragmentKey;
  k.src = "10.0.0.1";
  k.srcPort = 5353;
  k.dstPort = 53;
  return k;
}

Deno.test("FragmentMap.take() keeps an entry for the next fragment until the last or expiry", () => {
  const fragments = new FragmentMap();
  fragments.record(firstFragmentKey("f1"), "key1", "uid1", 10);
  const entry = fragments.take("f1", true, 5);
  assert.deepEqual(entry, {
    key: "key1",
    uid: "uid1",
    srcIp: "10.0.0.1",
    srcPort: 5353,
    dstPort: 53,
    expiresSec: 10,
  });
  assert.equal(fragments.take("f1", true, 10), entry, "still there at its expiry");
  assert.equal(fragments.take("f1", false, 6), entry, "the last fragment finds it");
  assert.equal(fragments.take("f1", true, 6), undefined, "and takes it out");

  fragments.record(firstFragmentKey("f2"), "key2", "uid2", 10);
  assert.ok(fragments.take("f2", true, 11) !== undefined, "an expired entry is still given");
  assert.equal(fragments.take("f2", true, 5), undefined, "but taken out");
});

Deno.test("FragmentMap.sweep() drops entries whose flow ended, was replaced or passed expiry", () => {
  const lane = new AgentLane<Flow>(null, new ContextTracker());
  lane.nowSec = 20;
  const flows = new FlowMap();
  const live = (key: string, uid: string) => {
    const f = new Flow(key, new FlowFeatureAccumulator());
    f.uid = uid;
    f.lane = lane;
    flows.set(f);
  };
  live("keyA", "uidA");
  live("keyB", "uidB-new");
  live("keyC", "uidC");
  const fragments = new FragmentMap();
  fragments.record(firstFragmentKey("a"), "keyA", "uidA", 30); // kept
  fragments.record(firstFragmentKey("b"), "keyB", "uidB-old", 30); // flow replaced
  fragments.record(firstFragmentKey("c"), "keyC", "uidC", 15); // expired at the lane's clock
  fragments.record(firstFragmentKey("d"), "keyD", "uidD", 30); // flow gone
  fragments.sweep(flows);
  assert.deepEqual([...fragments].map(([fragmentKey]) => fragmentKey), ["a"]);
  fragments.clear();
  assert.deepEqual([...fragments], []);
});
