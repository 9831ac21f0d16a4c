import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import { zstdFrameContentSize } from "../packet/zstd_frame_content_size.ts";
import { compressWithLibzstd } from "./libzstd_codec.ts";
import { compressWithNodeZlib, zstdCompress } from "./zstd_compress.ts";

const BYTES = new Uint8Array(40_000).map((_, i) => (i % 97 < 60 ? i & 7 : (i * 31) & 0xff));

function inflate(frame: Uint8Array): Uint8Array {
  return new Uint8Array(zstdDecompressSync(frame));
}

Deno.test("compressWithNodeZlib() makes a frame that declares its size, at the level asked", () => {
  const level1 = compressWithNodeZlib(BYTES, 1);
  assert.deepEqual(inflate(level1), BYTES);
  assert.equal(zstdFrameContentSize(level1), BYTES.length);
  assert.deepEqual(inflate(compressWithNodeZlib(BYTES, 19)), BYTES);
});

Deno.test("zstdCompress() gives libzstd's frame where it loads, in memory of its own", () => {
  const frame = zstdCompress(BYTES.subarray(100, 30_100));
  assert.deepEqual(inflate(frame), BYTES.subarray(100, 30_100));
  assert.equal(zstdFrameContentSize(frame), 30_000);
  assert.deepEqual(frame, compressWithLibzstd(BYTES.subarray(100, 30_100)));
  assert.notEqual(frame.buffer, BYTES.buffer);
  assert.notEqual(frame.buffer, zstdCompress(BYTES).buffer);
});
