/**
 * Small readers over captured bytes shared by the application-layer parsers.
 * Every reader takes the offset to read at and expects the caller to have
 * checked the bounds; the parsers check once per structure instead of once
 * per byte.
 *
 * @module
 */

/** Big-endian 16-bit value at `at`. */
export function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

/** Big-endian 24-bit value at `at`. */
export function u24(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
}

/** Big-endian unsigned 32-bit value at `at`. */
export function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) >>> 0) + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}

/**
 * The bytes `start..end` as a string with one character per byte (Latin-1),
 * which never fails and keeps every byte visible; protocol text (HTTP
 * headers, SSH banners) is ASCII in practice.
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  // String.fromCharCode over chunks: one call per byte is several times slower.
  for (let at = start; at < end; at += 4096) {
    text += String.fromCharCode(...bytes.subarray(at, Math.min(end, at + 4096)));
  }
  return text;
}

const UTF8 = new TextDecoder("utf-8", { fatal: false });

/** The bytes `start..end` decoded as UTF-8, with U+FFFD for invalid sequences. */
export function utf8(bytes: Uint8Array, start: number, end: number): string {
  return UTF8.decode(bytes.subarray(start, end));
}

/** Dotted-quad text of the IPv4 address at `at`. */
export function ipv4Text(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** Index of the first `needle` byte in `start..end`, or -1. */
export function indexOfByte(bytes: Uint8Array, needle: number, start: number, end: number): number {
  const found = bytes.subarray(start, end).indexOf(needle);
  return found < 0 ? -1 : start + found;
}
