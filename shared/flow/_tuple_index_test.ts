import assert from "node:assert/strict";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../packet/packet_record.ts";
import { FlowFeatureAccumulator } from "./flow_features.ts";
import { Flow } from "./_flow.ts";
import { INDEX_ICMP_ONE_WAY, INDEX_NONE, INDEX_TUPLE } from "./_flow_key.ts";
import { TupleIndex } from "./_tuple_index.ts";

function flow(
  proto: number,
  orig: [string, number | null],
  resp: [string, number | null],
  agent: string | null = null,
): Flow {
  const f = new Flow(null, new FlowFeatureAccumulator());
  f.ipProto = proto;
  [f.origIp, f.origPort] = orig;
  [f.respIp, f.respPort] = resp;
  f.agent = agent;
  return f;
}

/** `find()` of a packet of `kind` from `src` to `dst`, without tunnel. */
function find(
  index: TupleIndex,
  proto: number,
  src: [string, number],
  dst: [string, number],
  agent: string | null = null,
  kind = INDEX_TUPLE,
): Flow | undefined {
  return index.find(src[0], src[1], dst[0], dst[1], proto, kind, null, agent, null, null);
}

Deno.test("TupleIndex finds a TCP flow from either direction, in its own scope only", () => {
  const index = new TupleIndex();
  const f = flow(IPPROTO_TCP, ["10.0.0.1", 40000], ["10.0.0.2", 443]);
  index.add(f, undefined, INDEX_NONE, null);
  assert.equal(f.indexKind, INDEX_TUPLE);
  assert.equal(find(index, IPPROTO_TCP, ["10.0.0.1", 40000], ["10.0.0.2", 443]), f);
  assert.equal(find(index, IPPROTO_TCP, ["10.0.0.2", 443], ["10.0.0.1", 40000]), f);
  assert.equal(find(index, IPPROTO_UDP, ["10.0.0.1", 40000], ["10.0.0.2", 443]), undefined);
  assert.equal(find(index, IPPROTO_TCP, ["10.0.0.1", 40000], ["10.0.0.2", 443], "a1"), undefined);
});

Deno.test("TupleIndex.add() leaves out VLAN-tagged and port-less flows", () => {
  const index = new TupleIndex();
  const tagged = flow(IPPROTO_UDP, ["10.0.0.1", 53000], ["10.0.0.2", 53]);
  tagged.vlanId = 7;
  index.add(tagged, undefined, INDEX_NONE, null);
  const portless = flow(IPPROTO_UDP, ["10.0.0.3", null], ["10.0.0.4", null]);
  index.add(portless, undefined, INDEX_NONE, null);
  assert.equal(tagged.indexHash, -1);
  assert.equal(portless.indexHash, -1);
  assert.equal(find(index, IPPROTO_UDP, ["10.0.0.1", 53000], ["10.0.0.2", 53]), undefined);
});

Deno.test("TupleIndex finds a one-way ICMP flow in its own direction only", () => {
  const index = new TupleIndex();
  // Destination unreachable (type 3, code 3): keyed by direction, as in Community ID.
  const f = flow(IPPROTO_ICMP, ["10.0.0.9", 3], ["10.0.0.1", 3]);
  index.add(f, undefined, INDEX_ICMP_ONE_WAY, null);
  const at = (src: [string, number], dst: [string, number]) =>
    find(index, IPPROTO_ICMP, src, dst, null, INDEX_ICMP_ONE_WAY);
  assert.equal(at(["10.0.0.9", 3], ["10.0.0.1", 3]), f);
  assert.equal(at(["10.0.0.1", 3], ["10.0.0.9", 3]), undefined);
});

Deno.test("TupleIndex.remove() unlinks a flow from the head, middle or end of its bucket", () => {
  for (const removed of [0, 1, 2]) {
    const index = new TupleIndex();
    // Same endpoints, three agents: one bucket (the hash ignores the scope).
    const flows = ["a0", "a1", "a2"].map((agent) =>
      flow(IPPROTO_TCP, ["10.0.0.1", 40000], ["10.0.0.2", 443], agent)
    );
    for (const f of flows) index.add(f, undefined, INDEX_NONE, null);
    assert.equal(new Set(flows.map((f) => f.indexHash)).size, 1);
    index.remove(flows[removed]);
    index.remove(flows[removed]); // a second remove is a no-op
    assert.equal(flows[removed].indexHash, -1);
    flows.forEach((f, i) => {
      const found = find(index, IPPROTO_TCP, ["10.0.0.2", 443], ["10.0.0.1", 40000], f.agent);
      assert.equal(found, i === removed ? undefined : f, `agent ${f.agent}, removed ${removed}`);
    });
  }
});
