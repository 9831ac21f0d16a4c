/**
 * SSH identification strings (RFC 4253 §4.2): `SSH-2.0-OpenSSH_9.2p1 Debian-2`,
 * sent by both sides before anything else, so the first line of each
 * direction names the client's and the server's software.
 *
 * @module
 */

import { displayText, indexOfByte } from "./_bytes.ts";

/** What an identification string tells; the field name is the one a packet record and a flow carry. */
export interface SshMetadata {
  /**
   * The identification line without its CR LF (`SSH-2.0-OpenSSH_9.2p1
   * Debian-2`): the client's in the client's direction, the server's in the
   * server's.
   */
  ssh_banner: string;
}

/** The identification line is at most 255 bytes with its CR LF (RFC 4253 §4.2). */
export const SSH_MAX_BANNER_BYTES = 255;
/** Bytes of lines a server may send before its identification that are looked through. */
const MAX_PREAMBLE_BYTES = 2048;
const SSH_PREFIX = [0x53, 0x53, 0x48, 0x2d]; // "SSH-"
const LF = 0x0a;
const CR = 0x0d;

/** Whether `bytes` begin with `SSH-` (or with as much of it as there is). */
export function looksLikeSsh(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  for (let i = 0; i < 4; i++) if (bytes[i] !== SSH_PREFIX[i]) return false;
  return true;
}

/**
 * Finds the identification line at the start of a stream direction: the
 * first line beginning `SSH-`, after any other lines a server sends first.
 * Never throws; null when there is none yet or the line has not ended (a
 * line longer than 255 bytes is cut there).
 *
 * @example
 * ```ts
 * parseSshBanner(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2p1\r\n"));
 * // { ssh_banner: "SSH-2.0-OpenSSH_9.2p1" }
 * ```
 */
export function parseSshBanner(bytes: Uint8Array): SshMetadata | null {
  let at = 0;
  const limit = Math.min(bytes.length, MAX_PREAMBLE_BYTES + SSH_MAX_BANNER_BYTES);
  while (at < limit) {
    const lineEnd = indexOfByte(bytes, LF, at, Math.min(limit, at + SSH_MAX_BANNER_BYTES));
    if (looksLikeSsh(bytes.subarray(at))) {
      let end = lineEnd;
      if (end < 0) {
        if (bytes.length - at < SSH_MAX_BANNER_BYTES) return null; // not ended yet
        end = at + SSH_MAX_BANNER_BYTES;
      }
      if (end > at && bytes[end - 1] === CR) end--;
      return { ssh_banner: displayText(bytes, at, end) };
    }
    if (lineEnd < 0 || at >= MAX_PREAMBLE_BYTES) return null;
    at = lineEnd + 1;
  }
  return null;
}
