import assert from "node:assert/strict";
import { readCapture } from "@traffic-analyzer/shared/pcap";
import {
  captureInfo,
  describeGivenCapture,
  ensureBenchCapture,
  tinyPacketsFor,
} from "./bench_capture.ts";

const DEMO = new URL("../models/captures/demo.pcap", import.meta.url).pathname;

function wiresharkToolsMissing(): string | null {
  for (const tool of ["mergecap", "editcap", "capinfos"]) {
    try {
      new Deno.Command(tool, { args: ["-v"], stdout: "null", stderr: "null" }).outputSync();
    } catch {
      return `${tool} is not installed (apt-get install wireshark-common)`;
    }
  }
  return null;
}

const missing = wiresharkToolsMissing();

Deno.test({
  name: "ensureBenchCapture() repeats real traffic, time-shifted, until it has enough packets",
  ignore: missing !== null,
  async fn(t) {
    const cacheDir = await Deno.makeTempDir({ prefix: "bench-capture-test-" });
    try {
      const demo = await captureInfo(DEMO);
      const minPackets = demo.packets * 2 + 1;
      const capture = await ensureBenchCapture({
        minPackets,
        sources: [DEMO],
        cacheDir,
        gapSec: 100,
      });

      await t.step("with whole copies, as capinfos and our reader count them", async () => {
        assert.equal(capture.built, true);
        assert.equal(capture.packets, demo.packets * 3);
        let frames = 0;
        for await (const _ of readCapture(capture.path)) frames++;
        assert.equal(frames, capture.packets);
      });

      await t.step("in time order, each copy after the previous one and the gap", async () => {
        const times: number[] = [];
        for await (const frame of readCapture(capture.path)) times.push(frame.timestampSec);
        for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1], `frame ${i}`);
        const first = times[0];
        const secondCopy = times[demo.packets];
        assert.ok(secondCopy - first >= demo.durationSec + 100 - 1e-3);
        // The copy keeps the original's spacing.
        assert.ok(Math.abs((times[demo.packets + 5] - secondCopy) - (times[5] - first)) < 1e-5);
      });

      await t.step("with a tiny cut of its first packets", async () => {
        assert.equal(capture.tinyPackets, Math.floor(capture.packets / 10));
        assert.equal((await captureInfo(capture.tinyPath)).packets, capture.tinyPackets);
      });

      await t.step("from the cache the next time", async () => {
        const again = await ensureBenchCapture({
          minPackets,
          sources: [DEMO],
          cacheDir,
          gapSec: 100,
        });
        assert.equal(again.built, false);
        assert.equal(again.packets, capture.packets);
        assert.equal(again.path, capture.path);
      });

      await t.step("rebuilt when the inputs change", async () => {
        const other = await ensureBenchCapture({
          minPackets,
          sources: [DEMO],
          cacheDir,
          gapSec: 200,
        });
        assert.equal(other.built, true);
      });
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "describeGivenCapture() counts a given capture and cuts its tiny copy",
  ignore: missing !== null,
  async fn() {
    const cacheDir = await Deno.makeTempDir({ prefix: "bench-capture-test-" });
    try {
      const given = await describeGivenCapture(DEMO, cacheDir);
      assert.equal(given.path, DEMO);
      assert.equal(given.packets, (await captureInfo(DEMO)).packets);
      assert.equal(given.tinyPackets, Math.floor(given.packets / 10));
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test("tinyPacketsFor() cuts at most 1000 packets and at most a tenth", () => {
  assert.equal(tinyPacketsFor(1_500_000), 1000);
  assert.equal(tinyPacketsFor(6024), 602);
  assert.equal(tinyPacketsFor(5), 1);
});

Deno.test("ensureBenchCapture() refuses a packet count that is not a positive integer", async () => {
  await assert.rejects(() => ensureBenchCapture({ minPackets: 0 }), /'minPackets' must be/);
  await assert.rejects(() => ensureBenchCapture({ minPackets: 1.5 }), /'minPackets' must be/);
});
