import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { readLimitedBody } from "./body_reader.ts";
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
});
