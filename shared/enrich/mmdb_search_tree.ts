/**
 * The binary search tree of a MaxMind DB file, walked over an address's
 * bytes (MaxMind DB format 2.0, "Search Tree Section"). mmdb-lib walks the
 * same tree, but only from an address's text, which it parses again on every
 * lookup; the enrichment has the bytes already, and a flow's endpoints are
 * looked up once each, so the parse was most of a lookup's cost.
 *
 * @module
 */

/** What the walk needs of the file's metadata (mmdb-lib's `Metadata` has it). */
export interface MmdbTreeShape {
  /** Nodes in the tree. */
  nodeCount: number;
  /** Bits per record: 24, 28 or 32 (a node holds two). */
  recordSize: number;
  /** 4 for an IPv4-only tree, 6 for one holding IPv6 (with IPv4 at ::/96). */
  ipVersion: number;
}

/** Raised for a tree this reader cannot walk. */
export class MmdbTreeError extends Error {
  /** @param message what is wrong with the tree */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MmdbTreeError";
  }
}

/**
 * Walks a MaxMind DB search tree from address bytes to the record that
 * ends the walk. Its answer is the tree's record value: above `nodeCount`
 * for a data pointer (the same value for every address that shares the data
 * record), or 0 when the address is not in the tree.
 *
 * @example
 * ```ts
 * const tree = new MmdbSearchTree(fileBytes, reader.metadata);
 * const pointer = tree.find(new Uint8Array([8, 8, 8, 8])); // 0: not listed
 * ```
 */
export class MmdbSearchTree {
  readonly #bytes: Uint8Array;
  readonly #nodeCount: number;
  readonly #recordSize: number;
  /** Where IPv4 addresses start in an IPv6 tree: the node 96 zero bits down. */
  readonly #ipv4Start: number;

  /**
   * @param bytes the whole file (the tree is at its start)
   * @param shape the file's metadata
   * @throws {MmdbTreeError} for a record size other than 24, 28 or 32, or a
   * tree larger than the file
   */
  constructor(bytes: Uint8Array, shape: MmdbTreeShape) {
    const { nodeCount, recordSize } = shape;
    if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) {
      throw new MmdbTreeError(`a record size of ${recordSize} bits is not one of 24, 28 or 32`);
    }
    if (
      !Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount * recordSize / 4 > bytes.length
    ) {
      throw new MmdbTreeError(
        `a tree of ${nodeCount} nodes does not fit a ${bytes.length}-byte file`,
      );
    }
    this.#bytes = bytes;
    this.#nodeCount = nodeCount;
    this.#recordSize = recordSize;
    let start = 0;
    if (shape.ipVersion !== 4) {
      for (let depth = 0; depth < 96 && start < nodeCount; depth++) start = this.#record(start, 0);
    }
    this.#ipv4Start = start;
  }

  /**
   * The record value the walk of `address` (4 or 16 bytes) ends on when it
   * is a data pointer, else 0. An IPv4 address is walked from `::/96` in an
   * IPv6 tree.
   */
  find(address: Uint8Array): number {
    const nodeCount = this.#nodeCount;
    const bits = address.length * 8;
    let node = address.length === 4 ? this.#ipv4Start : 0;
    let depth = 0;
    for (; depth < bits && node < nodeCount; depth++) {
      const bit = (address[depth >> 3] >> (7 - (depth & 7))) & 1;
      node = this.#record(node, bit);
    }
    return node > nodeCount ? node : 0;
  }

  /** The left (`bit` 0) or right record of node `node`. */
  #record(node: number, bit: number): number {
    const b = this.#bytes;
    switch (this.#recordSize) {
      case 24: {
        const at = node * 6 + bit * 3;
        return (b[at] << 16) | (b[at + 1] << 8) | b[at + 2];
      }
      case 28: {
        const at = node * 7;
        // The middle byte holds the high nibble of each record.
        return bit === 0
          ? ((b[at + 3] & 0xf0) << 20) | (b[at] << 16) | (b[at + 1] << 8) | b[at + 2]
          : ((b[at + 3] & 0x0f) << 24) | (b[at + 4] << 16) | (b[at + 5] << 8) | b[at + 6];
      }
      default: {
        const at = node * 8 + bit * 4;
        return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
      }
    }
  }
}
