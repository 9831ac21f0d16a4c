import assert from "node:assert/strict";
import { type PriorityAccess, setProcessNice } from "./process_nice.ts";

/**
 * Threads as a kernel without CAP_SYS_NICE treats them: a nice value may be
 * raised, never lowered. Thread 0 is the calling thread, 1 and 2 others.
 */
function unprivileged(start: number, ended: number[] = []) {
  const nices = new Map<number, number>([[0, start], [1, start], [2, start]]);
  const calls: [number, number][] = [];
  const access: PriorityAccess = {
    threads: () => [1, 2, 0],
    get(thread) {
      if (ended.includes(thread)) throw new Error("ESRCH: no such process");
      return nices.get(thread)!;
    },
    set(thread, nice) {
      calls.push([thread, nice]);
      if (ended.includes(thread)) throw new Error("ESRCH: no such process");
      if (nice < nices.get(thread)!) throw new Error("EACCES: permission denied");
      nices.set(thread, nice);
    },
  };
  return { access, nices, calls };
}

Deno.test("setProcessNice sets the calling thread first, then every other thread", () => {
  const { access, nices, calls } = unprivileged(0);
  assert.deepEqual(setProcessNice({ nice: 10, setting: "AGGREGATOR_NICE", access }), {
    before: 0,
    after: 10,
    problem: null,
  });
  assert.deepEqual(calls, [[0, 10], [1, 10], [2, 10]]);
  assert.deepEqual([...nices.values()], [10, 10, 10]);
});

Deno.test("setProcessNice keeps the priority and says why when the kernel refuses", () => {
  const { access, nices } = unprivileged(0);
  const outcome = setProcessNice({ nice: -5, setting: "CAPTURE_NICE", access });
  assert.equal(outcome.before, 0);
  assert.equal(outcome.after, 0);
  assert.match(outcome.problem!, /^cannot set CAPTURE_NICE=-5 \(nice 0 kept\): EACCES/);
  assert.match(outcome.problem!, /needs root or CAP_SYS_NICE$/);
  assert.deepEqual([...nices.values()], [0, 0, 0], "no thread was changed");
});

Deno.test("setProcessNice passes over a thread that ended after it was listed", () => {
  const { access, nices } = unprivileged(0, [1]);
  assert.equal(setProcessNice({ nice: 4, setting: "AGGREGATOR_NICE", access }).problem, null);
  assert.equal(nices.get(0), 4);
  assert.equal(nices.get(2), 4);
});

Deno.test("setProcessNice names the setting of a value out of range", () => {
  for (const nice of [-21, 20, 1.5, Number.NaN]) {
    assert.throws(
      () => setProcessNice({ nice, setting: "CAPTURE_NICE", access: unprivileged(0).access }),
      (error: unknown) =>
        error instanceof RangeError &&
        /'CAPTURE_NICE' must be an integer from -20 to 19/.test(error.message),
    );
  }
});
