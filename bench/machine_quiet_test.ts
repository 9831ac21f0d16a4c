import assert from "node:assert/strict";
import {
  type CpuTicks,
  idleShare,
  parseCpuTicks,
  quietText,
  waitForQuietMachine,
} from "./machine_quiet.ts";

const PROC_STAT = `cpu  1000 20 300 8000 100 5 7 0 0 0
cpu0 500 10 150 4000 50 2 3 0 0 0
intr 12345
`;

Deno.test("parseCpuTicks() reads the machine-wide cpu line, counting iowait as idle", () => {
  assert.deepEqual(parseCpuTicks(PROC_STAT), { idle: 8100, total: 9432 });
  assert.equal(parseCpuTicks("cpu0 1 2 3 4\n"), null);
  assert.equal(parseCpuTicks("cpu  1 2 x 4\n"), null);
  assert.equal(parseCpuTicks(""), null);
});

Deno.test("idleShare() is the idle part of the ticks between two readings", () => {
  const before: CpuTicks = { idle: 100, total: 200 };
  assert.equal(idleShare(before, { idle: 190, total: 300 }), 0.9);
  assert.equal(idleShare(before, before), null);
});

/** Readings that grow by `idle` idle ticks of every 100. */
function readings(idlePerHundred: number[]): () => Promise<CpuTicks | null> {
  let at: CpuTicks = { idle: 0, total: 0 };
  let i = -1;
  return () => {
    if (i >= 0) {
      const idle = idlePerHundred[Math.min(i, idlePerHundred.length - 1)];
      at = { idle: at.idle + idle, total: at.total + 100 };
    }
    i++;
    return Promise.resolve(at);
  };
}

Deno.test("waitForQuietMachine() waits until one interval is idle enough", async () => {
  const slept: number[] = [];
  const result = await waitForQuietMachine({
    readTicks: readings([40, 60, 95]),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    intervalMs: 1000,
  });
  assert.deepEqual(result, { quiet: true, idle: 0.95, waitedSec: 3 });
  assert.deepEqual(slept, [1000, 1000, 1000]);
});

Deno.test("waitForQuietMachine() gives up after maxWaitSec and says how busy it was", async () => {
  const result = await waitForQuietMachine({
    readTicks: readings([50]),
    sleep: () => Promise.resolve(),
    intervalMs: 2000,
    maxWaitSec: 10,
  });
  assert.deepEqual(result, { quiet: false, idle: 0.5, waitedSec: 10 });
  assert.match(quietText(result), /still busy after 10 s \(50 % idle\)/);
});

Deno.test("waitForQuietMachine() does not wait when the counters cannot be read", async () => {
  let sleeps = 0;
  const result = await waitForQuietMachine({
    readTicks: () => Promise.resolve(null),
    sleep: () => {
      sleeps++;
      return Promise.resolve();
    },
  });
  assert.deepEqual(result, { quiet: false, idle: null, waitedSec: 0 });
  assert.equal(sleeps, 0);
  assert.match(quietText(result), /unknown/);
});
