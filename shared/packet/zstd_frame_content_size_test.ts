import assert from "node:assert/strict";
import { zstdCompressSync, type ZstdOptions } from "node:zlib";
import { zstdFrameContentSize } from "./zstd_frame_content_size.ts";

// node:zlib's documented "Pledged Source Size" option, missing from the bundled @types/node.
const pledged = (size: number) => ({ pledgedSrcSize: size }) as ZstdOptions;

Deno.test("zstdFrameContentSize() reads the size a frame declares, in each width", () => {
  // 1 byte (single segment), 2 bytes (+256), 4 bytes: the widths zstd picks by size.
  for (const size of [0, 200, 255, 256, 1000, 65_791, 65_792, 1_382_848]) {
    const raw = new Uint8Array(size).map((_, i) => i % 7);
    assert.equal(zstdFrameContentSize(zstdCompressSync(raw, pledged(size))), size);
  }
});

Deno.test("zstdFrameContentSize() is null for a frame that declares no size or a cut header", () => {
  const streamed = zstdCompressSync(new Uint8Array(5000));
  assert.equal(streamed[4] >> 6, 0, "node:zlib declares no size unless pledged");
  assert.equal(zstdFrameContentSize(streamed), null);
  const sized = zstdCompressSync(new Uint8Array(5000), pledged(5000));
  assert.equal(zstdFrameContentSize(sized.subarray(0, 6)), null);
  assert.equal(zstdFrameContentSize(new Uint8Array(3)), null);
});
