/**
 * gzip of text given in pieces (issue 15): the flow table's saved state was
 * `gzipSync(JSON.stringify(table.toJSON()))`, so a large table existed as a
 * whole object tree, then as one string of tens of MB, then gzipped, on top
 * of the pass's garbage. Pieces are compressed as they come, so what exists
 * at once is a piece or two and the compressed output.
 *
 * @module
 */
import { createGzip } from "node:zlib";
import { concatBytes } from "@traffic-analyzer/shared";

/** Text gathered before it is handed to the compressor. */
const PIECE_CHARS = 1 << 18;

/**
 * The gzip (at `level`) of the UTF-8 text of `pieces` concatenated: it
 * gunzips to the same bytes as `gzipSync(pieces.join(""), { level })`.
 */
export async function gzipText(pieces: Iterable<string>, level: number): Promise<Uint8Array> {
  const gzip = createGzip({ level, chunkSize: 1 << 16 });
  const out: Uint8Array[] = [];
  gzip.on("data", (chunk: Uint8Array) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.once("end", resolve);
    gzip.once("error", reject);
  });
  const write = (text: string) =>
    new Promise<void>((resolve, reject) =>
      gzip.write(text, "utf8", (error) => error ? reject(error) : resolve())
    );
  let pending = "";
  for (const piece of pieces) {
    pending += piece;
    if (pending.length >= PIECE_CHARS) {
      await write(pending);
      pending = "";
    }
  }
  if (pending.length > 0) await write(pending);
  gzip.end();
  await ended;
  return concatBytes(out);
}
