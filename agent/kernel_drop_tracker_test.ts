import assert from "node:assert/strict";
import { KernelDropTracker } from "./kernel_drop_tracker.ts";

Deno.test("KernelDropTracker reports drops since the last reading, per interface and in total", () => {
  const tracker = new KernelDropTracker();
  assert.equal(
    tracker.update({
      eth0: { kernelDropped: 5, interfaceDropped: 1 },
      eth1: { kernelDropped: 0, interfaceDropped: 0 },
    }),
    6,
  );
  assert.equal(
    tracker.update({
      eth0: { kernelDropped: 5, interfaceDropped: 1 },
      eth1: { kernelDropped: 3, interfaceDropped: 0 },
    }),
    3,
  );
  assert.equal(tracker.update({ eth0: { kernelDropped: 5, interfaceDropped: 1 } }), 0);
});

Deno.test("KernelDropTracker reads a 32-bit counter that wrapped around", () => {
  const tracker = new KernelDropTracker();
  tracker.update({ any: { kernelDropped: 2 ** 32 - 10, interfaceDropped: 0 } });
  assert.equal(tracker.update({ any: { kernelDropped: 5, interfaceDropped: 0 } }), 15);
});
