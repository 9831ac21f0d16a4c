/**
 * One byte array holding `parts` one after another, in a new buffer of
 * exactly their total length (a copy even for a single part, so the result
 * never shares memory with a part). The one joiner for the whole repository:
 * packet and tunnel encoders, TLS handshake fragments, request bodies read
 * in chunks, stored outbox chunks and PGlite's COPY data.
 *
 * @example
 * ```ts
 * const frame = concatBytes([header, payload]);
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
