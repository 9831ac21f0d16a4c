/**
 * The error a packet column block (see packet_columns.ts) is refused with:
 * damaged, or written in another layout.
 *
 * @module
 */
/** Raised for a block that is damaged or written in another layout; carries the cause. */
export class PacketColumnsError extends Error {
  /**
   * Creates the error; `cause` is the error underneath, when there is one.
   *
   * @param message what is wrong with the block
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "PacketColumnsError";
  }
}
