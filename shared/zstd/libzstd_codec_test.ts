import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import fc from "fast-check";
import { zstdFrameContentSize } from "../packet/zstd_frame_content_size.ts";
import { propertyRuns } from "../testing/property_runs.ts";
import { libzstdProblem, libzstdVersion, loadLibzstd } from "./libzstd.ts";
import { compressWithLibzstd } from "./libzstd_codec.ts";

// Every Debian system has libzstd (dpkg needs it): its absence here is a failure, not a skip.
Deno.test("libzstd loads", () => {
  assert.ok(loadLibzstd() !== null, libzstdProblem() ?? "not loaded");
  assert.match(libzstdVersion() ?? "", /^1\.\d+\.\d+$/);
});

/** Bytes that compress as real traffic does: runs, repeats and noise. */
function sample(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = i % 64 < 40 ? i & 0x0f : state >>> 24;
  }
  return bytes;
}

function inflate(frame: Uint8Array): Uint8Array {
  return new Uint8Array(zstdDecompressSync(frame));
}

Deno.test(
  "libzstd's frames are read back by node:zlib and declare their size",
  () => {
    for (const size of [0, 1, 1000, 300_000]) {
      const bytes = sample(size, size);
      const frame = compressWithLibzstd(bytes)!;
      assert.ok(frame.length < Math.max(64, size), `${size} bytes compress`);
      assert.deepEqual(inflate(frame), bytes);
      // The server and the aggregator size their output buffer by it.
      assert.equal(zstdFrameContentSize(frame), size);
    }
    const level19 = compressWithLibzstd(sample(300_000), 19)!;
    assert.deepEqual(inflate(level19), sample(300_000));
  },
);

Deno.test(
  "compressWithLibzstd() reads views, and each frame is its own copy",
  () => {
    const whole = sample(50_000);
    const view = whole.subarray(1_000, 41_000);
    const first = compressWithLibzstd(view)!;
    // A later call writes into the same scratch memory: the first frame must not change.
    const kept = first.slice();
    const second = compressWithLibzstd(sample(60_000, 9))!;
    assert.deepEqual(first, kept);
    assert.notEqual(first.buffer, second.buffer);
    assert.deepEqual(inflate(first), view);
    assert.deepEqual(inflate(second), sample(60_000, 9));
    // Larger than the scratch kept (16 MiB): a buffer of its own, still right.
    const large = new Uint8Array(17 << 20).fill(7);
    assert.deepEqual(inflate(compressWithLibzstd(large)!), large);
  },
);

Deno.test("compressWithLibzstd() gives back any bytes through node:zlib", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.integer({ min: 1, max: 9 }),
      (bytes, level) => {
        assert.deepEqual(inflate(compressWithLibzstd(bytes, level)!), bytes);
      },
    ),
    propertyRuns(200),
  );
});
