/**
 * Small readers over captured bytes shared by the application-layer parsers.
 * Every reader takes the offset to read at and expects the caller to have
 * checked the bounds; the parsers check once per structure instead of once
 * per byte.
 *
 * @module
 */

/**
 * One empty byte array for every holder of "no bytes yet" (a stream, a
 * prefix, a reused packet): a typed array made per holder costs more than
 * the rest of its set-up. Never written (it has no bytes to write).
 */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

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

/** Longest run handed to one `String.fromCharCode.apply` call (engines cap argument counts). */
const CHUNK_BYTES = 4096;

/** Slots of {@link textCache} (a power of two). */
const TEXT_CACHE_SLOTS = 4096;
/** Longest text {@link textCache} holds: a name or a header value; longer text is made afresh. */
const TEXT_CACHE_MAX_BYTES = 256;
/**
 * The last short text {@linkcode latin1} made in each slot, by a hash of its
 * bytes. The same names, hosts, paths and user agents come back packet
 * after packet (every flow of a scan, every query for one name): a text
 * found here is given again instead of being made anew. That costs a walk
 * over the bytes instead of a string and its garbage, and the record's
 * dictionary then finds a string whose hash V8 has already computed.
 */
const textCache: string[] = new Array<string>(TEXT_CACHE_SLOTS).fill("");

/**
 * The bytes `start..end` as a string with one character per byte (Latin-1),
 * which never fails and keeps every byte visible; protocol text (HTTP
 * methods, header values) is ASCII in practice. Short text that was made
 * recently is given as the same string again.
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length <= TEXT_CACHE_MAX_BYTES) {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193);
    }
    const slot = h & (TEXT_CACHE_SLOTS - 1);
    const cached = textCache[slot];
    if (cached.length === length) {
      let i = 0;
      while (i < length && cached.charCodeAt(i) === bytes[start + i]) i++;
      if (i === length) return cached;
    }
    // `apply` takes the typed array as an array-like: several times faster
    // than spreading it, which runs the iterator protocol per byte.
    const text = String.fromCharCode.apply(
      null,
      bytes.subarray(start, end) as unknown as number[],
    );
    textCache[slot] = text;
    return text;
  }
  if (length <= CHUNK_BYTES) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let text = "";
  for (let at = start; at < end; at += CHUNK_BYTES) {
    const chunk = bytes.subarray(at, Math.min(end, at + CHUNK_BYTES));
    text += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return text;
}

const UTF8 = new TextDecoder("utf-8", { fatal: false });

/** tshark's escapes for C0 controls that have a letter; other controls become `\ooo`. */
const LETTER_ESCAPES: Readonly<Record<number, string>> = {
  0x07: "\\a",
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0b: "\\v",
  0x0c: "\\f",
  0x0d: "\\r",
};

/**
 * Protocol text (a DNS label, a server name, an ALPN value) the way tshark
 * shows it: UTF-8 (mDNS names such as "Jane’s iPhone" are UTF-8, RFC 6762
 * §16), an invalid sequence as U+FFFD, and control characters escaped
 * (`\n`, `\000`), so a name never carries a control character into a log
 * or a page. Long text should be cut before: this walks every byte.
 */
export function displayText(message: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const byte = message[i];
    if (byte < 0x20 || byte > 0x7e) {
      ascii = false;
      break;
    }
  }
  if (ascii) return latin1(message, start, end);
  let text = "";
  for (const char of UTF8.decode(message.subarray(start, end))) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) {
      text += LETTER_ESCAPES[code] ?? `\\${code.toString(8).padStart(3, "0")}`;
    } else {
      text += char;
    }
  }
  return text;
}

/** Dotted-quad text of the IPv4 address at `at`. */
export function ipv4Text(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/**
 * Index of the first `needle` byte in `start..end`, or -1. A plain loop: the
 * scans here are short (a header line), where `subarray().indexOf()` costs
 * more in the view it allocates than it saves.
 */
export function indexOfByte(bytes: Uint8Array, needle: number, start: number, end: number): number {
  const stop = end < bytes.length ? end : bytes.length;
  for (let i = start; i < stop; i++) if (bytes[i] === needle) return i;
  return -1;
}
