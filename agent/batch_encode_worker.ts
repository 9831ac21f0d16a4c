/**
 * The worker of {@linkcode WorkerBatchEncoder}: encodes each batch it is
 * sent (Arrow IPC and zstd, split by size, the same `encodeBatch` the
 * capture thread would run) and answers with the parts, in the order the
 * batches came.
 *
 * @module
 */
import { encodeBatch } from "./batch_codec.ts";
import type { EncodeRequest, EncodeResponse } from "./batch_encoder.ts";

// The worker's global scope, typed without the deno.worker lib (the workspace checks with deno.window).
const port = self as unknown as {
  onmessage: ((event: MessageEvent<EncodeRequest>) => void) | null;
  postMessage(message: EncodeResponse): void;
};

port.onmessage = (event) => {
  const { id, batch, options } = event.data;
  let response: EncodeResponse;
  try {
    response = { id, parts: encodeBatch(batch, options) };
  } catch (error) {
    response = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(response);
};
