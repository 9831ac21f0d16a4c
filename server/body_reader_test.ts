import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync, type ZstdOptions } from "node:zlib";
import { gunzipChunkSize, readLimitedBody, readRequestBody, zstdChunkSize } from "./body_reader.ts";
import { HttpError } from "./http_errors.ts";

const LIMITS = { maxBodyBytes: 1000, maxDecompressedBytes: 5000 };

function chunked(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

function request(parts: Uint8Array[], contentLength?: number): Request {
  const headers: Record<string, string> = {};
  if (contentLength !== undefined) headers["content-length"] = String(contentLength);
  return new Request("http://x/", { method: "POST", body: chunked(parts), headers });
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

Deno.test("readLimitedBody() reads a body in order, whatever its declared length says", async (t) => {
  const parts = [bytes(300, 1), bytes(200, 2), bytes(100, 3)];
  const expected = new Uint8Array([...parts[0], ...parts[1], ...parts[2]]);
  for (const declared of [undefined, 600, 400, 900]) {
    await t.step(`declared ${declared ?? "none"}`, async () => {
      const body = await readLimitedBody(request(parts, declared), LIMITS);
      assert.deepEqual(body, expected);
    });
  }
});

Deno.test("readLimitedBody() refuses more bytes than the limit, declared or not", async () => {
  for (const declared of [undefined, 900]) {
    await assert.rejects(
      () => readLimitedBody(request([bytes(600, 1), bytes(600, 2)], declared), LIMITS),
      (error: unknown) => error instanceof HttpError && error.status === 413,
    );
  }
  await assert.rejects(
    () => readLimitedBody(request([bytes(10, 1)], 5000), LIMITS),
    (error: unknown) => error instanceof HttpError && error.status === 413,
  );
});

Deno.test("readRequestBody() gives the bytes as sent beside the body they decompress to", async () => {
  const data = Uint8Array.from({ length: 900 }, (_, i) => (i * 13) % 251);
  for (
    const [encoding, sent] of [
      ["gzip", gzipSync(data)],
      ["zstd", zstdCompressSync(data)],
      ["identity", data],
    ] as const
  ) {
    const parts = [sent.subarray(0, 5), sent.subarray(5)];
    const read = await readRequestBody(
      new Request("http://x/", {
        method: "POST",
        body: chunked(parts),
        headers: { "content-encoding": encoding },
      }),
      LIMITS,
    );
    assert.deepEqual(read.body, data, encoding);
    assert.deepEqual(read.sent, new Uint8Array(sent), encoding);
  }
});

Deno.test("readLimitedBody() gunzips a gzip body split in chunks, and caps what it gunzips", async (t) => {
  const gzipped = (data: Uint8Array, declared?: number) => {
    const body = gzipSync(data);
    const parts = [body.subarray(0, 7), body.subarray(7, 20), body.subarray(20)];
    const headers: Record<string, string> = { "content-encoding": "gzip" };
    if (declared !== undefined) headers["content-length"] = String(declared);
    return new Request("http://x/", { method: "POST", body: chunked(parts), headers });
  };
  const data = Uint8Array.from({ length: 4000 }, (_, i) => (i * 7) % 251);
  await t.step("the bytes that were gzipped", async () => {
    assert.deepEqual(await readLimitedBody(gzipped(data), LIMITS), data);
    const length = gzipSync(data).length;
    assert.deepEqual(await readLimitedBody(gzipped(data, length), LIMITS), data);
  });
  await t.step("413 past maxDecompressedBytes", async () => {
    await assert.rejects(
      () => readLimitedBody(gzipped(bytes(6000, 0)), LIMITS),
      (error: unknown) =>
        error instanceof HttpError && error.status === 413 && /after gunzip/.test(error.message),
    );
  });
  await t.step("400 for bytes that are not gzip, or a member cut short", async () => {
    const cut = new Uint8Array(gzipSync(data).subarray(0, 40));
    for (const body of [new TextEncoder().encode("not gzip"), cut]) {
      const headers = { "content-encoding": "gzip" };
      await assert.rejects(
        () => readLimitedBody(new Request("http://x/", { method: "POST", body, headers }), LIMITS),
        (error: unknown) =>
          error instanceof HttpError && error.status === 400 && /invalid gzip/.test(error.message),
      );
    }
  });
  await t.step("a size in the gzip trailer that lies changes nothing", async () => {
    // ISIZE, the trailer's last four bytes, sizes the output buffer: too small,
    // too large, zero; a body is read as it is or refused, never read otherwise.
    for (const isize of [0, 1, 100, 3999, 4001, 5000, 0xffffffff]) {
      for (const [input, ok] of [[data, true], [bytes(6000, 0), false]] as const) {
        const body = new Uint8Array(gzipSync(input));
        new DataView(body.buffer).setUint32(body.length - 4, isize, true);
        const headers = { "content-encoding": "gzip" };
        const read = readLimitedBody(
          new Request("http://x/", { method: "POST", body, headers }),
          LIMITS,
        );
        if (ok) {
          // A wrong ISIZE fails zlib's own trailer check: 400, never other bytes.
          const result = await read.then((out) => out, (error: unknown) => error);
          if (isize === input.length) assert.deepEqual(result, input);
          else {
            assert.ok(result instanceof HttpError && result.status === 400, `ISIZE ${isize}`);
          }
        } else {
          // Over the limit: 413, or 400 when zlib's trailer check comes first.
          await assert.rejects(
            () => read,
            (error: unknown) =>
              error instanceof HttpError && (error.status === 413 || error.status === 400),
            `ISIZE ${isize}`,
          );
        }
      }
    }
  });
});

Deno.test("gunzipChunkSize() follows ISIZE within what deflate and the limit allow", () => {
  const body = new Uint8Array(gzipSync(bytes(4000, 5)));
  assert.equal(gunzipChunkSize(body, 5000), 16_384, "no smaller than node:zlib's own chunk");
  const large = new Uint8Array(gzipSync(bytes(40_000, 5)));
  assert.equal(gunzipChunkSize(large, 50_000), 40_001);
  assert.equal(gunzipChunkSize(large, 30_000), 30_001);
  new DataView(body.buffer).setUint32(body.length - 4, 0xffffffff, true);
  assert.equal(gunzipChunkSize(body, 2 ** 30), body.length * 1032);
  assert.equal(gunzipChunkSize(new Uint8Array(10), 5000), 16_384);
  // An ISIZE of 1 cannot make chunks smaller than node:zlib's own.
  new DataView(large.buffer).setUint32(large.length - 4, 1, true);
  assert.equal(gunzipChunkSize(large, 50_000), 16_384);
});

Deno.test("zstdChunkSize() follows the frame's declared size within what zstd and the limit allow", () => {
  const raw = bytes(40_000, 5);
  const sized = zstdCompressSync(raw, { pledgedSrcSize: raw.length } as ZstdOptions);
  assert.equal(zstdChunkSize(sized, 50_000), 40_001);
  assert.equal(zstdChunkSize(sized, 30_000), 30_001);
  const small = bytes(4000, 5);
  const smallSized = zstdCompressSync(small, { pledgedSrcSize: small.length } as ZstdOptions);
  assert.equal(zstdChunkSize(smallSized, 5000), 16_384, "no smaller than node:zlib's own chunk");
  // No declared size: node:zlib's own chunks.
  assert.equal(zstdChunkSize(zstdCompressSync(raw), 50_000), undefined);
  // A header that claims far more than its bytes can hold is held to zstd's ratio.
  const liar = new Uint8Array(sized);
  liar[4] = 0x80; // a 4-byte content size field, right after the window descriptor
  new DataView(liar.buffer).setUint32(6, 0xffffffff, true);
  assert.equal(zstdChunkSize(liar, 2 ** 40), liar.length * 32_768);
});

Deno.test("readLimitedBody() gives the same bytes for a zstd body whether it declares its size or not", async () => {
  const raw = bytes(300_000, 9);
  for (const options of [{}, { pledgedSrcSize: raw.length } as ZstdOptions]) {
    const body = await readLimitedBody(
      new Request("http://x/", {
        method: "POST",
        headers: { "content-encoding": "zstd" },
        body: zstdCompressSync(raw, options),
      }),
      { maxBodyBytes: 1 << 20, maxDecompressedBytes: 1 << 20 },
    );
    assert.deepEqual(body, raw);
  }
});

Deno.test("readLimitedBody() answers 413 for a zstd body past the decompressed limit, whether its frame declares its size or not, and 400 for one cut short", async () => {
  const raw = bytes(300_000, 4);
  const read = (body: Uint8Array, maxDecompressedBytes: number) =>
    readLimitedBody(
      new Request("http://x/", {
        method: "POST",
        headers: { "content-encoding": "zstd" },
        body: body as BodyInit,
      }),
      { maxBodyBytes: 1 << 20, maxDecompressedBytes },
    );
  for (const options of [{}, { pledgedSrcSize: raw.length } as ZstdOptions]) {
    await assert.rejects(
      read(new Uint8Array(zstdCompressSync(raw, options)), 299_999),
      (error: unknown) =>
        error instanceof HttpError && error.status === 413 && /after zstd/.test(error.message),
    );
  }
  // node:zlib gives what it could of a cut frame, but the frame's header said how much was sent.
  const frame = new Uint8Array(
    zstdCompressSync(raw, { pledgedSrcSize: raw.length } as ZstdOptions),
  );
  await assert.rejects(
    read(frame.slice(0, frame.length - 10), 1 << 20),
    (error: unknown) =>
      error instanceof HttpError && error.status === 400 &&
      /invalid zstd body: its frame declares 300000 bytes and holds \d+/.test(error.message),
  );
});
