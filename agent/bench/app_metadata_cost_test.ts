import assert from "node:assert/strict";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import { measureAppMetadataCost } from "./app_metadata_cost.ts";

const DEMO = new URL("../../models/captures/demo.pcap", import.meta.url).pathname;

async function frameCount(path: string): Promise<number> {
  let frames = 0;
  for await (const burst of readCaptureBatches(path)) frames += burst.length;
  return frames;
}

Deno.test("measureAppMetadataCost() times every frame off and on, in turns, and rates the warm rounds", async () => {
  const cost = await measureAppMetadataCost({ path: DEMO, rounds: 3, batchSize: 500 });
  assert.equal(cost.packets, await frameCount(DEMO));
  assert.equal(cost.offCpuSec.length, 3);
  assert.equal(cost.onCpuSec.length, 3);
  for (const sec of [...cost.offCpuSec, ...cost.onCpuSec]) assert.ok(sec > 0, `${sec} s`);
  // Two warm rounds: the lower of their ratios is the median.
  const warm = [1, 2].map((i) => cost.offCpuSec[i] / cost.onCpuSec[i]);
  assert.equal(cost.warmRatio, Math.min(...warm));
  assert.deepEqual(cost.warmRange, [Math.min(...warm), Math.max(...warm)]);
});

Deno.test("measureAppMetadataCost() needs a warm round", async () => {
  await assert.rejects(
    () => measureAppMetadataCost({ path: DEMO, rounds: 1 }),
    /'rounds' must be an integer >= 2: current value is 1/,
  );
});
