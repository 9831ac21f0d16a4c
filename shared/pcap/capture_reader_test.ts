import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CaptureByteReader,
  detectCaptureFormat,
  readCapture,
  readCaptureBytes,
} from "./capture_reader.ts";
import type { CaptureFileFrame } from "./capture_file_frame.ts";
import { PcapFormatError } from "./pcap_format_error.ts";
import { concatBytes } from "../concat_bytes.ts";

// ---------------------------------------------------------------- builders
// Files are built byte by byte here, independently of the writer, so the
// reader is not tested against its own sibling's idea of the format.

interface TestRecord {
  seconds: number;
  fraction: number;
  data: Uint8Array;
  wireLength?: number;
}

function pcapFile(
  records: TestRecord[],
  { littleEndian = true, nanos = false, linkType = 1 } = {},
): Uint8Array {
  const size = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, littleEndian);
  view.setUint16(4, 2, littleEndian);
  view.setUint16(6, 4, littleEndian);
  view.setUint32(16, 65535, littleEndian);
  view.setUint32(20, linkType, littleEndian);
  let p = 24;
  for (const r of records) {
    view.setUint32(p, r.seconds, littleEndian);
    view.setUint32(p + 4, r.fraction, littleEndian);
    view.setUint32(p + 8, r.data.length, littleEndian);
    view.setUint32(p + 12, r.wireLength ?? r.data.length, littleEndian);
    out.set(r.data, p + 16);
    p += 16 + r.data.length;
  }
  return out;
}

class PcapngBuilder {
  #parts: Uint8Array[] = [];
  #le = true;

