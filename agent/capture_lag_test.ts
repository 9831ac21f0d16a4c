import assert from "node:assert/strict";
import { CaptureLag } from "./capture_lag.ts";

/** A lag follower on a clock the test moves, with its changes recorded. */
function follower(options: { offsetMs?: number } = {}) {
  let now = 1_700_000_000_000;
  const changes: [boolean, number][] = [];
  const lag = new CaptureLag({
    clock: () => now,
    onChange: (behind, lagMs) => changes.push([behind, lagMs]),
  });
  const offset = options.offsetMs ?? 0;
  return {
    lag,
    changes,
    /** Moves the clock on by `ms`, then reads a packet captured `ageMs` before now. */
    read(ms: number, ageMs: number) {
      now += ms;
      lag.observe((now - ageMs - offset) / 1000);
    },
    wait(ms: number) {
      now += ms;
    },
  };
}

Deno.test("CaptureLag: a capture that keeps up is never behind, whatever its clock's offset", () => {
  for (const offsetMs of [0, -3_600_000, 2_500]) {
    const f = follower({ offsetMs });
    for (let i = 0; i < 100; i++) f.read(10, 2 + (i % 5));
    assert.equal(f.lag.isBehind(), false);
    assert.ok(f.lag.lagMs < 10, `lag ${f.lag.lagMs} ms with the clock off by ${offsetMs} ms`);
    assert.deepEqual(f.changes, []);
  }
});

Deno.test("CaptureLag: behind from a lag of 500 ms until caught up (under 250 ms) for 2 s", () => {
  const f = follower();
  f.read(10, 1);
  f.read(100, 300);
  assert.equal(f.lag.isBehind(), false);
  f.read(100, 600);
  assert.equal(f.lag.isBehind(), true);
  assert.deepEqual(f.changes, [[true, 599]]);
  // Catching up, but not yet under 250 ms: still behind, however long it takes.
  for (let i = 0; i < 50; i++) f.read(100, 300);
  assert.equal(f.lag.isBehind(), true);
  // Under 250 ms (a packet that waited out libpcap's 100 ms block timeout, say) for less
  // than 2 s: still behind.
  for (let i = 0; i < 19; i++) f.read(100, 120);
  assert.equal(f.lag.isBehind(), true);
  f.read(100, 120);
  assert.equal(f.lag.isBehind(), false);
  assert.deepEqual(f.changes, [[true, 599], [false, 119]]);
});

Deno.test("CaptureLag: behind for 5 minutes without a break, then not again until caught up once", () => {
  const f = follower();
  f.read(10, 1);
  // Falling further behind all the while (a lag that stays put becomes the baseline).
  let age = 700;
  f.read(10, age);
  assert.equal(f.lag.isBehind(), true);
  for (let i = 0; i < 2_999; i++) f.read(100, age += 2);
  assert.equal(f.lag.isBehind(), true);
  f.read(100, age += 2);
  assert.equal(f.lag.isBehind(), false);
  // Still lagging: not behind again (a lag that never falls must not hold uploads for good).
  for (let i = 0; i < 100; i++) f.read(100, age += 2);
  assert.ok(f.lag.lagMs >= 500, `lag ${f.lag.lagMs} ms`);
  assert.equal(f.lag.isBehind(), false);
  // Caught up once, it can fall behind again.
  f.read(100, 10);
  f.read(100, 800);
  assert.equal(f.lag.isBehind(), true);
});

Deno.test("CaptureLag: a capture that reads nothing for 2 s is no longer behind", () => {
  const f = follower();
  f.read(10, 1);
  f.read(10, 900);
  assert.equal(f.lag.isBehind(), true);
  f.wait(1_999);
  assert.equal(f.lag.isBehind(), true);
  f.wait(1);
  assert.equal(f.lag.isBehind(), false);
});

Deno.test("CaptureLag: a lag that never ends becomes the baseline within the window", () => {
  const f = follower();
  f.read(10, 1);
  // The clock steps by 10 s and stays there (as if the capture clock were changed).
  for (let i = 0; i < 700; i++) f.read(100, 10_000);
  assert.equal(f.lag.isBehind(), false);
  assert.equal(f.lag.lagMs, 0);
});

Deno.test("CaptureLag: names a bad option", () => {
  assert.throws(() => new CaptureLag({ behindMs: -1 }), /'behindMs' must be a number >= 0/);
  assert.throws(() => new CaptureLag({ settleMs: NaN }), /'settleMs'/);
  assert.throws(
    () => new CaptureLag({ behindMs: 100, caughtUpMs: 200 }),
    /'caughtUpMs' \(200\) must not exceed 'behindMs' \(100\)/,
  );
});
