/**
 * The first bytes of one direction of a TCP connection, put back in order
 * from its segments: what a parser needs when a TLS ClientHello or an HTTP
 * request spans segments. Bounded in bytes and in the holes it tracks, so a
 * flow cannot make the agent buffer without end.
 *
 * @module
 */

import { EMPTY_BYTES as EMPTY } from "./_bytes.ts";

/** Options for {@linkcode TcpStreamPrefix}. */
export interface TcpStreamPrefixOptions {
  /**
   * Most stream bytes kept; bytes past this offset are dropped.
   * @default {16384}
   */
  maxBytes?: number;
  /**
   * Most separate byte ranges held while holes wait to be filled; a segment
   * that would open one more range is dropped.
   * @default {16}
   */
  maxRanges?: number;
  /**
   * Sequence number of the stream's first byte, when known beforehand (QUIC
   * CRYPTO frames count their offsets from 0). Without it the stream starts
   * after a SYN, or at the first segment that carries data.
   */
  startSeq?: number;
}

const DEFAULT_MAX_BYTES = 16384;
const DEFAULT_MAX_RANGES = 16;
/** Sequence offsets at or past half the space lie before the start (RFC 1982 arithmetic). */
const HALF_SEQUENCE_SPACE = 0x8000_0000;

/**
 * Collects the start of one TCP stream direction from segments fed in any
 * order, dropping retransmitted bytes. The stream starts after the SYN when
 * one is seen, else at the first segment that carries data.
 *
 * @example
 * ```ts
 * const prefix = new TcpStreamPrefix({ maxBytes: 16384 });
 * for (const segment of segments) {
 *   prefix.push(segment.seq, segment.payload, segment.syn);
 *   const read = readFirstHandshake(prefix.bytes());
 *   if (read.status !== "partial") break;
 * }
 * ```
 */
export class TcpStreamPrefix {
  readonly #maxBytes: number;
  readonly #maxRanges: number;
  #start = -1;
  #buffer: Uint8Array = EMPTY;
  /** Sorted, disjoint, non-adjacent [from, to) ranges of stream offsets held. */
  #ranges: number[] = [];

  /** Checks the options; throws `RangeError` naming a bad one. */
  constructor(options: TcpStreamPrefixOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > 1 << 24) {
      throw new RangeError(
        `Cannot build a TCP stream prefix as 'maxBytes' must be an integer 1..16777216: current value is ${maxBytes}`,
      );
    }
    const maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
    if (!Number.isInteger(maxRanges) || maxRanges < 1) {
      throw new RangeError(
        `Cannot build a TCP stream prefix as 'maxRanges' must be an integer >= 1: current value is ${maxRanges}`,
      );
    }
    this.#maxBytes = maxBytes;
    this.#maxRanges = maxRanges;
    if (options.startSeq !== undefined) this.#start = options.startSeq >>> 0;
  }

  /**
   * Feeds one segment of this direction.
   *
   * @param seq the segment's sequence number
   * @param payload its payload (may be empty)
   * @param syn whether the SYN flag is set: the stream then starts at `seq + 1`
   */
  push(seq: number, payload: Uint8Array, syn = false): void {
    if (syn) {
      if (this.#start < 0) this.#start = (seq + 1) >>> 0;
      seq = (seq + 1) >>> 0;
    }
    if (payload.length === 0) return;
    if (this.#start < 0) this.#start = seq >>> 0;
    let from = (seq - this.#start) >>> 0;
    let bytes = payload;
    if (from >= HALF_SEQUENCE_SPACE) {
      // Begins before the stream start: keep only what lies after it.
      const before = 0x1_0000_0000 - from;
      if (before >= bytes.length) return;
      bytes = bytes.subarray(before);
      from = 0;
    }
    if (from >= this.#maxBytes) return;
    const to = Math.min(from + bytes.length, this.#maxBytes);
    if (!this.#addRange(from, to)) return;
    if (this.#buffer.length < to) {
      const grown = new Uint8Array(Math.min(this.#maxBytes, Math.max(to, this.#buffer.length * 2)));
      grown.set(this.#buffer);
      this.#buffer = grown;
    }
    this.#buffer.set(bytes.subarray(0, to - from), from);
  }

  /** Merges [from, to) into the held ranges; false when that would exceed `maxRanges`. */
  #addRange(from: number, to: number): boolean {
    const ranges = this.#ranges;
    // The common case, in-order data after the first range, extends it in place.
    if (ranges.length === 2 && ranges[0] === 0 && from <= ranges[1]) {
      if (to > ranges[1]) ranges[1] = to;
      return true;
    }
    const merged: number[] = [];
    let placed = false;
    for (let i = 0; i < this.#ranges.length; i += 2) {
      const start = this.#ranges[i];
      const end = this.#ranges[i + 1];
      if (end < from) {
        merged.push(start, end);
      } else if (start > to) {
        if (!placed) {
          merged.push(from, to);
          placed = true;
        }
        merged.push(start, end);
      } else {
        from = Math.min(from, start);
        to = Math.max(to, end);
      }
    }
    if (!placed) merged.push(from, to);
    if (merged.length / 2 > this.#maxRanges) return false;
    this.#ranges = merged;
    return true;
  }

  /** The stream's bytes from its start up to the first hole (a view; valid until the next push). */
  bytes(): Uint8Array {
    if (this.#ranges.length === 0 || this.#ranges[0] !== 0) return this.#buffer.subarray(0, 0);
    return this.#buffer.subarray(0, this.#ranges[1]);
  }

  /** Whether `maxBytes` contiguous bytes are held: nothing more can be added. */
  get full(): boolean {
    return this.#ranges[0] === 0 && this.#ranges[1] === this.#maxBytes;
  }
}
