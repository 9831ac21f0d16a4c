import assert from "node:assert/strict";
import fc from "fast-check";
import { TcpStreamPrefix } from "./tcp_stream_prefix.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

Deno.test("TcpStreamPrefix joins segments in order after the SYN", () => {
  const prefix = new TcpStreamPrefix();
  prefix.push(1000, new Uint8Array(0), true);
  prefix.push(1001, bytes("hello "));
  prefix.push(1007, bytes("world"));
  assert.equal(text(prefix.bytes()), "hello world");
});

Deno.test("TcpStreamPrefix holds an early segment until the hole before it fills", () => {
  const prefix = new TcpStreamPrefix();
  prefix.push(1000, new Uint8Array(0), true);
  prefix.push(1007, bytes("world"));
  assert.equal(prefix.bytes().length, 0);
  prefix.push(1001, bytes("hello "));
  assert.equal(text(prefix.bytes()), "hello world");
});

Deno.test("TcpStreamPrefix ignores retransmissions and bytes before the start", () => {
  const prefix = new TcpStreamPrefix();
  prefix.push(5000, bytes("abc"));
  prefix.push(5000, bytes("abc"));
  prefix.push(4998, bytes("xyabcd")); // overlaps the start: only "abcd" is after it
  prefix.push(4000, bytes("old"));
  assert.equal(text(prefix.bytes()), "abcd");
});

Deno.test("TcpStreamPrefix follows the sequence number across 2^32", () => {
  const prefix = new TcpStreamPrefix();
  prefix.push(0xffff_fffe, bytes("ab"));
  prefix.push(0, bytes("cd"));
  assert.equal(text(prefix.bytes()), "abcd");
});

Deno.test("TcpStreamPrefix keeps at most maxBytes and maxRanges", () => {
  const prefix = new TcpStreamPrefix({ maxBytes: 8, maxRanges: 2 });
  prefix.push(0, bytes("0123456789"));
  assert.equal(text(prefix.bytes()), "01234567");
  assert.ok(prefix.full);
  const holes = new TcpStreamPrefix({ maxBytes: 100, maxRanges: 2 });
  holes.push(0, bytes("a"));
  holes.push(10, bytes("b"));
  holes.push(20, bytes("c")); // a third range: dropped
  holes.push(1, bytes("123456789"));
  assert.equal(text(holes.bytes()), "a123456789b");
  assert.throws(() => new TcpStreamPrefix({ maxBytes: 0 }), /'maxBytes' must be/);
});

Deno.test("TcpStreamPrefix rebuilds the stream from segments in any order", () => {
  const stream = new Uint8Array(300).map((_, i) => i & 0xff);
  const cuts = fc.uniqueArray(fc.integer({ min: 1, max: 299 }), { maxLength: 10 });
  fc.assert(
    fc.property(cuts, fc.integer({ min: 0, max: 0xffff_ffff }), fc.nat(), (points, isn, seed) => {
      const edges = [0, ...points.sort((a, b) => a - b), 300];
      const segments = edges.slice(1).map((end, i) => [edges[i], end]);
      // A deterministic shuffle plus one retransmission.
      const order = segments.map((s, i) => ({ s, key: (i * 7919 + seed) % 101 }))
        .sort((a, b) => a.key - b.key).map(({ s }) => s);
      order.push(order[0]);
      const prefix = new TcpStreamPrefix({ maxBytes: 1000, maxRanges: 16 });
      prefix.push(isn, new Uint8Array(0), true);
      for (const [from, to] of order) {
        prefix.push((isn + 1 + from) >>> 0, stream.subarray(from, to));
      }
      assert.deepEqual(prefix.bytes(), stream);
    }),
  );
});
