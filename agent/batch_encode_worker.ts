/**
 * The worker of {@linkcode WorkerBatchEncoder}: encodes each batch it is
 * sent (Arrow IPC and zstd, split by size, the same `encodeBatch` the
 * capture thread would run) and answers with the parts, in the order the
 * batches came, and with the batch's arrays when they were detached.
 *
 * @module
 */
import { columnArrayBuffers } from "@traffic-analyzer/shared/packet";
import { encodeBatch } from "./batch_codec.ts";
import type { EncodeRequest, EncodeResponse } from "./batch_encoder.ts";

// The worker's global scope, typed without the deno.worker lib (the workspace checks with deno.window).
const port = self as unknown as {
  onmessage: ((event: MessageEvent<EncodeRequest>) => void) | null;
  postMessage(message: EncodeResponse, transfer: ArrayBuffer[]): void;
};

port.onmessage = (event) => {
  const { id, batch, options, arrays } = event.data;
  let response: EncodeResponse;
  try {
    // The body is a new buffer (zstd's output): nothing in it points into `arrays`.
    response = { id, parts: encodeBatch(batch, options), arrays };
  } catch (error) {
    response = { id, error: error instanceof Error ? error.message : String(error), arrays };
  }
  // Detached arrays go back for a later batch, without a copy.
  port.postMessage(response, arrays === null ? [] : columnArrayBuffers(arrays));
};
