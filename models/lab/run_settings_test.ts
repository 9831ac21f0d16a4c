import assert from "node:assert/strict";
import { deriveRunSettings, TRAFFIC_CLASSES } from "./run_settings.ts";
import { WIDE_ATTACK_GROUPS } from "./wide_settings.ts";

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
        const w = s.wideAttacks;
        for (const f of [w.synFloodRand, w.udpFloodRand, w.icmpFloodRand, w.reflectUdp]) {
          assert.ok(f.count >= 1 && f.count <= 600, `seed ${seed} floods ${f.count} packets`);
          assert.ok(f.intervalUs >= 200, "at most 5000 packets/s");
        }
        assert.ok(w.reflectUdp.payloadBytes >= 400 && w.reflectUdp.payloadBytes <= 1400);
        assert.ok(w.dnsFlood.count <= 500 && w.dnsFlood.intervalUs >= 200);
        for (const sweep of [w.sweepIcmp, w.sweepArp, w.sweepTcp]) {
          assert.ok(
            sweep.firstHost >= 1 && sweep.lastHost <= 254 && sweep.firstHost <= sweep.lastHost,
          );
        }
        const stealthPorts = w.nmapStealth.lastPort - w.nmapStealth.firstPort + 1;
        // -T1 waits 15 s per probe, -T2 0.4 s: few ports keep the scan near a minute.
        assert.ok(
          w.nmapStealth.timing > 1 || stealthPorts <= 3,
          `seed ${seed}: -T1 on ${stealthPorts}`,
        );
        assert.ok(w.nmapStealth.timing > 2 || stealthPorts <= 40);
        assert.ok(w.nmapDark.lastPort <= 1200 && w.masscan.ratePps <= 5000);
        assert.ok(w.masscan.lastPort - w.masscan.firstPort < 600);
        assert.ok(w.bruteSlow.passwords * w.bruteSlow.waitSec <= 24);
        assert.ok(s.oddBenign.backup.bytes <= 2_000_000, "about 260 KB of pcap at most");
        assert.ok(s.oddBenign.monitor.ports.length >= 16 && s.oddBenign.monitor.ports.length <= 20);
      }
    });
  }
});

Deno.test("deriveRunSettings() covers every attack class in a full run and shrinks the demo", () => {
  const full = deriveRunSettings(5);
  assert.equal(full.attackOrder.length, 8 + WIDE_ATTACK_GROUPS[1].length);
  assert.deepEqual(
    full.attackOrder.filter((a) => (WIDE_ATTACK_GROUPS[1] as readonly string[]).includes(a)).sort(),
    [...WIDE_ATTACK_GROUPS[1]].sort(),
  );
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

Deno.test("deriveRunSettings() keeps the original scenarios' settings of a seed when the lab widens", () => {
  // The wide scenarios draw from their own stream and are spliced into the
  // order: the original eight keep their relative order and every value.
  const s = deriveRunSettings(3);
  assert.deepEqual(s.attacks.nmapSyn, {
    timing: s.attacks.nmapSyn.timing,
    firstPort: s.attacks.nmapSyn.firstPort,
    lastPort: s.attacks.nmapSyn.lastPort,
    ipv6: s.attacks.nmapSyn.ipv6,
  });
  const base = s.attackOrder.filter((a) => !(WIDE_ATTACK_GROUPS.flat() as string[]).includes(a));
  assert.equal(base.length, 8);
  assert.notDeepEqual(deriveRunSettings(3).wideAttacks, deriveRunSettings(4).wideAttacks);
});
