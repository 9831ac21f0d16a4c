/**
 * The error capture-file readers throw on damaged or truncated input.
 *
 * @module
 */

/** Options for {@linkcode PcapFormatError}. */
export interface PcapFormatErrorOptions {
  /** Byte offset in the file of the header or block that is damaged. */
  offset: number;
  /** The underlying error, when one caused this. */
  cause?: unknown;
}

/**
 * A capture file (pcap or pcapng) is damaged, truncated or not a capture at
 * all. Readers throw it only after yielding every good frame before the
 * damage, so a caller keeps everything that could be read. `offset` is the
 * byte offset of the header or block that could not be read.
 *
 * @example
 * ```ts
 * try {
 *   for await (const frame of readCapture("x.pcap")) count++;
 * } catch (error) {
 *   if (error instanceof PcapFormatError) console.log(`damaged at byte ${error.offset}`);
 * }
 * ```
 */
export class PcapFormatError extends Error {
  /** Byte offset in the file of the damaged header or block. */
  readonly offset: number;

  /** Creates the error; `message` should say what is wrong at `offset`. */
  constructor(message: string, options: PcapFormatErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "PcapFormatError";
    this.offset = options.offset;
  }
}
