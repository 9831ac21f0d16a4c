/**
 * A SHA-256 fingerprint of a training set, stored with the model so anyone
 * can tell whether two models were trained on the same data, and whether
 * `deno task train` still sees the data the committed model was built from.
 *
 * @module
 */

const utf8 = new TextEncoder();

/** Hex SHA-256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Hashes rows and labels (and groups, if given) in order. The encoding is
 * fixed: per row, its length and its float32 values as stored in memory
 * (little-endian on every platform Deno runs on; NaN payloads and -0 kept),
 * then each label and group as a 4-byte little-endian length and UTF-8.
 * Any change to a value, a label, a group or the row order changes the hash.
 *
 * @example
 * ```ts
 * const hash = await hashTrainingData(X, y, runIds);
 * ```
 */
export async function hashTrainingData(
  X: readonly Float32Array[],
  y: readonly string[],
  groups?: readonly string[],
): Promise<string> {
  if (y.length !== X.length || (groups && groups.length !== X.length)) {
    throw new RangeError(
      `Cannot hash training data as 'y' and 'groups' must have one entry per row: current lengths are ${X.length}, ${y.length} and ${
        groups?.length ?? "none"
      }`,
    );
  }
  const strings = [...y, ...(groups ?? [])].map((s) => utf8.encode(s));
  let size = 8;
  for (const row of X) size += 4 + row.length * 4;
  for (const s of strings) size += 4 + s.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, X.length, true);
  view.setUint32(4, groups ? 1 : 0, true);
  let offset = 8;
  for (const row of X) {
    view.setUint32(offset, row.length, true);
    offset += 4;
    // Copy the raw bytes rather than re-encoding the values, so NaN payloads
    // and -0 are hashed as stored.
    out.set(new Uint8Array(row.buffer, row.byteOffset, row.byteLength), offset);
    offset += row.byteLength;
  }
  for (const s of strings) {
    view.setUint32(offset, s.length, true);
    offset += 4;
    out.set(s, offset);
    offset += s.length;
  }
  return await sha256Hex(out);
}
