import assert from "node:assert/strict";
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
