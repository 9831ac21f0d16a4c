/**
 * HTTP/1.x request and status lines and the headers a flow carries (RFC 9112):
 * method, host, path, user agent; response status. Recognised by content
 * (a method and an `HTTP/1.` version), not by port.
 *
 * @module
 */

import { displayText, indexOfByte, latin1 } from "./_bytes.ts";

/** What a request tells; field names are those a packet record and a flow carry. */
export interface HttpRequestMetadata {
  /** Request method (`GET`, `POST`, …). */
  http_method: string;
  /** The Host header's value, or null when the request has none (or it was not captured). */
  http_host: string | null;
  /** The request target, at most {@linkcode HTTP_MAX_PATH_BYTES} bytes of it. */
  http_path: string;
  /** The User-Agent header's value (at most {@linkcode HTTP_MAX_HEADER_VALUE_BYTES} bytes), or null. */
  http_user_agent: string | null;
}

/** What a response tells. */
export interface HttpResponseMetadata {
  /** Status code (200, 404, …). */
  http_status: number;
}

/** Longest request target kept, in bytes. */
export const HTTP_MAX_PATH_BYTES = 512;
/** Longest header value kept, in bytes. */
export const HTTP_MAX_HEADER_VALUE_BYTES = 512;
/** Header bytes read at most: headers past this are not looked for. */
const MAX_HEAD_BYTES = 16384;
/** Longest method accepted (the registered ones are at most 17 bytes: `BASELINE-CONTROL`, `VERSION-CONTROL`, …). */
const MAX_METHOD_BYTES = 20;

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const HTTP_VERSION_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."

/**
 * Methods whose request line is taken before its end has arrived: with these,
 * a first segment cut inside a long target is still a request. Other tokens
 * need a complete line ending in `HTTP/1.x`.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "POST",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "CONNECT",
  "TRACE",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "REPORT",
  "SEARCH",
  "SUBSCRIBE",
  "NOTIFY",
  "M-SEARCH",
]);

/** Whether `byte` is a token character (RFC 9110 §5.6.2). */
function isTokenByte(byte: number): boolean {
  if (byte >= 0x30 && byte <= 0x39) return true; // digit
  if ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a) return true; // letter
  // ! # $ % & ' * + - . ^ _ ` | ~
  return byte === 0x21 || (byte >= 0x23 && byte <= 0x27) || byte === 0x2a || byte === 0x2b ||
    byte === 0x2d || byte === 0x2e || byte === 0x5e || byte === 0x5f || byte === 0x60 ||
    byte === 0x7c || byte === 0x7e;
}

function startsWith(bytes: Uint8Array, at: number, prefix: readonly number[]): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * Known methods as bytes, by length, so recognising a request builds no
 * string: the recogniser runs on every first segment of every TCP flow.
 */
const KNOWN_METHOD_BYTES: readonly (readonly Uint8Array[])[] = (() => {
  const byLength: Uint8Array[][] = [];
  for (const method of KNOWN_METHODS) {
    (byLength[method.length] ??= []).push(new TextEncoder().encode(method));
  }
  return byLength;
})();

/** Length of the method token at the start of `bytes` (followed by a space), or -1. */
function methodLength(bytes: Uint8Array): number {
  let at = 0;
  while (at < bytes.length && at <= MAX_METHOD_BYTES && isTokenByte(bytes[at])) at++;
  if (at === 0 || at > MAX_METHOD_BYTES || at >= bytes.length || bytes[at] !== SP) return -1;
  return at;
}

function isKnownMethod(bytes: Uint8Array, length: number): boolean {
  return knownMethodIndex(bytes, length) >= 0;
}

/** Index in `KNOWN_METHOD_BYTES[length]` of the method `bytes` begins with, or -1. */
function knownMethodIndex(bytes: Uint8Array, length: number): number {
  const candidates = KNOWN_METHOD_BYTES[length];
  if (candidates === undefined) return -1;
  for (let k = 0; k < candidates.length; k++) {
    const known = candidates[k];
    let same = true;
    for (let i = 0; i < length && same; i++) same = bytes[i] === known[i];
    if (same) return k;
  }
  return -1;
}