  block(type: number, body: Uint8Array): this {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    view.setUint32(0, type, this.#le);
    view.setUint32(4, total, this.#le);
    out.set(body, 8);
    view.setUint32(total - 4, total, this.#le);
    this.#parts.push(out);
    return this;
  }

  section(littleEndian: boolean): this {
    this.#le = littleEndian;
    const body = new Uint8Array(16);
    const view = new DataView(body.buffer);
    view.setUint32(0, 0x1a2b3c4d, littleEndian);
    view.setUint16(4, 1, littleEndian);
    view.setBigInt64(8, -1n, littleEndian);
    return this.block(0x0a0d0d0a, body);
  }

  interface(
    linkType: number,
    options: { name?: string; tsresol?: number; tsoffsetSec?: bigint; snaplen?: number } = {},
  ): this {
    const opts: Uint8Array[] = [];
    const option = (code: number, value: Uint8Array) => {
      const o = new Uint8Array(4 + ((value.length + 3) & ~3));
      const v = new DataView(o.buffer);
      v.setUint16(0, code, this.#le);
      v.setUint16(2, value.length, this.#le);
      o.set(value, 4);
      opts.push(o);
    };
    if (options.name !== undefined) option(2, new TextEncoder().encode(options.name));
    if (options.tsresol !== undefined) option(9, new Uint8Array([options.tsresol]));
    if (options.tsoffsetSec !== undefined) {
      const value = new Uint8Array(8);
      new DataView(value.buffer).setBigInt64(0, options.tsoffsetSec, this.#le);
      option(14, value);
    }
    if (opts.length > 0) opts.push(new Uint8Array(4));
    const head = new Uint8Array(8);
    const view = new DataView(head.buffer);
    view.setUint16(0, linkType, this.#le);
    view.setUint32(4, options.snaplen ?? 0, this.#le);
    return this.block(1, concatBytes([head, ...opts]));
  }

  enhanced(iface: number, ticks: bigint, data: Uint8Array, wireLength = data.length): this {
    const head = new Uint8Array(20);
    const view = new DataView(head.buffer);
    view.setUint32(0, iface, this.#le);
    view.setUint32(4, Number(ticks >> 32n), this.#le);
    view.setUint32(8, Number(ticks & 0xffffffffn), this.#le);
    view.setUint32(12, data.length, this.#le);
    view.setUint32(16, wireLength, this.#le);
    return this.block(6, concatBytes([head, data]));
  }

  obsolete(iface: number, ticks: bigint, data: Uint8Array): this {
    const head = new Uint8Array(20);
    const view = new DataView(head.buffer);
    view.setUint16(0, iface, this.#le);
    view.setUint32(4, Number(ticks >> 32n), this.#le);
    view.setUint32(8, Number(ticks & 0xffffffffn), this.#le);
    view.setUint32(12, data.length, this.#le);
    view.setUint32(16, data.length, this.#le);
    return this.block(2, concatBytes([head, data]));
  }

  simple(data: Uint8Array, wireLength = data.length): this {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, wireLength, this.#le);
    return this.block(3, concatBytes([head, data]));
  }

  bytes(): Uint8Array {
    return concatBytes(this.#parts);
  }
}

function frameBytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
}

/** A reader that hands out at most `step` bytes per read, like a slow pipe. */
function trickle(bytes: Uint8Array, step: number): CaptureByteReader {
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (offset >= bytes.length) return Promise.resolve(null);
      const n = Math.min(step, p.length, bytes.length - offset);
      p.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

async function collect(source: AsyncIterable<CaptureFileFrame>): Promise<CaptureFileFrame[]> {
  const frames: CaptureFileFrame[] = [];
  for await (const frame of source) frames.push(frame);
  return frames;
}

/** Reads all frames, returning them with the error that ended the read. */
function readUntilError(bytes: Uint8Array): { frames: CaptureFileFrame[]; error: unknown } {
  const frames: CaptureFileFrame[] = [];
  try {
    for (const frame of readCaptureBytes(bytes)) frames.push(frame);
  } catch (error) {
    return { frames, error };
  }
  return { frames, error: undefined };
}

const TESTDATA = new URL("../testdata/", import.meta.url);

// ---------------------------------------------------------------- pcap

Deno.test("readCaptureBytes() reads pcap in both byte orders with µs and ns magic", async (t) => {
  const records: TestRecord[] = [
    { seconds: 1_700_000_000, fraction: 123_456, data: frameBytes(60, 1), wireLength: 1514 },
    { seconds: 4_000_000_000, fraction: 999_999, data: frameBytes(1, 2) },
    { seconds: 0, fraction: 0, data: new Uint8Array(0) },
  ];
  for (const littleEndian of [true, false]) {
    for (const nanos of [false, true]) {
      await t.step(`${littleEndian ? "little" : "big"}-endian, ${nanos ? "ns" : "µs"}`, () => {
        const file = pcapFile(records, { littleEndian, nanos, linkType: 113 });
        assert.equal(detectCaptureFormat(file), "pcap");
        const frames = [...readCaptureBytes(file)];
        assert.equal(frames.length, records.length);
        frames.forEach((frame, i) => {
          const r = records[i];
          const ns = BigInt(r.seconds) * 1_000_000_000n +
            BigInt(r.fraction) * (nanos ? 1n : 1000n);
          assert.equal(frame.timestampNs, ns);
          assert.ok(
            Math.abs(frame.timestampSec - (r.seconds + r.fraction / (nanos ? 1e9 : 1e6))) <
              1e-6,
          );
          assert.deepEqual(frame.data, r.data);
          assert.equal(frame.caplen, r.data.length);
          assert.equal(frame.wireLength, r.wireLength ?? r.data.length);
          assert.equal(frame.linkType, 113);
          assert.equal(frame.interfaceIndex, 0);
          assert.equal(frame.interfaceName, undefined);
        });
      });
    }
  }
});

Deno.test("readCaptureBytes() yields every good pcap frame, then PcapFormatError at the truncated record", () => {
  const records = [0, 1, 2].map((i) => ({
    seconds: 100 + i,
    fraction: 0,
    data: frameBytes(40, i),
  }));
  const file = pcapFile(records);
  const thirdRecordOffset = 24 + 2 * (16 + 40);
  for (const cut of [thirdRecordOffset + 3, thirdRecordOffset + 16, file.length - 1]) {
    const { frames, error } = readUntilError(file.subarray(0, cut));
    assert.equal(frames.length, 2);
    assert.ok(error instanceof PcapFormatError, String(error));
    assert.equal(error.offset, thirdRecordOffset);
    assert.match(error.message, /truncated/);
  }
});

Deno.test("readCaptureBytes() rejects files that are not captures with PcapFormatError at offset 0", async (t) => {
  await t.step("unknown magic", () => {
    const { frames, error } = readUntilError(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    assert.equal(frames.length, 0);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, 0);
    assert.match(error.message, /unknown magic 0x47455420/);
  });
  await t.step("too short", () => {
    const { error } = readUntilError(new Uint8Array([0xd4, 0xc3]));
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, 0);
  });
  await t.step("pcap header cut short", () => {
    const { error } = readUntilError(pcapFile([]).subarray(0, 20));
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, 0);
  });
  await t.step("absurd captured length", () => {
    const file = pcapFile([{ seconds: 1, fraction: 0, data: frameBytes(8, 0) }]);
    new DataView(file.buffer).setUint32(24 + 8, 0x7fffffff, true);
    const { error } = readUntilError(file);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, 24);
  });
  assert.equal(detectCaptureFormat(new Uint8Array(3)), null);
});

// ---------------------------------------------------------------- pcapng

Deno.test("readCaptureBytes() reads pcapng sections in both byte orders with several interfaces", () => {
  const a = frameBytes(60, 3);
  const b = frameBytes(41, 4);
  const c = frameBytes(20, 5);
  const file = new PcapngBuilder()
    .section(true)
    .interface(1, { name: "eth0" }) // default µs resolution
    .interface(101, { name: "tun0", tsresol: 9 })
    .block(4, new Uint8Array(4)) // name resolution: skipped
    .enhanced(0, 1_700_000_000_123_456n, a, 1514)
    .enhanced(1, 1_700_000_000_987_654_321n, b)
    .block(0x80000001, new Uint8Array(12)) // local-use block: skipped
    .block(5, new Uint8Array(12)) // interface statistics: skipped
    .section(false)
    .interface(276, { name: "any", tsresol: 3, snaplen: 41 })
    .enhanced(0, 1_700_000_001_500n, c)
    .obsolete(0, 1_700_000_002_000n, a)
    .simple(b, 100)
    .bytes();
  assert.equal(detectCaptureFormat(file), "pcapng");
  const frames = [...readCaptureBytes(file)];
  assert.deepEqual(
    frames.map((f) => [f.linkType, f.interfaceIndex, f.interfaceName, f.timestampNs]),
    [
      [1, 0, "eth0", 1_700_000_000_123_456_000n],
      [101, 1, "tun0", 1_700_000_000_987_654_321n],
      [276, 2, "any", 1_700_000_001_500_000_000n],
      [276, 2, "any", 1_700_000_002_000_000_000n],
      [276, 2, "any", 0n],
    ],
  );
  assert.deepEqual(frames[0].data, a);
  assert.equal(frames[0].wireLength, 1514);
  assert.deepEqual(frames[2].data, c);
  assert.equal(frames[4].caplen, b.length);
  assert.equal(frames[4].wireLength, 100);
});

Deno.test("readCaptureBytes() applies if_tsresol (decimal and power of two) and if_tsoffset", async (t) => {
  const seconds = 1_700_000_000n;
  const cases: [string, number, bigint, bigint][] = [
    // label, tsresol byte, ticks, expected ns
    ["10^-6", 6, seconds * 1_000_000n + 250_000n, seconds * 1_000_000_000n + 250_000_000n],
    ["10^-9", 9, seconds * 1_000_000_000n + 7n, seconds * 1_000_000_000n + 7n],
    // 64 bits of picoseconds reach only 1970-08, so a smaller time.
    [
      "10^-12 truncates to ns",
      12,
      1_700_000n * 10n ** 12n + 1_999n,
      1_700_000n * 1_000_000_000n + 1n,
    ],
    ["10^0", 0, seconds, seconds * 1_000_000_000n],
    ["2^-20", 0x80 | 20, (seconds << 20n) + (1n << 19n), seconds * 1_000_000_000n + 500_000_000n],
    ["2^-10 floors", 0x80 | 10, (seconds << 10n) + 1n, seconds * 1_000_000_000n + 976_562n],
    ["2^-30", 0x80 | 30, (seconds << 30n) + 3n, seconds * 1_000_000_000n + 2n],
  ];
  for (const [label, tsresol, ticks, expected] of cases) {
    await t.step(label, () => {
      const file = new PcapngBuilder()
        .section(true)
        .interface(1, { tsresol })
        .enhanced(0, ticks, frameBytes(14, 0))
        .bytes();
      const [frame] = readCaptureBytes(file);
      assert.equal(frame.timestampNs, expected);
      assert.ok(Math.abs(frame.timestampSec - Number(expected) / 1e9) < 1e-6);
    });
  }
  await t.step("if_tsoffset adds whole seconds", () => {
    const file = new PcapngBuilder()
      .section(false)
      .interface(1, { tsresol: 9, tsoffsetSec: 1_000_000_000n })
      .enhanced(0, 700_000_000_000_000_001n, frameBytes(14, 0))
      .bytes();
    const [frame] = readCaptureBytes(file);
    assert.equal(frame.timestampNs, 1_700_000_000_000_000_001n);
  });
});

Deno.test("readCaptureBytes() splits nanosecond ticks exactly for any 64-bit value", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (ticks) => {
      const file = new PcapngBuilder()
        .section(true)
        .interface(1, { tsresol: 9 })
        .enhanced(0, ticks, new Uint8Array(0))
        .bytes();
      const [frame] = readCaptureBytes(file);
      assert.equal(frame.timestampNs, ticks);
    }),
  );
});

Deno.test("readCaptureBytes() yields every good pcapng frame, then PcapFormatError at the damaged block", async (t) => {
  const builder = new PcapngBuilder().section(true).interface(1);
  for (let i = 0; i < 3; i++) builder.enhanced(0, BigInt(i), frameBytes(30, i));
  const file = builder.bytes();
  const blockLength = 12 + 20 + 32;
  const thirdBlock = file.length - blockLength;
  await t.step("truncated inside the last block", () => {
    const { frames, error } = readUntilError(file.subarray(0, file.length - 5));
    assert.equal(frames.length, 2);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, thirdBlock);
  });
  await t.step("trailing length differs from the leading one", () => {
    const damaged = file.slice();
    new DataView(damaged.buffer).setUint32(damaged.length - 4, 1234, true);
    const { frames, error } = readUntilError(damaged);
    assert.equal(frames.length, 2);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, thirdBlock);
  });
  await t.step("packet for an interface the section never described", () => {
    const damaged = file.slice();
    new DataView(damaged.buffer).setUint32(thirdBlock + 8, 7, true);
    const { frames, error } = readUntilError(damaged);
    assert.equal(frames.length, 2);
    assert.ok(error instanceof PcapFormatError);
    assert.match(error.message, /interface 7/);
  });
  await t.step("block length not a multiple of 4", () => {
    const damaged = file.slice();
    new DataView(damaged.buffer).setUint32(thirdBlock + 4, 61, true);
    const { error } = readUntilError(damaged);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, thirdBlock);
  });
});

// ---------------------------------------------------------------- streaming

Deno.test("readCapture() streams each fixture in small chunks exactly as readCaptureBytes() reads it whole", async (t) => {
  for await (const entry of Deno.readDir(TESTDATA)) {
    if (!/\.(pcap|pcapng)$/.test(entry.name)) continue;
    await t.step(entry.name, async () => {
      const path = new URL(entry.name, TESTDATA);
      const whole = [...readCaptureBytes(await Deno.readFile(path))];
      assert.ok(whole.length > 0);
      const streamed = await collect(readCapture(path, { chunkBytes: 64, batchFrames: 3 }));
      assert.deepEqual(streamed, whole);
      const trickled = await collect(
        readCapture(trickle(await Deno.readFile(path), 7), { chunkBytes: 100 }),
      );
      assert.deepEqual(trickled, whole);
    });
  }
});

Deno.test("readCapture() from a file yields the good frames before the error at a truncation", async () => {
  const records = Array.from({ length: 50 }, (_, i) => ({
    seconds: i,
    fraction: i,
    data: frameBytes(100 + i, i),
  }));
  const file = pcapFile(records);
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const lastRecord = file.length - (16 + 149);
    await Deno.writeFile(path, file.subarray(0, lastRecord + 20));
    const frames: CaptureFileFrame[] = [];
    const error = await (async () => {
      try {
        for await (const frame of readCapture(path, { chunkBytes: 256 })) frames.push(frame);
      } catch (error) {
        return error;
      }
    })();
    assert.equal(frames.length, 49);
    assert.deepEqual(frames[48].data, records[48].data);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, lastRecord);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readCapture() frames stay valid after the reader moves past their chunk", async () => {
  const records = Array.from({ length: 200 }, (_, i) => ({
    seconds: i,
    fraction: 0,
    data: frameBytes(61, i),
  }));
  const frames = await collect(readCapture(trickle(pcapFile(records), 500), { chunkBytes: 128 }));
  frames.forEach((frame, i) => assert.deepEqual(frame.data, records[i].data));
});

Deno.test("readCapture() rejects invalid options by name", async () => {
  await assert.rejects(
    collect(readCapture(new Uint8Array(24), { chunkBytes: 1 })),
    /'chunkBytes' must be an integer >= 64: current value is 1/,
  );
  assert.throws(
    () => [...readCaptureBytes(new Uint8Array(24), { batchFrames: 0 })],
    /'batchFrames' must be an integer >= 1/,
  );
});

Deno.test("readCapture() closes the file it opened when the loop stops early", async () => {
  const proto = Deno.FsFile.prototype;
  const dispose = proto[Symbol.dispose];
  let closed = 0;
  proto[Symbol.dispose] = function (this: Deno.FsFile) {
    closed++;
    return dispose.call(this);
  };
  try {
    let seen = 0;
    for await (const _ of readCapture(new URL("vlan.pcap", TESTDATA))) {
      if (++seen === 2) {
        assert.equal(closed, 0);
        break;
      }
    }
    assert.equal(seen, 2);
    assert.equal(closed, 1);
  } finally {
    proto[Symbol.dispose] = dispose;
  }
});
