/**
 * The contract between the readers' buffering loop and the format parsers.
 *
 * @module
 */

import type { CaptureFileFrame } from "./capture_file_frame.ts";

/**
 * An incremental parser for one capture format. The reader hands it a
 * buffer window; it emits every complete record and reports how far it got,
 * so the same parser serves whole in-memory files and chunked file streams.
 */
export interface CaptureParser {
  /** What the parser is reading, for error messages (`pcap record`, `pcapng block`). */
  readonly unit: string;
  /** Bytes needed from the returned offset before the next record can be parsed. */
  needed: number;
  /**
   * Parses complete records in `bytes[start, end)`, pushing at most
   * `maxFrames` frames to `out`.
   *
   * @param fileOffset file offset of `bytes[0]`, for error offsets
   * @returns offset of the first byte not consumed
   * @throws {PcapFormatError} on damaged data; frames already pushed stay in `out`
   */
  parse(
    bytes: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    fileOffset: number,
    out: CaptureFileFrame[],
    maxFrames: number,
  ): number;
}

/** Sanity cap on one record or block: real frames are at most 256 KiB. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
