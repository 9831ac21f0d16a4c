/**
 * Stable time ordering of a batch of packets for the flow table.
 *
 * @module
 */

/**
 * The packets in time order, stable (equal timestamps keep their capture
 * order), as `[...packets].sort((a, b) => a.timestamp - b.timestamp)` gives
 * them. Captures are nearly in order, so an insertion sort usually moves a
 * few packets a short way; past a budget of moves, or with a NaN time, the
 * general sort takes over.
 */
export function sortByTime<T extends { timestamp: number }>(packets: readonly T[]): readonly T[] {
  const general = () => [...packets].sort((a, b) => a.timestamp - b.timestamp);
  const out = packets.slice();
  if (out.length > 0 && out[0].timestamp !== out[0].timestamp) return general();
  let budget = 4 * out.length + 1024;
  for (let i = 1; i < out.length; i++) {
    const p = out[i];
    const t = p.timestamp;
    if (t !== t) return general();
    if (t >= out[i - 1].timestamp) continue;
    let j = i - 1;
    while (j >= 0 && out[j].timestamp > t) {
      out[j + 1] = out[j];
      j--;
      if (--budget < 0) return general();
    }
    out[j + 1] = p;
  }
  return out;
}
