import assert from "node:assert/strict";
import { zstdCompressSync } from "node:zlib";
import { isZstdFrame, zstdFrameContentSize } from "./zstd_frame.ts";

const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 251);

function compress(bytes: Uint8Array, pledged: boolean): Uint8Array {
  // Built apart: some node typings lack `pledgedSrcSize`.
  const options = pledged ? { pledgedSrcSize: bytes.length } : {};
  return new Uint8Array(zstdCompressSync(bytes, options));
}

Deno.test("zstdFrameContentSize() reads the size a frame declares, and null when it declares none", () => {
  for (const length of [0, 1, 255, 256, 300, 65_791, 70_000]) {
    const bytes = data.subarray(0, length);
    assert.equal(zstdFrameContentSize(compress(bytes, true)), length, `${length} bytes`);
  }
  assert.equal(zstdFrameContentSize(compress(data, false)), null);
});

Deno.test("zstdFrameContentSize() reads each width of the size field, with and without a window byte", () => {
  // Magic, descriptor, then the window byte (not single segment) and the size.
  const frame = (descriptor: number, rest: number[]) =>
    new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...rest]);
  assert.equal(zstdFrameContentSize(frame(0x20, [200])), 200); // single segment, 1 byte
  assert.equal(zstdFrameContentSize(frame(0x40, [0x48, 0x01, 0x00])), 257); // 2 bytes, + 256
  assert.equal(zstdFrameContentSize(frame(0x80, [0x48, 0x40, 0x42, 0x0f, 0x00])), 1_000_000);
  assert.equal(zstdFrameContentSize(frame(0xc0, [0x48, 1, 0, 0, 0, 1, 0, 0, 0])), 2 ** 32 + 1);
  assert.equal(zstdFrameContentSize(frame(0x81, [0x48, 0x07, 0x10, 0, 0, 0])), 16); // dict id byte
  assert.equal(zstdFrameContentSize(frame(0x80, [0x48, 0x40])), null); // cut short
  assert.equal(zstdFrameContentSize(frame(0x00, [0x48])), null); // no size
});

Deno.test("isZstdFrame() and zstdFrameContentSize() refuse bytes that are not a zstd frame", () => {
  const gzipStart = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(isZstdFrame(gzipStart), false);
  assert.equal(zstdFrameContentSize(gzipStart), null);
  assert.equal(isZstdFrame(new Uint8Array([0x28, 0xb5, 0x2f])), false);
  assert.equal(isZstdFrame(compress(data, true)), true);
});
