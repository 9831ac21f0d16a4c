import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { Reader, type Response } from "mmdb-lib";
import { propertyRuns } from "../testing/property_runs.ts";
import { parseIp } from "../packet/address_parse.ts";
import { defaultEnrichmentData } from "./enrichment_data.ts";
import { MmdbSearchTree, MmdbTreeError } from "./mmdb_search_tree.ts";

/** A prefix of an IPv4 address and the data pointer it maps to. */
type Prefix = { bits: number[]; value: number };

/**
 * Builds the search tree of `prefixes` (IPv4, longest prefix wins) in the
 * MaxMind DB layout for `recordSize`, numbering nodes breadth first. Data
 * pointers are `nodeCount + 16 + value`; "not found" is `nodeCount`.
 */
function buildTree(prefixes: Prefix[], recordSize: 24 | 28 | 32) {
  type Node = { children: [Node | number | null, Node | number | null] };
  const root: Node = { children: [null, null] };
  const sorted = [...prefixes].sort((a, b) => a.bits.length - b.bits.length);
  // Shorter prefixes first: a longer one then splits the leaf it falls in.
  for (const { bits, value } of sorted) {
    let node = root;
    for (let i = 0; i < bits.length; i++) {
      const bit = bits[i];
      const child = node.children[bit];
      if (i === bits.length - 1) {
        node.children[bit] = -1 - value;
        break;
      }
      if (child === null || typeof child === "number") {
        const inherited = child;
        const next: Node = { children: [inherited, inherited] };
        node.children[bit] = next;
        node = next;
      } else node = child;
    }
  }
  const nodes: Node[] = [root];
  for (let i = 0; i < nodes.length; i++) {
    for (const child of nodes[i].children) {
      if (child !== null && typeof child !== "number") nodes.push(child);
    }
  }
  const nodeCount = nodes.length;
  const index = new Map(nodes.map((node, i) => [node, i]));
  const recordOf = (child: Node | number | null) =>
    child === null
      ? nodeCount
      : typeof child === "number"
      ? nodeCount + 16 + (-1 - child)
      : index.get(child)!;
  const nodeBytes = recordSize / 4;
  const bytes = new Uint8Array(nodeCount * nodeBytes + 16);
  nodes.forEach((node, i) => {
    const [left, right] = node.children.map(recordOf);
    const at = i * nodeBytes;
    if (recordSize === 24) {
      bytes.set(
        [left >> 16, left >> 8, left, right >> 16, right >> 8, right].map((v) => v & 0xff),
        at,
      );
    } else if (recordSize === 28) {
      bytes.set([
        (left >> 16) & 0xff,
        (left >> 8) & 0xff,
        left & 0xff,
        ((left >> 20) & 0xf0) | ((right >> 24) & 0x0f),
        (right >> 16) & 0xff,
        (right >> 8) & 0xff,
        right & 0xff,
      ], at);
    } else {
      new DataView(bytes.buffer).setUint32(at, left);
      new DataView(bytes.buffer).setUint32(at + 4, right);
    }
  });
  return { bytes, nodeCount };
}

/** Longest-prefix match, written plainly. */
function expected(prefixes: Prefix[], address: Uint8Array, nodeCount: number): number {
  let best: Prefix | null = null;
  for (const prefix of prefixes) {
    const matches = prefix.bits.every((bit, i) => ((address[i >> 3] >> (7 - (i & 7))) & 1) === bit);
    if (matches && (best === null || prefix.bits.length > best.bits.length)) best = prefix;
  }
  return best === null ? 0 : nodeCount + 16 + best.value;
}

/** Prefixes whose data pointers reach the top bits of a `recordSize`-bit record. */
const prefixesArbitrary = (recordSize: number) =>
  fc.uniqueArray(
    fc.record({
      bits: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 32 }),
      value: fc.oneof(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 2 ** (recordSize - 1), max: 2 ** recordSize - 100_000 }),
      ),
    }),
    { minLength: 1, maxLength: 40, selector: (p) => p.bits.join("") },
  );

for (const recordSize of [24, 28, 32] as const) {
  Deno.test(`MmdbSearchTree.find() is the longest prefix's record in a ${recordSize}-bit tree`, () => {
    fc.assert(
      fc.property(
        prefixesArbitrary(recordSize),
        fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 20 }),
        (prefixes, addresses) => {
          const { bytes, nodeCount } = buildTree(prefixes, recordSize);
          const tree = new MmdbSearchTree(bytes, { nodeCount, recordSize, ipVersion: 4 });
          // Addresses under each prefix too, not only random ones (which rarely hit long prefixes).
          const under = prefixes.map((p) => {
            const address = new Uint8Array(4);
            p.bits.forEach((bit, i) => address[i >> 3] |= bit << (7 - (i & 7)));
            return address;
          });
          for (const address of [...addresses, ...under]) {
            assert.equal(tree.find(address), expected(prefixes, address, nodeCount), `${address}`);
          }
        },
      ),
      propertyRuns(300),
    );
  });
}

Deno.test("MmdbSearchTree.find() points where mmdb-lib does in the shipped country database", async () => {
  const bytes = Buffer.from(await Deno.readFile(defaultEnrichmentData().countryMmdbPath));
  const reader = new Reader<Response>(bytes);
  const tree = new MmdbSearchTree(bytes, reader.metadata);
  // Same pointer, same record: two addresses share a pointer only if mmdb-lib gives both one record.
  const recordOf = new Map<number, string>();
  const check = (text: string) => {
    const pointer = tree.find(parseIp(text)!);
    const record = reader.get(text);
    if (pointer === 0) {
      assert.equal(record, null, text);
      return;
    }
    assert.notEqual(record, null, text);
    const json = JSON.stringify(record);
    assert.equal(recordOf.get(pointer) ?? json, json, text);
    recordOf.set(pointer, json);
  };
  for (
    const text of [
      "8.8.8.8",
      "1.1.1.1",
      "10.0.0.1",
      "0.0.0.0",
      "255.255.255.255",
      "::",
      "2001:4860:4860::8888",
    ]
  ) {
    check(text);
  }
  fc.assert(fc.property(fc.ipV4(), (text) => check(text)), propertyRuns(3000));
  fc.assert(fc.property(fc.ipV6(), (text) => check(text)), propertyRuns(3000));
});

Deno.test("MmdbSearchTree refuses a record size or node count it cannot walk", () => {
  assert.throws(
    () => new MmdbSearchTree(new Uint8Array(64), { nodeCount: 2, recordSize: 20, ipVersion: 4 }),
    (error: unknown) =>
      error instanceof MmdbTreeError && /record size of 20 bits/.test(error.message),
  );
  assert.throws(
    () => new MmdbSearchTree(new Uint8Array(64), { nodeCount: 100, recordSize: 24, ipVersion: 4 }),
    (error: unknown) => error instanceof MmdbTreeError && /100 nodes/.test(error.message),
  );
});
