import assert from "node:assert/strict";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import fc from "fast-check";
import { propertyRuns } from "@traffic-analyzer/shared/testing";
import { ZstdBodyBuffers } from "./zstd_body_buffers.ts";

const CHUNK = 16 * 1024;

/** What zstdDecompressSync answers: its bytes, or its error's message. */
function reference(input: Uint8Array, maxOutputBytes: number): Uint8Array | string {
  try {
    return new Uint8Array(zstdDecompressSync(input, { maxOutputLength: maxOutputBytes }));
  } catch (error) {
    return (error as Error).message;
  }
}

/** What a caller of ZstdBodyBuffers answers: its bytes, or zstdDecompressSync's. */
function pooled(
  buffers: ZstdBodyBuffers,
  input: Uint8Array,
  maxOutputBytes: number,
): Uint8Array | string {
  const bytes = buffers.decompress(input, maxOutputBytes);
  if (bytes === null) return reference(input, maxOutputBytes);
  const copy = bytes.slice();
  buffers.give(bytes);
  return copy;
}

/** Bytes zstd compresses well but not to nothing: runs of a few values. */
function sample(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    if (i % 7 === 0) x = (Math.imul(x, 1103515245) + 12345) | 0;
    out[i] = (x >>> 24) & 0x0f;
  }
  return out;
}

function frame(bytes: Uint8Array, checksum = false): Uint8Array {
  return new Uint8Array(zstdCompressSync(bytes, {
    params: { [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0 },
  }));
}

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("ZstdBodyBuffers.decompress() gives what zstdDecompressSync gives", async (t) => {
  // A small first buffer, so that bodies grow it.
  const buffers = new ZstdBodyBuffers({ initialBytes: CHUNK });
  const cases: [string, Uint8Array][] = [
    ["an empty body", frame(new Uint8Array(0))],
    ["a body in one chunk", frame(sample(1000, 1))],
    ["a body many times the first buffer", frame(sample(40 * CHUNK + 123, 2), true)],
    // zstdDecompressSync reads on into a second frame only when the first one
    // ended exactly at the end of an output chunk.
    [
      "two frames, the first ending inside a chunk",
      join(frame(sample(5000, 3)), frame(sample(9, 4))),
    ],
    [
      "two frames, the first ending at a chunk's end",
      join(frame(sample(2 * CHUNK, 5)), frame(sample(77, 6))),
    ],
    ["a frame and an empty one", join(frame(sample(3 * CHUNK + 5, 7)), frame(new Uint8Array(0)))],
    ["a frame cut short", frame(sample(10 * CHUNK, 8)).subarray(0, 300)],
    ["a frame and bytes that are not zstd", join(frame(sample(100, 9)), new Uint8Array([1, 2, 3]))],
    ["bytes that are not zstd", new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xff, 0, 0, 0])],
  ];
  for (const [name, input] of cases) {
    await t.step(name, () => {
      assert.deepEqual(pooled(buffers, input, 1 << 24), reference(input, 1 << 24));
    });
  }
  await t.step("over the limit: null, for zstdDecompressSync's error", () => {
    const input = frame(sample(5 * CHUNK, 10));
    assert.equal(buffers.decompress(input, 5 * CHUNK - 1), null);
    assert.equal(typeof reference(input, 5 * CHUNK - 1), "string");
    assert.deepEqual(pooled(buffers, input, 5 * CHUNK), reference(input, 5 * CHUNK));
  });
  await t.step("damaged frames, byte for byte or the same refusal", () => {
    const bodies = [frame(sample(20 * CHUNK, 11)), frame(sample(3 * CHUNK + 1, 12), true)];
    fc.assert(
      fc.property(
        fc.nat(bodies.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
        (which, flips, cut) => {
          const input = bodies[which].slice(0, bodies[which].length - (cut % 8));
          for (const [at, mask] of flips) input[at % input.length] ^= mask;
          assert.deepEqual(pooled(buffers, input, 1 << 24), reference(input, 1 << 24));
        },
      ),
      propertyRuns(200),
    );
  });
});

Deno.test("ZstdBodyBuffers reuses a body given back, and shows none of its bytes past the next body's end", () => {
  const buffers = new ZstdBodyBuffers({ initialBytes: 4 * CHUNK });
  const large = sample(3 * CHUNK, 13);
  const small = sample(100, 14);
  const first = buffers.decompress(frame(large), 1 << 20)!;
  assert.deepEqual(first, large);
  buffers.give(first);
  const second = buffers.decompress(frame(small), 1 << 20)!;
  assert.equal(second.buffer, first.buffer);
  assert.deepEqual(second, small);
  // Not given back: the next body gets a buffer of its own.
  const third = buffers.decompress(frame(large), 1 << 20)!;
  assert.notEqual(third.buffer, second.buffer);
  assert.deepEqual(third, large);
  assert.deepEqual(second, small);
  // Bytes it did not hand out are ignored.
  buffers.give(new Uint8Array(4 * CHUNK));
  buffers.give(second);
  buffers.give(second);
  const fourth = buffers.decompress(frame(small), 1 << 20)!;
  const fifth = buffers.decompress(frame(small), 1 << 20)!;
  assert.equal(fourth.buffer, second.buffer);
  assert.notEqual(fifth.buffer, second.buffer);
});

Deno.test("new ZstdBodyBuffers() refuses a first buffer that is not whole chunks, and a negative count", () => {
  assert.throws(
    () => new ZstdBodyBuffers({ initialBytes: 1000 }),
    /'initialBytes' must be a multiple of 16384: current value is 1000/,
  );
  assert.throws(
    () => new ZstdBodyBuffers({ maxSpare: -1 }),
    /'maxSpare' must be an integer >= 0: current value is -1/,
  );
});
