/**
 * The stored form of a flow's feature vector (`traffic_data.features`, bytea):
 * its float32 values back to back, big-endian, 4 bytes each. That is exactly
 * what PostgreSQL's `float4send` gives, so SQL and TypeScript agree on every
 * bit (migration 003 converted the old `real[]` column with it).
 *
 * @module
 */

/** Bytes per stored feature value (one big-endian float32). */
export const FEATURE_VALUE_BYTES = 4;

/**
 * Writes `vector` in the stored form into `view` at `byteOffset` and returns
 * the offset just past it. A non-finite value (NaN, ±Infinity) is written as
 * 0, as the aggregator has always stored it: the column holds what the model
 * was given, and the model is given no non-finite input.
 *
 * @example
 * ```ts
 * const bytes = new Uint8Array(2 * FEATURE_VALUE_BYTES * vector.length);
 * const view = new DataView(bytes.buffer);
 * const next = writeFeatureVector(view, 0, vector);
 * writeFeatureVector(view, next, vector);
 * ```
 */
export function writeFeatureVector(
  view: DataView,
  byteOffset: number,
  vector: Float32Array,
): number {
  const end = byteOffset + vector.length * FEATURE_VALUE_BYTES;
  if (byteOffset < 0 || end > view.byteLength) {
    throw new RangeError(
      `Cannot write a feature vector of ${vector.length} values at byte ${byteOffset}: ` +
        `the view holds ${view.byteLength} bytes`,
    );
  }
  for (let i = 0, at = byteOffset; i < vector.length; i++, at += FEATURE_VALUE_BYTES) {
    const x = vector[i];
    // A float32 read back from a Float32Array converts to float32 exactly,
    // so -0 and subnormals keep their bits.
    view.setFloat32(at, Number.isFinite(x) ? x : 0);
  }
  return end;
}

/** Returns `vector` in the stored form (see {@link writeFeatureVector}). */
export function encodeFeatureVector(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * FEATURE_VALUE_BYTES);
  writeFeatureVector(new DataView(bytes.buffer), 0, vector);
  return bytes;
}

/**
 * Reads a stored feature vector (`traffic_data.features`) back into the
 * `Float32Array` the model scored, bit for bit.
 *
 * @example
 * ```ts
 * const [row]: [{ features: Uint8Array }?] = await sql`
 *   select features from traffic_data where flow_uid = ${uid}`;
 * const vector = decodeFeatureVector(row!.features);
 * ```
 */
export function decodeFeatureVector(bytes: Uint8Array): Float32Array {
  if (bytes.length % FEATURE_VALUE_BYTES !== 0) {
    throw new RangeError(
      `Cannot decode a feature vector of ${bytes.length} bytes: ` +
        `it must be a whole number of ${FEATURE_VALUE_BYTES}-byte float32 values`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(bytes.length / FEATURE_VALUE_BYTES);
  for (let i = 0; i < vector.length; i++) {
    vector[i] = view.getFloat32(i * FEATURE_VALUE_BYTES);
  }
  return vector;
}
