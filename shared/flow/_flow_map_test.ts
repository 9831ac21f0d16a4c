import assert from "node:assert/strict";
import { FlowFeatureAccumulator } from "./flow_features.ts";
import { Flow } from "./_flow.ts";
import { FlowMap } from "./_flow_map.ts";
import { keyHash } from "./_flow_uid.ts";

function flow(key: string, hash?: number): Flow {
  const f = new Flow(key, new FlowFeatureAccumulator());
  if (hash !== undefined) f.keyHash = hash;
  return f;
}

/** A `Map<string, Flow>` driven with the same operations: the reference. */
function sameAsMap(map: FlowMap, reference: Map<string, Flow>): void {
  assert.equal(map.size, reference.size);
  assert.deepEqual([...map.values()].map((f) => f.key), [...reference.keys()]);
  for (const [key, f] of reference) assert.ok(map.get(key, f.keyHash) === f, `get(${key})`);
}

Deno.test("FlowMap keeps a Map's insertion order through sets, replacements and deletes", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const map = new FlowMap();
  const reference = new Map<string, Flow>();
  for (let i = 0; i < 3000; i++) {
    // Few keys, and half of them forced into 4 buckets (so looked up with their hash): chains
    // and replacements are common.
    const key = `k${Math.floor(random() * 60)}`;
    const r = random();
    if (r < 0.6) {
      const f = flow(key, random() < 0.5 ? Math.floor(random() * 4) : undefined);
      const old = reference.get(key);
      if (old !== undefined) f.keyHash = old.keyHash;
      map.set(f);
      reference.set(key, f);
    } else {
      const f = reference.get(key);
      if (f !== undefined) {
        map.delete(f);
        reference.delete(key);
      }
    }
  }
  sameAsMap(map, reference);
  assert.ok(map.get("absent") === undefined);
});

Deno.test("FlowMap.set() computes the key's hash when the flow has none", () => {
  const map = new FlowMap();
  const f = flow("|6|10.0.0.1|1000|10.0.0.2|80");
  map.set(f);
  assert.equal(f.keyHash, keyHash(f.key));
  assert.ok(map.get(f.key) === f);
});

Deno.test("FlowMap.values() goes on past a flow deleted while it stands on it", () => {
  const map = new FlowMap();
  const flows = ["a", "b", "c", "d", "e"].map((key) => flow(key, 1));
  for (const f of flows) map.set(f);
  const seen: string[] = [];
  for (const f of map.values()) {
    seen.push(f.key);
    if (f.key === "b" || f.key === "e") map.delete(f);
    if (f.key === "c") map.set(flow("f", 1));
  }
  assert.deepEqual(seen, ["a", "b", "c", "d", "e", "f"]);
  assert.deepEqual([...map.values()].map((f) => f.key), ["a", "c", "d", "f"]);
  assert.equal(map.size, 4);
});
