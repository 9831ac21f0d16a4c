import assert from "node:assert/strict";
import { deriveRunSettings, TRAFFIC_CLASSES } from "./run_settings.ts";

Deno.test("deriveRunSettings() gives the same settings for the same seed", () => {
  assert.deepEqual(deriveRunSettings(42), deriveRunSettings(42));
  assert.deepEqual(
    deriveRunSettings(42, { profile: "demo" }),
    deriveRunSettings(42, { profile: "demo" }),
  );
});

Deno.test("deriveRunSettings() varies the tool settings across seeds", () => {
  const runs = Array.from({ length: 12 }, (_, i) => deriveRunSettings(i + 1));
  const distinct = (f: (s: (typeof runs)[number]) => unknown) =>
    new Set(runs.map((s) => JSON.stringify(f(s)))).size;
  assert.ok(distinct((s) => s.attacks.nmapSyn.timing) >= 2, "timing templates");
  assert.ok(
    distinct((s) => [s.attacks.nmapSyn.firstPort, s.attacks.nmapSyn.lastPort]) >= 10,
    "port ranges",
  );
  assert.ok(distinct((s) => s.attacks.synFlood.intervalUs) >= 2, "flood rates");
  assert.ok(distinct((s) => s.attacks.udpFlood.count) >= 10, "flood counts");
  assert.ok(distinct((s) => s.attacks.icmpFlood.payloadBytes) >= 2, "payload sizes");
  assert.ok(distinct((s) => s.attacks.slowDos.connections) >= 5, "connection counts");
  assert.ok(distinct((s) => s.attacks.bruteforce.wordlistSize) >= 5, "wordlist sizes");
  assert.ok(distinct((s) => s.attackOrder) >= 10, "attack order");
  assert.deepEqual(
    new Set(runs.map((s) => s.attacks.bruteforce.service)),
    new Set(["ssh", "http"]),
  );
  assert.deepEqual(
    new Set(runs.map((s) => s.attacks.slowDos.mode)),
    new Set(["slowloris", "slowbody", "slowread"]),
  );
});

Deno.test("deriveRunSettings() keeps every count inside its safety bounds", async (t) => {
  for (const profile of ["full", "demo"] as const) {
    await t.step(`for the ${profile} profile`, () => {
      for (let seed = 0; seed < 200; seed++) {
        const s = deriveRunSettings(seed, { profile });
        const a = s.attacks;
        for (const scan of [a.nmapSyn, a.nmapConnect, a.nmapUdp]) {
          assert.ok(
            scan.firstPort >= 1 && scan.lastPort <= 65535 && scan.firstPort <= scan.lastPort,
          );
          assert.ok(
            scan.lastPort - scan.firstPort + 1 <= 600,
            `seed ${seed} scans ${scan.lastPort - scan.firstPort + 1} ports`,
          );
          assert.ok([3, 4, 5].includes(scan.timing));
        }
        for (const flood of [a.synFlood, a.udpFlood]) {
          assert.ok(
            flood.count >= 1 && flood.count <= 700,
            `seed ${seed} floods ${flood.count} packets`,
          );
          assert.ok(flood.intervalUs >= 200, "at most 5000 packets/s");
        }
        assert.ok(a.icmpFlood.count * a.icmpFlood.bursts <= 8 * 120);
        assert.ok(a.slowDos.connections <= 60 && a.slowDos.durationSec <= 20);
        assert.ok(a.bruteforce.wordlistSize * a.bruteforce.users.length <= 160);
        assert.ok(a.bruteforce.tasks >= 1 && a.bruteforce.tasks <= 4);
        assert.ok(a.synFlood.spoofedSources <= 6);
        assert.ok(s.benign.iperf.bytes <= 640 * 1024);
        assert.ok(s.benign.background.maxActions <= 500);
        assert.equal(new Set(s.attackOrder).size, s.attackOrder.length, "no scenario twice");
      }
    });
  }
});

Deno.test("deriveRunSettings() covers every attack class in a full run and shrinks the demo", () => {
  const full = deriveRunSettings(5);
  assert.equal(full.attackOrder.length, 8);
  const demo = deriveRunSettings(5, { profile: "demo" });
  assert.ok(demo.attackOrder.length < full.attackOrder.length);
  assert.ok(demo.benign.http.requests <= 18 && demo.benign.dns.queries <= 30);
  assert.ok(demo.attacks.synFlood.count <= 175);
  assert.equal(TRAFFIC_CLASSES.length, 7);
});

Deno.test("deriveRunSettings() rejects a seed or profile it cannot use", () => {
  assert.throws(() => deriveRunSettings(-1), /'seed' must be an integer/);
  assert.throws(() => deriveRunSettings(1.5), /'seed' must be an integer/);
  // A profile outside the type, as it could come from untyped input.
  const profile = "huge" as "full";
  assert.throws(
    () => deriveRunSettings(1, { profile }),
    /'profile' must be "full" or "demo"/,
  );
});
