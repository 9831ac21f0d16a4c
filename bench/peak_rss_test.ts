import assert from "node:assert/strict";
import { cpuUsage } from "node:process";
import { PeakRss, sampleProcesses } from "./peak_rss.ts";

Deno.test("PeakRss keeps each name's peak, after unwatch too", async () => {
  const values = new Map<number, (number | null)[]>([[1, [10, 30, 20]], [2, [null, 5]]]);
  const rss = new PeakRss({
    intervalMs: 1_000_000,
    read: (pid) => Promise.resolve(values.get(pid)!.shift() ?? null),
  });
  try {
    rss.watch("a", 1);
    rss.watch("b", 2);
    rss.watch("c", 3);
    values.set(3, []);
    await rss.sample();
    await rss.sample();
    rss.unwatch("a");
    await rss.sample();
    assert.deepEqual(rss.peaks(), { a: 30, b: 5, c: null });
  } finally {
    await rss.stop();
  }
});

Deno.test("sampleProcesses reads RSS and CPU seconds of several processes at once", async () => {
  // Use some CPU, so this process has at least a second of it to report. Spin
  // on CPU time, not wall time: on a loaded machine 1.1 s of wall time can be
  // well under a second of CPU.
  const deadline = performance.now() + 60_000;
  let spin = 0;
  while (cpuUsage().user + cpuUsage().system < 1_100_000 && performance.now() < deadline) spin++;
  const samples = await sampleProcesses([Deno.pid, 1 << 23]);
  const own = samples.get(Deno.pid);
  assert.ok(own !== undefined && own.rssBytes > 1_000_000, `own sample ${JSON.stringify(own)}`);
  assert.ok(own.cpuSeconds >= 1, `own CPU ${own.cpuSeconds} s after ${spin} spins`);
  // Beyond pid_max (at most 2^22 on Linux): no such process, so no sample.
  assert.equal(samples.has(1 << 23), false);
  assert.equal((await sampleProcesses([])).size, 0);
});