/** The known methods as strings, laid out as {@linkcode KNOWN_METHOD_BYTES}. */
const KNOWN_METHOD_TEXT: readonly (readonly string[])[] = (() => {
  const byLength: string[][] = [];
  for (const method of KNOWN_METHODS) (byLength[method.length] ??= []).push(method);
  return byLength;
})();

/** The method token's text: a known method's one shared string, else the bytes as Latin-1. */
function methodText(bytes: Uint8Array, length: number): string {
  const known = knownMethodIndex(bytes, length);
  return known >= 0 ? KNOWN_METHOD_TEXT[length][known] : latin1(bytes, 0, length);
}

/**
 * Whether the bytes begin like an HTTP/1.x request: a known method and a
 * space, or any token, a target and an `HTTP/1.x` version on a complete
 * first line.
 */
export function looksLikeHttpRequest(bytes: Uint8Array): boolean {
  // Methods are upper-case by convention; reject anything else at once.
  if (bytes.length === 0 || bytes[0] < 0x41 || bytes[0] > 0x5a) return false;
  const length = methodLength(bytes);
  if (length < 0) return false;
  if (isKnownMethod(bytes, length)) return true;
  const lineEnd = indexOfByte(bytes, LF, length, Math.min(bytes.length, MAX_HEAD_BYTES));
  if (lineEnd < 0) return false;
  const end = lineEnd > 0 && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  return end - 9 > length && bytes[end - 9] === SP &&
    startsWith(bytes, end - 8, HTTP_VERSION_PREFIX);
}

/** Whether the bytes begin like an HTTP/1.x status line (`HTTP/1.1 200`). */
export function looksLikeHttpResponse(bytes: Uint8Array): boolean {
  return startsWith(bytes, 0, HTTP_VERSION_PREFIX) && bytes.length >= 12 && bytes[8] === SP &&
    isDigit(bytes[9]) && isDigit(bytes[10]) && isDigit(bytes[11]);
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/**
 * Whether the bytes hold the whole request or response head (the empty line
 * after the headers), so a stream reader knows to stop waiting.
 */
export function httpHeadComplete(bytes: Uint8Array): boolean {
  const limit = Math.min(bytes.length, MAX_HEAD_BYTES);
  for (
    let at = indexOfByte(bytes, LF, 0, limit);
    at >= 0;
    at = indexOfByte(bytes, LF, at + 1, limit)
  ) {
    if (at + 1 < bytes.length && bytes[at + 1] === LF) return true;
    if (at + 2 < bytes.length && bytes[at + 1] === CR && bytes[at + 2] === LF) return true;
  }
  return bytes.length >= MAX_HEAD_BYTES;
}

/** Options for {@linkcode parseHttpRequest}. */
export interface ParseHttpRequestOptions {
  /**
   * The bytes end where the capture cut them (snap length, or the flow
   * ended): a last header line without its end is taken as far as it goes,
   * as tshark shows it, instead of being left out as not yet arrived.
   * @default {false}
   */
  cutByCapture?: boolean;
}

/**
 * Parses the start of an HTTP/1.x request: the request line and, of the
 * headers that were captured, Host and User-Agent. Never throws; null when
 * the bytes do not begin like a request. A request cut short gives what
 * arrived: the method and the start of the target, with the headers not yet
 * seen null (or, with `cutByCapture`, cut).
 *
 * @example
 * ```ts
 * const request = parseHttpRequest(new TextEncoder().encode("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
 * // { http_method: "GET", http_host: "x", http_path: "/a", http_user_agent: null }
 * ```
 */
export function parseHttpRequest(
  bytes: Uint8Array,
  options: ParseHttpRequestOptions = {},
): HttpRequestMetadata | null {
  if (!looksLikeHttpRequest(bytes)) return null;
  const methodEnd = methodLength(bytes);
  const method = { method: methodText(bytes, methodEnd), end: methodEnd };
  const limit = Math.min(bytes.length, MAX_HEAD_BYTES);
  const targetStart = method.end + 1;
  // A target holds no space (RFC 9112 §3.2): it ends at the space before the
  // version, or where the captured bytes end.
  let lineEnd = indexOfByte(bytes, LF, targetStart, limit);
  if (lineEnd < 0) lineEnd = limit;
  let targetEnd = indexOfByte(bytes, SP, targetStart, lineEnd);
  if (targetEnd < 0) {
    targetEnd = lineEnd > targetStart && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  }
  const request: HttpRequestMetadata = {
    http_method: method.method,
    http_host: null,
    http_path: displayText(
      bytes,
      targetStart,
      Math.min(targetEnd, targetStart + HTTP_MAX_PATH_BYTES),
    ),
    http_user_agent: null,
  };
  readHeaders(bytes, lineEnd + 1, limit, options.cutByCapture ?? false, request);
  return request;
}

const HOST = new TextEncoder().encode("host");
const USER_AGENT = new TextEncoder().encode("user-agent");

/** Whether the bytes at `at` spell `lower` (lower-case ASCII), ignoring ASCII case. */
function sameLowerCase(bytes: Uint8Array, at: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) {
    const byte = bytes[at + i];
    if ((byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte) !== lower[i]) return false;
  }
  return true;
}

