/**
 * Reading pcap and pcapng captures from files (streamed in chunks) or from
 * memory, with the format detected from the magic number.
 *
 * @module
 */

import type { CaptureFileFrame } from "./capture_file_frame.ts";
import type { CaptureParser } from "./_capture_parser.ts";
import { isPcapMagic, PcapParser } from "./_pcap_parser.ts";
import { PCAPNG_SHB_TYPE, PcapngParser } from "./_pcapng_parser.ts";
import { PcapFormatError } from "./pcap_format_error.ts";

/** The capture file formats the readers understand. */
export type CaptureFormat = "pcap" | "pcapng";

/** Anything with a `read` like `Deno.FsFile`: fills `p`, returns bytes read or null at the end. */
export interface CaptureByteReader {
  /** Reads up to `p.length` bytes into `p`. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Where to read a capture from: a file path, a `file:` URL, bytes in memory, or an open reader. */
export type CaptureSource = string | URL | Uint8Array | CaptureByteReader;

/** Options for {@linkcode readCapture} and friends. */
export interface ReadCaptureOptions {
  /**
   * Bytes read from a file at a time; a record larger than this grows the
   * buffer for itself.
   *
   * @default {1048576}
   */
  chunkBytes?: number;
  /**
   * Most frames in one batch of {@linkcode readCaptureBatches}. A batch's
   * frames are all alive while the caller works through it, so whatever the
   * caller allocates meanwhile (app-layer extraction does, per packet) makes
   * the young-generation GC find a whole batch alive, copy it and promote
   * it. Reading a file over and over in one process with extraction on,
   * 4096-frame batches doubled the scavenges' time; 512 brought it back
   * near that of extraction off, at no cost per frame.
   *
   * @default {512}
   */
  batchFrames?: number;
}

const MAGIC_BYTES = 4;
const DEFAULT_CHUNK_BYTES = 1 << 20;
const DEFAULT_BATCH_FRAMES = 512;

/**
 * The format of a capture from its first bytes, or `null` when they are no
 * known magic (or fewer than 4 bytes).
 *
 * @example
 * ```ts
 * detectCaptureFormat(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1])); // "pcap"
 * ```
 */
export function detectCaptureFormat(head: Uint8Array): CaptureFormat | null {
  if (head.length < MAGIC_BYTES) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0) === PCAPNG_SHB_TYPE) return "pcapng";
  if (isPcapMagic(view, 0)) return "pcap";
  return null;
}

function parserFor(head: Uint8Array): CaptureParser {
  switch (detectCaptureFormat(head)) {
    case "pcap":
      return new PcapParser();
    case "pcapng":
      return new PcapngParser();
    default: {
      const hex = Array.from(head.subarray(0, MAGIC_BYTES), (b) => b.toString(16).padStart(2, "0"))
        .join("");
      throw new PcapFormatError(
        `Cannot read capture: unknown magic 0x${hex} (not pcap or pcapng)`,
        { offset: 0 },
      );
    }
  }
}

function checkOptions(options: ReadCaptureOptions): {
  chunkBytes: number;
  batchFrames: number;
} {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 64) {
    throw new RangeError(
      `Cannot read capture as 'chunkBytes' must be an integer >= 64: current value is ${chunkBytes}`,
    );
  }
  const batchFrames = options.batchFrames ?? DEFAULT_BATCH_FRAMES;
  if (!Number.isInteger(batchFrames) || batchFrames < 1) {
    throw new RangeError(
      `Cannot read capture as 'batchFrames' must be an integer >= 1: current value is ${batchFrames}`,
    );
  }
  return { chunkBytes, batchFrames };
}

function truncatedError(
  parser: CaptureParser | undefined,
  offset: number,
  remaining: number,
): PcapFormatError {
  if (parser === undefined) {
    return new PcapFormatError(
      `Cannot read capture: ${remaining} bytes are too few for a file header`,
      { offset },
    );
  }
  return new PcapFormatError(
    `Cannot read ${parser.unit} at offset ${offset}: file truncated (needs ${parser.needed} bytes, ${remaining} remain)`,
    { offset },
  );
}

/**
 * Reads a capture held in memory, yielding batches of frames. Frames before
 * any damage are yielded first; then a {@linkcode PcapFormatError} is thrown
 * with the damaged record's offset.
 */
