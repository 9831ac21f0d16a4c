import assert from "node:assert/strict";
import fc from "fast-check";
import { encodePcap, PcapWriter, type PcapWriterFrame } from "./pcap_writer.ts";
import { readCapture, readCaptureBytes } from "./capture_reader.ts";
import { concatBytes } from "../concat_bytes.ts";

const frameArbitrary = fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  timestampNs: fc.bigInt({ min: 0n, max: 4_294_967_295_999_999_999n }),
  extraWireBytes: fc.nat({ max: 2000 }),
});

Deno.test("encodePcap() output reads back with the same bytes, lengths and timestamps", () => {
  fc.assert(
    fc.property(
      fc.array(frameArbitrary, { maxLength: 20 }),
      fc.constantFrom("us" as const, "ns" as const),
      fc.integer({ min: 0, max: 300 }),
      (frames, precision, linkType) => {
        const file = encodePcap(
          frames.map((f) => ({
            data: f.data,
            timestampNs: f.timestampNs,
            wireLength: f.data.length + f.extraWireBytes,
          })),
          { linkType, precision },
        );
        const read = [...readCaptureBytes(file)];
        assert.equal(read.length, frames.length);
        read.forEach((frame, i) => {
          const f = frames[i];
          const expectedNs = precision === "ns" ? f.timestampNs : f.timestampNs / 1000n * 1000n;
          assert.equal(frame.timestampNs, expectedNs);
          assert.deepEqual(frame.data, f.data);
          assert.equal(frame.wireLength, f.data.length + f.extraWireBytes);
          assert.equal(frame.linkType, linkType);
        });
      },
    ),
  );
});

Deno.test("encodePcap() takes timestampSec when timestampNs is absent, rounding to the precision", () => {
  const frames: PcapWriterFrame[] = [
    { data: new Uint8Array([1]), timestampSec: 1_700_000_000.25 },
    { data: new Uint8Array([2]), timestampSec: 1_700_000_000.9999999 },
  ];
  const read = [...readCaptureBytes(encodePcap(frames, { linkType: 1 }))];
  assert.deepEqual(read.map((f) => f.timestampNs), [
    1_700_000_000_250_000_000n,
    1_700_000_001_000_000_000n,
  ]);
  assert.throws(
    () => encodePcap([{ data: new Uint8Array(1) }], { linkType: 1 }),
    /'timestampSec' must be a finite number/,
  );
});

Deno.test("encodePcap() cuts frames to the snap length and keeps the wire length", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => i);
  const [frame] = readCaptureBytes(
    encodePcap([{ data, timestampNs: 0n }], { linkType: 1, snaplenBytes: 60 }),
  );
  assert.deepEqual(frame.data, data.subarray(0, 60));
  assert.equal(frame.wireLength, 100);
});

Deno.test("encodePcap() rejects invalid options by name", () => {
  assert.throws(() => encodePcap([], { linkType: -1 }), /'linkType' must be an integer 0..65535/);
  assert.throws(
    () => encodePcap([], { linkType: 1, snaplenBytes: 0 }),
    /'snaplenBytes' must be a positive integer: current value is 0/,
  );
  assert.throws(
    // @ts-expect-error: testing a value outside the type
    () => encodePcap([], { linkType: 1, precision: "ms" }),
    /'precision' must be "us" or "ns"/,
  );
});

Deno.test("PcapWriter streams the same file encodePcap() builds, across flushes", async () => {
  const frames = Array.from({ length: 500 }, (_, i) => ({
    data: Uint8Array.from({ length: (i * 37) % 1600 }, (_, j) => (i + j) & 0xff),
    timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_234_567n,
  }));
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    {
      using file = await Deno.open(path, { write: true, truncate: true });
      const writer = new PcapWriter(file, { linkType: 1, precision: "ns" });
      for (const frame of frames) await writer.write(frame);
      await writer.close();
    }
    const written = await Deno.readFile(path);
    assert.deepEqual(written, encodePcap(frames, { linkType: 1, precision: "ns" }));
    const read = [];
    for await (const frame of readCapture(path)) read.push(frame);
    assert.deepEqual(read.map((f) => f.timestampNs), frames.map((f) => f.timestampNs));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter handles a frame larger than its buffer", async () => {
  const chunks: Uint8Array[] = [];
  const sink = {
    write(p: Uint8Array): Promise<number> {
      // Accept at most 1000 bytes per call, as a pipe may.
      const n = Math.min(p.length, 1000);
      chunks.push(p.slice(0, n));
      return Promise.resolve(n);
    },
  };
  const writer = new PcapWriter(sink, { linkType: 101 });
  const big = Uint8Array.from({ length: 200_000 }, (_, i) => i & 0xff);
  await writer.write({ data: new Uint8Array([1, 2, 3]), timestampNs: 5_000n });
  await writer.write({ data: big, timestampNs: 6_000n });
  await writer.flush();
  const file = concatBytes(chunks);
  const read = [...readCaptureBytes(file)];
  assert.equal(read.length, 2);
  assert.deepEqual(read[1].data, big);
  assert.equal(read[1].linkType, 101);
});
