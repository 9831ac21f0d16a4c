import assert from "node:assert/strict";
import { isLabAddress } from "./is_lab_address.ts";
import { LAB_NETWORK } from "./lab_network.ts";
import { deriveRunSettings } from "./run_settings.ts";
import { buildScenarioPlan, type PlannedSegment, type ScenarioPlan } from "./scenario_plan.ts";
import { LAB_MULTICAST_GROUPS } from "./odd_benign_segments.ts";
import { WIDE_ATTACK_GROUPS } from "./wide_settings.ts";

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
    const mac = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(bare);
    if (/^[0-9a-fA-F]*:[0-9a-fA-F:]+$/.test(bare) && !mac) found.push(bare);
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
          // Link-scoped multicast goes out with TTL 1-2 and stays on the bridge.
          const multicast = LAB_MULTICAST_GROUPS.includes(a) &&
            argv.some((x) => /ttl=[12]\b/.test(x));
          assert.ok(isLabAddress(a) || multicast, `seed ${seed}: ${a} in '${argv.join(" ")}'`);
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
          case "hping3": {
            const gapUs = Number(c.argv[c.argv.indexOf("-i") + 1].slice(1));
            assert.ok(
              has("-c") && gapUs >= 200 && !has("--flood") &&
                Number(c.argv[c.argv.indexOf("-c") + 1]) <= 1000,
              c.argv.join(" "),
            );
            // Random sources only towards the attack-only victim, whose segment labels by target.
            if (has("--rand-source")) {
              assert.deepEqual(seg.labelTargets, [LAB_NETWORK.victim.ipv4]);
              assert.equal(c.argv.at(-1), LAB_NETWORK.victim.ipv4);
            }
            break;
          }
          case "nmap":
            assert.ok(
              (has("-p") || has("-sn")) && has("--host-timeout") && has("--max-retries"),
              c.argv.join(" "),
            );
            break;
          case "masscan": {
            const rate = Number(c.argv[c.argv.indexOf("--rate") + 1]);
            assert.ok(has("-p") && rate <= 5000 && has("--router-mac"), c.argv.join(" "));
            break;
          }
          case "openssl":
          case "socat":
          case "ssh-keyscan":
            break;
          case "chronyd":
            assert.ok(has("-Q"), "the client only measures, never sets the clock");
            break;
          case "bash":
            assert.ok(/head -c \d+|\/dev\/tcp\//.test(c.argv[2]), c.argv[2]);
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
    // c3 runs a benign chain of its own in the benign phase and the
    // background in the attack phase; the phases never overlap.
    assert.equal(LAB_NETWORK.hosts[p.background.host].role, "client");
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
  const byScenario = Object.fromEntries(
    [plan(4), plan(5)].flatMap((p) => p.attacks).map((s) => [s.scenario, s.label]),
  );
  assert.deepEqual(byScenario, {
    nmap_syn: "portscan",
    nmap_connect: "portscan",
    nmap_udp: "portscan",
    syn_flood: "syn_flood",
    udp_flood: "udp_flood",
    icmp_flood: "icmp_flood",
    bruteforce: "bruteforce",
    slow_dos: "slow_dos",
    sweep_icmp: "portscan",
    sweep_arp: "portscan",
    sweep_tcp: "portscan",
    nmap_stealth: "portscan",
    nmap_dark: "portscan",
    masscan: "portscan",
    syn_flood_rand: "syn_flood",
    udp_flood_rand: "udp_flood",
    reflect_udp: "udp_flood",
    dns_flood: "udp_flood",
    icmp_flood_rand: "icmp_flood",
    ssh_brute_nmap: "bruteforce",
    hydra_ftp: "bruteforce",
    hydra_form: "bruteforce",
    brute_slow: "bruteforce",
  });
});

Deno.test("buildScenarioPlan() keeps the victim address and swept clients apart from benign traffic", () => {
  const victim = [LAB_NETWORK.victim.ipv4, LAB_NETWORK.victim.ipv6];
  const clients = ["c1", "c2", "c3"] as const;
  for (let seed = 1; seed <= 20; seed++) {
    const p = plan(seed);
    for (const seg of [...p.benignChains.flat(), p.background]) {
      for (const a of [...seg.target.addresses, ...seg.sourceAddresses]) {
        assert.ok(!victim.includes(a), `seed ${seed}: ${seg.scenario} uses ${a}`);
      }
    }
    for (const seg of p.attacks) {
      // A flow between an attacker and a benign client would match two classes.
      for (const c of clients) {
        assert.ok(!seg.target.addresses.includes(LAB_NETWORK.hosts[c].ipv4), `${seg.scenario}`);
      }
      if (seg.scenario.startsWith("sweep_")) {
        const exclude = seg.commands[0].argv[seg.commands[0].argv.indexOf("--exclude") + 1];
        assert.deepEqual(exclude.split(","), clients.map((c) => LAB_NETWORK.hosts[c].ipv4));
      }
    }
  }
});

Deno.test("buildScenarioPlan() runs every wide scenario within two consecutive seeds, none in the demo", () => {
  const seen = new Set([plan(10), plan(11)].flatMap((p) => p.attacks.map((s) => s.scenario)));
  for (const scenario of WIDE_ATTACK_GROUPS.flat()) assert.ok(seen.has(scenario), scenario);
  const demo = plan(10, "demo");
  assert.equal(demo.attacks.length, 6);
  assert.equal(demo.benignChains.flat().length, 4);
  assert.ok(plan(10).benignChains.flat().length > 10);
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
    "vsftpd",
    "openssl-s_server",
    "chronyd",
  ]);
  assert.match(p.files["chrony_srv.conf"], /^allow 10\.77\.0\.0\/24$/m);
  assert.match(p.files["vsftpd.conf"], /^listen_address=10\.77\.0\.10$/m);
  const query = p.files["dns_query.bin"];
  assert.ok([...query].every((ch) => ch.charCodeAt(0) < 0x80), "written byte for byte");
  const tail = [...query.slice(-14)].map((ch) => ch.charCodeAt(0));
  // "\x03lab\x04test\0", then type A and class IN.
  assert.deepEqual(tail, [3, 108, 97, 98, 4, 116, 101, 115, 116, 0, 0, 1, 0, 1]);
});

Deno.test("buildScenarioPlan() rejects a relative work directory", () => {
  assert.throws(
    () => buildScenarioPlan(deriveRunSettings(1), LAB_NETWORK, { workDir: "tmp/lab" }),
    /'workDir' must be absolute/,
  );
});