export function* readCaptureBytesBatches(
  bytes: Uint8Array,
  options: ReadCaptureOptions = {},
): Generator<CaptureFileFrame[]> {
  const { batchFrames } = checkOptions(options);
  if (bytes.length < MAGIC_BYTES) throw truncatedError(undefined, 0, bytes.length);
  const parser = parserFor(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  for (;;) {
    const out: CaptureFileFrame[] = [];
    let failure: unknown;
    try {
      start = parser.parse(bytes, view, start, bytes.length, 0, out, batchFrames);
    } catch (error) {
      failure = error;
    }
    if (out.length > 0) yield out;
    if (failure !== undefined) throw failure;
    if (out.length < batchFrames) break;
  }
  if (start < bytes.length) {
    throw truncatedError(parser, start, bytes.length - start);
  }
}

/**
 * Reads a capture held in memory, frame by frame.
 *
 * @example
 * ```ts
 * for (const frame of readCaptureBytes(await Deno.readFile("x.pcap"))) {
 *   console.log(frame.timestampNs, frame.caplen);
 * }
 * ```
 */
export function* readCaptureBytes(
  bytes: Uint8Array,
  options: ReadCaptureOptions = {},
): Generator<CaptureFileFrame> {
  for (const batch of readCaptureBytesBatches(bytes, options)) yield* batch;
}

/**
 * Streams a capture in batches of frames, reading a file in chunks so memory
 * stays bounded whatever the file size. A path or URL is opened and closed
 * here; a reader passed in is left open. Frames before any damage are yielded
 * first, then a {@linkcode PcapFormatError} names the damaged offset.
 */
export async function* readCaptureBatches(
  source: CaptureSource,
  options: ReadCaptureOptions = {},
): AsyncGenerator<CaptureFileFrame[]> {
  const { chunkBytes, batchFrames } = checkOptions(options);
  if (source instanceof Uint8Array) {
    yield* readCaptureBytesBatches(source, options);
    return;
  }
  if (typeof source === "string" || source instanceof URL) {
    using file = await Deno.open(source, { read: true });
    yield* readerBatches(file, chunkBytes, batchFrames);
    return;
  }
  yield* readerBatches(source, chunkBytes, batchFrames);
}

/**
 * Streams a capture frame by frame; see {@linkcode readCaptureBatches}.
 *
 * @example
 * ```ts
 * for await (const frame of readCapture("capture.pcapng")) {
 *   console.log(frame.interfaceIndex, frame.linkType, frame.wireLength);
 * }
 * ```
 */
export function readCapture(
  source: CaptureSource,
  options: ReadCaptureOptions = {},
): AsyncIterableIterator<CaptureFileFrame> {
  return new FrameIterator(readCaptureBatches(source, options));
}

/**
 * Hands out a batch's frames one per `next()` with an already-resolved
 * promise. An async generator would cost several promise turns per frame,
 * which at millions of frames per second is most of the reading time.
 */
class FrameIterator implements AsyncIterableIterator<CaptureFileFrame> {
  #batches: AsyncGenerator<CaptureFileFrame[]>;
  #batch: CaptureFileFrame[] = [];
  #index = 0;

  constructor(batches: AsyncGenerator<CaptureFileFrame[]>) {
    this.#batches = batches;
  }

  next(): Promise<IteratorResult<CaptureFileFrame>> {
    if (this.#index < this.#batch.length) {
      return Promise.resolve({ value: this.#batch[this.#index++], done: false });
    }
    return this.#nextBatch();
  }

  async #nextBatch(): Promise<IteratorResult<CaptureFileFrame>> {
    for (;;) {
      const result = await this.#batches.next();
      if (result.done) return { value: undefined, done: true };
      if (result.value.length > 0) {
        this.#batch = result.value;
        this.#index = 1;
        return { value: this.#batch[0], done: false };
      }
    }
  }

  /** Stops early (a `break` in `for await`): closes the file if we opened it. */
  async return(): Promise<IteratorResult<CaptureFileFrame>> {
    this.#batch = [];
    await this.#batches.return(undefined);
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<CaptureFileFrame> {
    return this;
  }
}

async function* readerBatches(
  reader: CaptureByteReader,
  chunkBytes: number,
  batchFrames: number,
): AsyncGenerator<CaptureFileFrame[]> {
  // Frames are views into `buffer`, so a full buffer is replaced, never reused.
  let buffer = new Uint8Array(chunkBytes);
  let view = new DataView(buffer.buffer);
  let bufferFileOffset = 0;
  let start = 0;
  let filled = 0;
  let eof = false;
  let parser: CaptureParser | undefined;
  for (;;) {
    if (parser === undefined && filled - start >= MAGIC_BYTES) {
      parser = parserFor(buffer.subarray(start, filled));
    }
    if (parser !== undefined) {
      const out: CaptureFileFrame[] = [];
      let failure: unknown;
      try {
        start = parser.parse(
          buffer,
          view,
          start,
          filled,
          bufferFileOffset,
          out,
          batchFrames,
        );
      } catch (error) {
        failure = error;
      }
      if (out.length > 0) yield out;
      if (failure !== undefined) throw failure;
      if (out.length === batchFrames) continue;
    }
    if (eof) {
      if (parser === undefined || start < filled) {
        throw truncatedError(parser, bufferFileOffset + start, filled - start);
      }
      return;
    }
    const needed = parser?.needed ?? MAGIC_BYTES;
    if (buffer.length - start < needed || filled === buffer.length) {
      const next = new Uint8Array(Math.max(chunkBytes, needed));
      next.set(buffer.subarray(start, filled));
      bufferFileOffset += start;
      filled -= start;
      start = 0;
      buffer = next;
      view = new DataView(buffer.buffer);
    }
    const read = await reader.read(buffer.subarray(filled));
    if (read === null) eof = true;
    else filled += read;
  }
}
