/**
 * Secret comparison whose time does not depend on where the inputs first
 * differ, so a caller cannot learn a token byte by byte from response times.
 *
 * @module
 */

/** True when `a` and `b` hold the same bytes; time depends only on `a`'s length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ (b[i % b.length] ?? 0);
  return diff === 0;
}
