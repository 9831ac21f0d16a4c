/**
 * The packed, sparse copy of a flow's statistics that a flow record keeps
 * (see `FlowFeatureAccumulator.packStats()` in `flow_features.ts`, which
 * writes it): which statistics it holds, as doubles or as 32-bit integers,
 * the most room it takes, and {@linkcode unpackStats}, which reads it back.
 *
 * @module
 */

import * as layout from "./_flow_stats_layout.ts";

// The layout as this module's own constants, which V8 folds into the code
// that reads them, rather than imported bindings, loaded from their module
// cell at every use (see flow_features.ts).
const {
  D_BYTES,
  D_DATA_PACKETS,
  D_FLAGS,
  D_HEADER,
  D_IAT_M2,
  D_IAT_MAX,
  D_IAT_MEAN,
  D_IAT_MIN,
  D_IAT_N,
  D_INIT_WINDOW,
  D_LEN_M2,
  D_LEN_MAX,
  D_LEN_MEAN,
  D_LEN_MIN,
  D_PACKETS,
  D_PAYLOAD,
  F_ACTIVE_END,
  F_ACTIVE_M2,
  F_ACTIVE_MAX,
  F_ACTIVE_MEAN,
  F_ACTIVE_MIN,
  F_ACTIVE_N,
  F_ACTIVE_START,
  F_IAT_M2,
  F_IAT_MAX,
  F_IAT_MEAN,
  F_IAT_MIN,
  F_IAT_N,
  F_IDLE_M2,
  F_IDLE_MAX,
  F_IDLE_MEAN,
  F_IDLE_MIN,
  F_IDLE_N,
  F_LEN_M2,
  F_LEN_MAX,
  F_LEN_MEAN,
  F_LEN_MIN,
  FLAG_BITS,
  ORIG,
  RESP,
  STATS_SIZE,
} = layout;

/**
 * Statistics that {@linkcode deriveFeatures} reads and that hold whole numbers
 * (counts, byte sums, packet lengths, initial windows): a packed copy keeps
 * them as 32-bit integers when they fit.
 */
export const PACKED_INT_FIELDS: readonly number[] = [ORIG, RESP].flatMap((d) => [
  d + D_PACKETS,
  d + D_BYTES,
  d + D_PAYLOAD,
  d + D_HEADER,
  d + D_DATA_PACKETS,
  d + D_LEN_MIN,
  d + D_LEN_MAX,
  d + D_IAT_N,
  ...FLAG_BITS.map((_, i) => d + D_FLAGS + i),
  d + D_INIT_WINDOW,
]).concat([F_LEN_MIN, F_LEN_MAX, F_IAT_N, F_ACTIVE_N, F_IDLE_N]);

/** The other statistics {@linkcode deriveFeatures} reads: means, sums of squares, times. */
export const PACKED_DOUBLE_FIELDS: readonly number[] = [ORIG, RESP].flatMap((d) => [
  d + D_LEN_MEAN,
  d + D_LEN_M2,
  d + D_IAT_MIN,
  d + D_IAT_MAX,
  d + D_IAT_MEAN,
  d + D_IAT_M2,
]).concat([
  F_LEN_MEAN,
  F_LEN_M2,
  F_IAT_MIN,
  F_IAT_MAX,
  F_IAT_MEAN,
  F_IAT_M2,
  F_ACTIVE_START,
  F_ACTIVE_END,
  F_ACTIVE_MIN,
  F_ACTIVE_MAX,
  F_ACTIVE_MEAN,
  F_ACTIVE_M2,
  F_IDLE_MIN,
  F_IDLE_MAX,
  F_IDLE_MEAN,
  F_IDLE_M2,
]);

/** The most doubles a packed copy of the statistics takes (see {@linkcode FlowFeatureAccumulator.packStats}). */
export const PACKED_STATS_MAX_DOUBLES: number = 2 + PACKED_DOUBLE_FIELDS.length +
  Math.ceil(PACKED_INT_FIELDS.length / 2);

/**
 * Writes the statistics written packed by
 * {@linkcode FlowFeatureAccumulator.packStats} at `doubles[at]` (`ints` a
 * 32-bit view of the same buffer) to `out[0..FLOW_STATS_SIZE)`, as
 * {@linkcode FlowFeatureAccumulator.copyStats} would have: every statistic
 * {@linkcode deriveFeatures} reads has its value, the others (last packet
 * times, the packet total) are 0.
 */
export function unpackStats(
  doubles: Float64Array,
  ints: Int32Array,
  at: number,
  out: Float64Array,
): void {
  const intFields = PACKED_INT_FIELDS;
  const doubleFields = PACKED_DOUBLE_FIELDS;
  out.fill(0, 0, STATS_SIZE);
  const h = at * 2;
  const doubleMask = ints[h];
  const low = ints[h + 1];
  const high = ints[h + 2];
  let d = at + 2;
  for (let i = 0; i < doubleFields.length; i++) {
    if ((doubleMask & (1 << i)) !== 0) out[doubleFields[i]] = doubles[d++];
  }
  let k = d * 2;
  for (let i = 0; i < intFields.length; i++) {
    const bit = i < 32 ? (low >>> i) & 1 : (high >>> (i - 32)) & 1;
    if (bit !== 0) out[intFields[i]] = ints[k++];
  }
}
