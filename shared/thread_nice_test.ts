import assert from "node:assert/strict";
import { type PriorityAccess, setThreadNice } from "./thread_nice.ts";

/** A thread's priority as a kernel without CAP_SYS_NICE treats it: raised, never lowered. */
function unprivileged(start: number): PriorityAccess & { calls: number[] } {
  let current = start;
  const calls: number[] = [];
  return {
    calls,
    get: () => current,
    set(nice) {
      calls.push(nice);
      if (nice < current) throw new Error("EACCES: permission denied, uv_os_setpriority");
      current = nice;
    },
  };
}

Deno.test("setThreadNice sets a value the kernel allows and reports before and after", () => {
  const access = unprivileged(0);
  assert.deepEqual(setThreadNice({ nice: 10, setting: "AGGREGATOR_NICE", access }), {
    before: 0,
    after: 10,
    problem: null,
  });
  assert.deepEqual(access.calls, [10]);
});

Deno.test("setThreadNice keeps the priority and says why when the kernel refuses", () => {
  const access = unprivileged(0);
  const outcome = setThreadNice({ nice: -5, setting: "CAPTURE_NICE", access });
  assert.equal(outcome.before, 0);
  assert.equal(outcome.after, 0);
  assert.match(outcome.problem!, /^cannot set CAPTURE_NICE=-5 \(nice 0 kept\): EACCES/);
  assert.match(outcome.problem!, /needs root or CAP_SYS_NICE$/);
});

Deno.test("setThreadNice does not call the kernel for the value already held", () => {
  const access = unprivileged(3);
  assert.deepEqual(setThreadNice({ nice: 3, setting: "CAPTURE_NICE", access }), {
    before: 3,
    after: 3,
    problem: null,
  });
  assert.deepEqual(access.calls, []);
});

Deno.test("setThreadNice names the setting of a value out of range", () => {
  for (const nice of [-21, 20, 1.5, Number.NaN]) {
    assert.throws(
      () => setThreadNice({ nice, setting: "CAPTURE_NICE", access: unprivileged(0) }),
      (error: unknown) =>
        error instanceof RangeError &&
        /'CAPTURE_NICE' must be an integer from -20 to 19/.test(error.message),
    );
  }
});
