/**
 * zstd bodies decompressed into buffers reused from request to request.
 *
 * `zstdDecompressSync` writes its output into new 16 KiB chunks and then
 * joins them into a new buffer of the body's size: for the agent's 1.5 MB
 * Arrow bodies, memory touched for the first time, twice a request. In a V8
 * profile of the server during `bench/e2e.ts` (the whole bench capture, 334
 * bodies) that was 0.75 s of the 1.25 s node:zlib spent decompressing, 8 %
 * of the server's busy time; decompressing the same bodies into one reused
 * buffer took half the CPU of `zstdDecompressSync` in one process.
 *
 * node:zlib has no public call that writes into a given buffer, so this goes
 * through the handle of a `ZstdDecompress` stream (`_handle.writeSync`, the
 * call `zstdDecompressSync` itself makes), call for call as that function
 * makes them (the same input, the same 16 KiB of room each), into whole
 * chunks of one buffer instead of a new chunk each: so the same bytes come
 * out for any input, even several frames or a damaged one. When anything
 * goes otherwise (no such handle in this runtime, zstd refuses the input,
 * output over the limit) it returns null, and the caller decompresses the
 * body with `zstdDecompressSync`, whose answer (bytes, or the error that
 * names the problem) it keeps.
 *
 * @module
 */
import { constants, createZstdDecompress } from "node:zlib";

/** node:zlib's default output chunk, which `zstdDecompressSync` writes in. */
const ZLIB_CHUNK_BYTES = 16 * 1024;

interface ZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  reset(): void;
}

interface ZstdEngine {
  handle: ZstdHandle;
  /** After each write: [output bytes left free, input bytes left unread]. */
  state: Uint32Array;
  close(): void;
}

function openEngine(): ZstdEngine | null {
  const stream = createZstdDecompress() as unknown as {
    _handle?: Partial<ZstdHandle>;
    _writeState?: unknown;
    close(): void;
  };
  const handle = stream._handle;
  const state = stream._writeState;
  if (
    typeof handle?.writeSync !== "function" || typeof handle.reset !== "function" ||
    !(state instanceof Uint32Array) || state.length < 2
  ) {
    stream.close();
    return null;
  }
  return { handle: handle as ZstdHandle, state, close: () => stream.close() };
}

/** Options for {@link ZstdBodyBuffers}. */
export interface ZstdBodyBuffersOptions {
  /**
   * Buffers kept for reuse (one for each request being stored at once).
   * @default 4
   */
  maxSpare?: number;
  /**
   * A larger buffer is left to the collector rather than kept.
   * @default 16 MiB
   */
  maxSpareBytes?: number;
  /**
   * The size of a new buffer, a multiple of 16 KiB; one too small for a body grows.
   * @default 2 MiB (the agent's batch of 5,000 packets is about 1.5 MB)
   */
  initialBytes?: number;
}

/**
 * Decompresses zstd bodies into buffers handed back by {@link give} once
 * nothing reads the body any more, for the next request to reuse.
 */
export class ZstdBodyBuffers {
  readonly #spare: ArrayBuffer[] = [];
  readonly #own = new WeakSet<ArrayBuffer>();
  readonly #maxSpare: number;
  readonly #maxSpareBytes: number;
  readonly #initialBytes: number;
  #engine: ZstdEngine | null = null;
  /** False once this runtime's node:zlib turned out to have no usable handle. */
  #usable = true;

  /** Checks the options; buffers are made as bodies need them. */
  constructor(options: ZstdBodyBuffersOptions = {}) {
    this.#maxSpare = options.maxSpare ?? 4;
    this.#maxSpareBytes = options.maxSpareBytes ?? 16 << 20;
    this.#initialBytes = options.initialBytes ?? 2 << 20;
    if (!(Number.isInteger(this.#maxSpare) && this.#maxSpare >= 0)) {
      throw new RangeError(
        `Cannot keep zstd body buffers as 'maxSpare' must be an integer >= 0: current value is ${this.#maxSpare}`,
      );
    }
    if (!(Number.isInteger(this.#initialBytes) && this.#initialBytes % ZLIB_CHUNK_BYTES === 0)) {
      throw new RangeError(
        `Cannot keep zstd body buffers as 'initialBytes' must be a multiple of ${ZLIB_CHUNK_BYTES}: current value is ${this.#initialBytes}`,
      );
    }
  }

  /**
   * The decompressed body, in a buffer of this pool, or null when the caller
   * is to use `zstdDecompressSync` (see the module's comment): nothing here
   * throws for a bad body. The bytes stay valid until given back.
   */
  decompress(compressed: Uint8Array, maxOutputBytes: number): Uint8Array | null {
    if (!this.#usable) return null;
    const engine = this.#engine ??= openEngine();
    if (engine === null) {
      this.#usable = false;
      return null;
    }
    let out = this.#take();
    let target = new Uint8Array(out);
    let produced = 0;
    let read = 0;
    try {
      // The calls zstdDecompressSync makes, with the same room each: what it
      // decodes (how many frames, what a damaged frame gives) can depend on it.
      while (true) {
        if (produced === out.byteLength) {
          out = this.#grow(out, maxOutputBytes);
          target = new Uint8Array(out);
        }
        const room = ZLIB_CHUNK_BYTES - produced % ZLIB_CHUNK_BYTES;
        engine.handle.writeSync(
          constants.ZSTD_e_end,
          compressed,
          read,
          compressed.length - read,
          target,
          produced,
          room,
        );
        const freeAfter = engine.state[0];
        produced += room - freeAfter;
        read = compressed.length - engine.state[1];
        if (produced > maxOutputBytes) throw new RangeError("over the limit");
        // Room left in the chunk: zstdDecompressSync stops there too.
        if (freeAfter !== 0) break;
      }
    } catch {
      // Refused, or over the limit: zstdDecompressSync gives the answer.
      this.#put(out);
      this.#engine = null;
      engine.close();
      return null;
    }
    this.#reset();
    this.#own.add(out);
    return new Uint8Array(out, 0, produced);
  }

  /**
   * Hands back a body {@link decompress} returned once nothing will read it
   * again; any other bytes are ignored. Optional: a body never given back is
   * collected as any other.
   */
  give(body: Uint8Array): void {
    const buffer = body.buffer as ArrayBuffer;
    if (!this.#own.has(buffer)) return;
    this.#own.delete(buffer);
    this.#put(buffer);
  }

  #reset(): void {
    try {
      this.#engine?.handle.reset();
    } catch {
      this.#engine?.close();
      this.#engine = null;
    }
  }

  #take(): ArrayBuffer {
    return this.#spare.pop() ?? new ArrayBuffer(this.#initialBytes);
  }

  #put(buffer: ArrayBuffer): void {
    if (this.#spare.length < this.#maxSpare && buffer.byteLength <= this.#maxSpareBytes) {
      this.#spare.push(buffer);
    }
  }

  #grow(buffer: ArrayBuffer, maxOutputBytes: number): ArrayBuffer {
    // Whole chunks, up to the one that holds the byte past the limit.
    const limit = Math.ceil((maxOutputBytes + 1) / ZLIB_CHUNK_BYTES) * ZLIB_CHUNK_BYTES;
    const larger = new ArrayBuffer(
      Math.max(ZLIB_CHUNK_BYTES, Math.min(buffer.byteLength * 2, limit)),
    );
    new Uint8Array(larger).set(new Uint8Array(buffer));
    return larger;
  }
}
