/**
 * `COPY ... FROM '/dev/blob'` on PGlite from bytes already in memory.
 *
 * PGlite takes the data of such a COPY as a `Blob` and reads it back with
 * `await blob.arrayBuffer()` before it runs the statement (0.5.14,
 * `_handleBlob`); that one method is all it asks of the blob. A real `Blob`
 * copies the bytes into Deno's blob store and `arrayBuffer()` copies them out
 * again: profiled on the ingest of the 208k-packet bench cut into an on-disk
 * PGlite, making and reading those Blobs took 0.49 s of the 6.0 s the batches
 * took (`op_blob_create_part`, `op_blob_read_part`, `#u8Array`). Here the
 * blob is an object whose `arrayBuffer()` answers the bytes' own buffer.
 * The statement goes by PGlite's `exec` (the simple query protocol: one
 * message through its WASM, where `query` sends parse, describe, bind,
 * execute and sync one by one).
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { concatBytes } from "../concat_bytes.ts";

/**
 * Runs `statement` (a `COPY ... FROM '/dev/blob'`) on `pglite` with the
 * concatenation of `parts` as its data, in PGlite's one session (so inside a
 * transaction the socket opened). A part that is its buffer's whole extent is
 * passed without a copy; several parts are joined into one buffer first.
 * Throws PGlite's error when the COPY fails.
 */
export async function copyFromBytesOnPglite(
  pglite: PGlite,
  statement: string,
  parts: readonly Uint8Array[],
): Promise<void> {
  const buffer = wholeBuffer(parts);
  const blob = { arrayBuffer: () => Promise.resolve(buffer) } as unknown as Blob;
  await pglite.exec(statement, { blob });
}

function wholeBuffer(parts: readonly Uint8Array[]): ArrayBuffer {
  if (parts.length === 1) {
    const [part] = parts;
    if (
      part.buffer instanceof ArrayBuffer && part.byteOffset === 0 &&
      part.byteLength === part.buffer.byteLength
    ) {
      return part.buffer;
    }
  }
  return concatBytes(parts).buffer;
}