/**
 * Sets the request's Host and User-Agent from the first header line of each
 * (its value with whitespace trimmed, cut to the longest value kept),
 * reading until the empty line or the end of the bytes. Writes into the
 * request rather than calling back: no closure per request.
 */
function readHeaders(
  bytes: Uint8Array,
  start: number,
  limit: number,
  takeCutLine: boolean,
  request: HttpRequestMetadata,
): void {
  let at = start;
  while (at < limit) {
    let lineEnd = indexOfByte(bytes, LF, at, limit);
    if (lineEnd < 0) {
      if (!takeCutLine) return; // it may yet arrive whole
      lineEnd = limit;
    }
    let end = lineEnd > at && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (end === at) return; // the empty line ends the head
    const colon = indexOfByte(bytes, 0x3a, at, end);
    if (colon > at) {
      // Only Host and User-Agent are wanted: compare bytes, build no name.
      const name = colon - at === 4 && sameLowerCase(bytes, at, HOST)
        ? "host"
        : colon - at === 10 && sameLowerCase(bytes, at, USER_AGENT)
        ? "user-agent"
        : null;
      if (name !== null) {
        let valueStart = colon + 1;
        while (valueStart < end && (bytes[valueStart] === SP || bytes[valueStart] === 0x09)) {
          valueStart++;
        }
        while (end > valueStart && (bytes[end - 1] === SP || bytes[end - 1] === 0x09)) end--;
        const valueEnd = Math.min(end, valueStart + HTTP_MAX_HEADER_VALUE_BYTES);
        if (request.http_host === null && name === "host") {
          request.http_host = displayText(bytes, valueStart, valueEnd);
        } else if (request.http_user_agent === null && name === "user-agent") {
          request.http_user_agent = displayText(bytes, valueStart, valueEnd);
        }
      }
    }
    at = lineEnd + 1;
  }
}

/**
 * Parses an HTTP/1.x status line. Never throws; null when the bytes do not
 * begin with `HTTP/1.x NNN`.
 */
export function parseHttpResponse(bytes: Uint8Array): HttpResponseMetadata | null {
  if (!looksLikeHttpResponse(bytes)) return null;
  return { http_status: (bytes[9] - 0x30) * 100 + (bytes[10] - 0x30) * 10 + (bytes[11] - 0x30) };
}
