import assert from "node:assert/strict";
import { decodeFileOnce, runAgentBench } from "./agent_bench.ts";

const DEMO = new URL("../../models/captures/demo.pcap", import.meta.url).pathname;

function capinfosPackets(path: string): number | null {
  try {
    const output = new Deno.Command("capinfos", { args: ["-T", "-r", "-M", "-c", path] })
      .outputSync();
    return output.success
      ? Number(new TextDecoder().decode(output.stdout).trim().split("\t").at(-1))
      : null;
  } catch {
    return null;
  }
}

Deno.test("decodeFileOnce() decodes every frame of a capture, as capinfos counts them", async () => {
  const run = await decodeFileOnce(DEMO);
  const expected = capinfosPackets(DEMO);
  if (expected !== null) assert.equal(run.packets, expected);
  assert.ok(run.packets > 1000);
  assert.ok(run.malformed <= run.packets);
  assert.ok(run.cpuSec >= 0 && run.wallSec >= 0);
});

Deno.test("runAgentBench() reports decode metrics and refuses unknown cases", async (t) => {
  await t.step("decode", async () => {
    const metrics = await runAgentBench(["--case", "decode", "--file", DEMO, "--repeats", "1"]);
    assert.equal(typeof metrics.decode_pps, "number");
    assert.equal(metrics.packets, (await decodeFileOnce(DEMO)).packets);
  });
  await t.step("a case it does not have", async () => {
    await assert.rejects(() => runAgentBench(["--case", "ingest"]), /'--case' must be/);
  });
  await t.step("decode without a file", async () => {
    await assert.rejects(() => runAgentBench(["--case", "decode"]), /needs '--file'/);
  });
});
