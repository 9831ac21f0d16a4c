import assert from "node:assert/strict";
import { isLabAddress } from "./is_lab_address.ts";
import { LAB_NETWORK } from "./lab_network.ts";
import { deriveRunSettings } from "./run_settings.ts";
import { buildScenarioPlan, type PlannedSegment, type ScenarioPlan } from "./scenario_plan.ts";

const WORK = "/tmp/talab-test";

function plan(seed: number, profile: "full" | "demo" = "full"): ScenarioPlan {
  return buildScenarioPlan(deriveRunSettings(seed, { profile }), LAB_NETWORK, { workDir: WORK });
}

function allSegments(p: ScenarioPlan): PlannedSegment[] {
  return [...p.benignChains.flat(), p.background, ...p.attacks];
}

/** Every address-looking token of a command line: bare, after `@`, inside a URL, or after `-a`. */
function addressesIn(argv: string[]): string[] {
  const found: string[] = [];
  for (const arg of argv) {
    for (const m of arg.matchAll(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/g)) found.push(m[1]);
    for (const m of arg.matchAll(/\[([0-9a-fA-F:]+)\]/g)) found.push(m[1]);
    const bare = arg.replace(/^@/, "");
    if (/^[0-9a-fA-F]*:[0-9a-fA-F:]+$/.test(bare)) found.push(bare);
  }
  return found;
}

Deno.test("buildScenarioPlan() sends every command only to lab addresses", () => {
  for (let seed = 1; seed <= 30; seed++) {
    for (const profile of ["full", "demo"] as const) {
      const p = plan(seed, profile);
      const argvs = [
        ...allSegments(p).flatMap((s) => s.commands.map((c) => c.argv)),
        ...p.services.map((s) => s.argv),
      ];
      let seen = 0;
      for (const argv of argvs) {
        // `::` is a listen wildcard inside the server namespace, not a target.
        for (const a of addressesIn(argv).filter((x) => x !== "::")) {
          seen++;
          assert.ok(isLabAddress(a), `seed ${seed}: ${a} in '${argv.join(" ")}'`);
        }
      }
      assert.ok(seen > 50, "the address scan found the targets");
    }
  }
});

Deno.test("buildScenarioPlan() is the same for the same seed", () => {
  assert.deepEqual(plan(7), plan(7));
  assert.notDeepEqual(plan(7).attacks, plan(8).attacks);
});

Deno.test("buildScenarioPlan() bounds every tool in count and time", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const p = plan(seed);
    for (const seg of allSegments(p)) {
      for (const c of seg.commands) {
        assert.ok(
          Number.isFinite(c.timeoutMs) && c.timeoutMs > 0 && c.timeoutMs <= 180_000,
          c.argv.join(" "),
        );
        const has = (flag: string) => c.argv.includes(flag);
        switch (c.argv[0]) {
          case "hping3":
            assert.ok(
              has("-c") && has("-i") && !has("--flood") && !has("--rand-source"),
              c.argv.join(" "),
            );
            break;
          case "nmap":
            assert.ok(has("-p") && has("--host-timeout") && has("--max-retries"), c.argv.join(" "));
            break;
          case "slowhttptest":
            assert.ok(has("-c") && has("-l"), c.argv.join(" "));
            break;
          case "hydra":
            assert.ok(has("-t") && has("-P"), c.argv.join(" "));
            break;
          case "iperf3":
            assert.ok(has("-n") && has("-b"), c.argv.join(" "));
            break;
          case "curl":
            assert.ok(has("--max-time"), c.argv.join(" "));
            break;
          case "dig":
            assert.ok(c.argv.includes("+tries=1"), c.argv.join(" "));
            break;
          case "ssh":
            assert.ok(c.argv.includes("ConnectTimeout=5"), c.argv.join(" "));
            break;
          default:
            assert.fail(`unexpected tool ${c.argv[0]}`);
        }
      }
    }
  }
});

Deno.test("buildScenarioPlan() keeps benign and attack traffic on separate hosts", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const p = plan(seed);
    const benignHosts = new Set([...p.benignChains.flat(), p.background].map((s) => s.host));
    const attackHosts = new Set(p.attacks.map((s) => s.host));
    for (const h of benignHosts) assert.equal(LAB_NETWORK.hosts[h].role, "client");
    for (const h of attackHosts) assert.equal(LAB_NETWORK.hosts[h].role, "attacker");
    assert.ok(
      p.benignChains.flat().every((s) => s.host !== p.background.host),
      "background has its own host",
    );
    // Consecutive attacks come from different hosts, so a late reply never
    // lands in the next attack's window of the same host.
    for (let i = 1; i < p.attacks.length; i++) {
      assert.notEqual(p.attacks[i].host, p.attacks[i - 1].host);
    }
    assert.ok(
      p.benignChains.flat().every((s) => s.label === "benign") && p.background.label === "benign",
    );
  }
});

Deno.test("buildScenarioPlan() labels each attack scenario with its class", () => {
  const p = plan(4);
  const byScenario = Object.fromEntries(p.attacks.map((s) => [s.scenario, s.label]));
  assert.deepEqual(byScenario, {
    nmap_syn: "portscan",
    nmap_connect: "portscan",
    nmap_udp: "portscan",
    syn_flood: "syn_flood",
    udp_flood: "udp_flood",
    icmp_flood: "icmp_flood",
    bruteforce: "bruteforce",
    slow_dos: "slow_dos",
  });
});

Deno.test("buildScenarioPlan() lists forged SYN-flood sources among the segment's sources", () => {
  let checked = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const settings = deriveRunSettings(seed);
    const k = settings.attacks.synFlood.spoofedSources;
    if (k === 0) continue;
    const seg = buildScenarioPlan(settings, LAB_NETWORK, { workDir: WORK }).attacks.find((s) =>
      s.scenario === "syn_flood"
    )!;
    const forged = seg.commands.map((c) => c.argv[c.argv.indexOf("-a") + 1]);
    assert.equal(forged.length, k);
    for (const f of forged) assert.ok(seg.sourceAddresses.includes(f), f);
    checked++;
  }
  assert.ok(checked > 0);
});

Deno.test("buildScenarioPlan() writes the wordlist, user list and server files the tools use", () => {
  const settings = deriveRunSettings(3);
  const p = buildScenarioPlan(settings, LAB_NETWORK, { workDir: WORK });
  const words = p.files["words.txt"].trim().split("\n");
  assert.equal(words.length, settings.attacks.bruteforce.wordlistSize);
  assert.deepEqual(p.files["users.txt"].trim().split("\n"), settings.attacks.bruteforce.users);
  assert.equal(words.includes("tr0ub4dor"), settings.attacks.bruteforce.passwordInList);
  assert.equal(p.files["www/large.bin"].length, settings.server.fileBytes.large);
  assert.match(p.files["ssh/sshd_config"], /^ListenAddress 10\.77\.0\.10$/m);
  assert.match(p.files["ssh/sshd_config"], /^PermitRootLogin prohibit-password$/m);
  assert.match(
    p.files["httpd.conf"],
    new RegExp(`^/private:${settings.attacks.bruteforce.users[0]}:`),
  );
  assert.deepEqual(p.services.map((s) => s.name), [
    "busybox-httpd",
    "python-http",
    "dnsmasq",
    "sshd",
    "iperf3",
  ]);
});

Deno.test("buildScenarioPlan() rejects a relative work directory", () => {
  assert.throws(
    () => buildScenarioPlan(deriveRunSettings(1), LAB_NETWORK, { workDir: "tmp/lab" }),
    /'workDir' must be absolute/,
  );
});
