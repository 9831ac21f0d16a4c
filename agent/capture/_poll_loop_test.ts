import assert from "node:assert/strict";
import { LiveCapture } from "./live_capture.ts";
import { IdleWaiter, pollBursts, yieldToEventLoop } from "./_poll_loop.ts";
import type { LiveFrame } from "./live_capture.ts";
import { captureSkipReason, needs, sendDatagrams, startUdpSink } from "./_test_support.ts";

const noCapture = captureSkipReason();

/** Fails instead of hanging when `promise` does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("IdleWaiter without sockets sleeps on a timer that wake() cuts short", async () => {
  const waiter = new IdleWaiter([]);
  const waiting = waiter.wait(600000);
  waiter.wake();
  await within(waiting, 10000, "wait()");
  waiter.close();
});

Deno.test({
  ...needs(
    noCapture,
    "IdleWaiter returns once the capture socket has packets, long before its timeout",
  ),
  async fn() {
    const sink = await startUdpSink();
    const capture = LiveCapture.open({
      interfaceName: "lo",
      filter: `udp dst port ${sink.port}`,
      immediateMode: true,
    });
    const waiter = new IdleWaiter([capture.selectableFd]);
    try {
      assert.ok(capture.selectableFd >= 0);
      assert.deepEqual(capture.readBurst(), []);
      const waiting = waiter.wait(600000);
      await sendDatagrams("127.0.0.1", sink.port, 1, 8);
      await within(waiting, 10000, "wait()");
      assert.equal(capture.readBurst().length, 1);
    } finally {
      waiter.close();
      capture.close();
      await sink.close();
    }
  },
});

Deno.test({
  ...needs(
    noCapture,
    "IdleWaiter.close() ends a poll that has nothing to wait for",
  ),
  async fn() {
    const capture = LiveCapture.open({ interfaceName: "lo", filter: "udp dst port 9" });
    const waiter = new IdleWaiter([capture.selectableFd]);
    try {
      let settled = false;
      const waiting = waiter.wait(600000).finally(() => settled = true);
      // wait() hands poll() to a worker thread before it returns; nothing arrives on port 9,
      // so the wait is still blocked after the event loop turns. close() must end it.
      await yieldToEventLoop();
      assert.equal(settled, false, "the wait blocks while nothing arrives");
      waiter.close();
      await within(waiting, 10000, "wait()");
      // A closed waiter does not wait again.
      await within(waiter.wait(600000), 10000, "wait() after close()");
    } finally {
      capture.close();
    }
  },
});

Deno.test("pollBursts() reads a stopping source to its end, then ends without waiting", async () => {
  // Two bursts are ready when the stop comes: both are read, then the loop ends.
  const ready = [[1, 2, 3], [4]];
  const frame = (n: number) => ({ n }) as unknown as LiveFrame;
  const source = {
    closed: false,
    stopping: true,
    lastBurstFull: false,
    readBurst() {
      const next = ready.shift() ?? [];
      this.lastBurstFull = ready.length > 0;
      return next.map(frame);
    },
  };
  const waiter = new IdleWaiter([]);
  try {
    const bursts = await within(
      Array.fromAsync(pollBursts(source, waiter, 600000)),
      10000,
      "pollBursts()",
    );
    assert.deepEqual(bursts.map((b) => b.length), [3, 1]);
  } finally {
    waiter.close();
  }
});
