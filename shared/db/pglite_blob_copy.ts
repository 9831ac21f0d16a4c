/**
 * `COPY ... FROM '/dev/blob'` on PGlite from bytes already in memory.
 *
 * PGlite's `/dev/blob` device hands a COPY its data one byte at a time in a
 * JavaScript loop (0.5.14, the device's `read`), from a `Blob` it first
 * reads whole by `await blob.arrayBuffer()`. Profiled on the ingest of the
 * bench capture's first 100k packets into an on-disk PGlite, that loop took
 * about 4 % of the process's time, and before it making and reading real
 * Blobs had taken 0.49 s of 6.0 s (`op_blob_create_part`, `#u8Array`). So
 * the COPY here reads from a device of this module's own
 * (`/dev/traffic-copy-in`, registered once per PGlite instance in its
 * Emscripten file system), whose `read` copies each chunk PostgreSQL asks
 * for with one `set` straight from the caller's parts: no Blob, no joined
 * buffer, no byte loop. The statement goes by PGlite's `exec` (the simple
 * query protocol: one message through its WASM, where `query` sends parse,
 * describe, bind, execute and sync one by one).
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";

/** Where the COPY statements given to {@link copyFromBytesOnPglite} name their source. */
const BLOB_SOURCE = "'/dev/blob'";
/** This module's device, in PGlite's Emscripten file system. */
const DEVICE_PATH = "/dev/traffic-copy-in";
/** Its device number: PGlite's `/dev/blob` is (64, 0). */
const DEVICE_MAJOR = 64;
const DEVICE_MINOR = 1;

/** What a COPY in progress reads: its parts, one after another. */
interface CopySource {
  parts: readonly Uint8Array[];
  length: number;
}

/** The device of one PGlite instance, and the COPYs queued on it. */
interface CopyDevice {
  /** The data of the COPY that runs now; null between COPYs. */
  source: CopySource | null;
  /** The end of the last COPY queued: one COPY reads the device at a time. */
  tail: Promise<unknown>;
}

const devices = new WeakMap<PGlite, CopyDevice>();

/** The subset of Emscripten's FS this module uses. */
interface EmscriptenFs {
  makedev(major: number, minor: number): number;
  registerDevice(dev: number, ops: Record<string, unknown>): void;
  mkdev(path: string, dev: number): void;
  ErrnoError: new (errno: number) => Error;
}

const EIO = 29;
const EINVAL = 28;

function deviceOf(pglite: PGlite): CopyDevice {
  const device = devices.get(pglite);
  if (device) return device;
  const fs = (pglite.Module as unknown as { FS: EmscriptenFs }).FS;
  const created: CopyDevice = { source: null, tail: Promise.resolve() };
  const dev = fs.makedev(DEVICE_MAJOR, DEVICE_MINOR);
  fs.registerDevice(dev, {
    open: () => {},
    close: () => {},
    read: (
      _stream: unknown,
      buffer: Uint8Array,
      offset: number,
      length: number,
      position: number,
    ): number => {
      const source = created.source;
      if (source === null) throw new fs.ErrnoError(EIO);
      return readParts(source, buffer, offset, length, position);
    },
    llseek: (stream: { position: number }, offset: number, whence: number): number => {
      const length = created.source?.length ?? 0;
      const position = whence === 1
        ? stream.position + offset
        : whence === 2
        ? length + offset
        : offset;
      if (position < 0) throw new fs.ErrnoError(EINVAL);
      return position;
    },
  });
  fs.mkdev(DEVICE_PATH, dev);
  devices.set(pglite, created);
  return created;
}

/**
 * Copies up to `length` bytes of `source`, from `position`, into `buffer` at
 * `offset` (PostgreSQL asks for 64 KiB at a time); returns how many.
 */
function readParts(
  source: CopySource,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  // Emscripten hands the WASM heap as an Int8Array: view it as bytes, so that
  // `set` is one memory copy rather than a conversion per element.
  const into = new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length);
  let written = 0;
  let start = 0;
  for (const part of source.parts) {
    const end = start + part.length;
    if (position < end && written < length) {
      const from = position - start;
      const size = Math.min(part.length - from, length - written);
      into.set(part.subarray(from, from + size), written);
      written += size;
      position += size;
    }
    start = end;
    if (written === length) break;
  }
  return written;
}

/**
 * Runs `statement` (a `COPY ... FROM '/dev/blob'`) on `pglite` with the
 * concatenation of `parts` as its data, in PGlite's one session (so inside a
 * transaction the socket opened). The statement reads this module's device
 * in place of `/dev/blob`, straight from `parts` (none is copied first);
 * COPYs through this function run one at a time. Throws PGlite's error when
 * the COPY fails, and a RangeError when `statement` names no `'/dev/blob'`.
 */
export async function copyFromBytesOnPglite(
  pglite: PGlite,
  statement: string,
  parts: readonly Uint8Array[],
): Promise<void> {
  if (!statement.includes(BLOB_SOURCE)) {
    throw new RangeError(
      `Cannot run a COPY on PGlite as its statement names no ${BLOB_SOURCE}: ${statement}`,
    );
  }
  const device = deviceOf(pglite);
  const onDevice = statement.replace(BLOB_SOURCE, `'${DEVICE_PATH}'`);
  let length = 0;
  for (const part of parts) length += part.length;
  const run = async () => {
    device.source = { parts, length };
    try {
      await pglite.exec(onDevice);
    } finally {
      device.source = null;
    }
  };
  const done = device.tail.then(run, run);
  device.tail = done.catch(() => {});
  await done;
}
