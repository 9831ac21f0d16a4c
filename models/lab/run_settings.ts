import { createPrng } from "../prng.ts";
import {
  deriveWideSettings,
  type OddBenignSettings,
  type WideAttackScenario,
  type WideAttackSettings,
} from "./wide_settings.ts";

/** The class names every segment of a lab run is labelled with. */
export type TrafficClass =
  | "benign"
  | "portscan"
  | "syn_flood"
  | "udp_flood"
  | "icmp_flood"
  | "bruteforce"
  | "slow_dos";

/** Every class, in a stable order. */
export const TRAFFIC_CLASSES: readonly TrafficClass[] = Object.freeze([
  "benign",
  "portscan",
  "syn_flood",
  "udp_flood",
  "icmp_flood",
  "bruteforce",
  "slow_dos",
]);

/** An attack scenario of a run; several scenarios may share one class. */
export type AttackScenario =
  | "nmap_syn"
  | "nmap_connect"
  | "nmap_udp"
  | "syn_flood"
  | "udp_flood"
  | "icmp_flood"
  | "bruteforce"
  | "slow_dos"
  | WideAttackScenario;

/** nmap timing template number (`-T3` normal … `-T5` insane). */
export type NmapTiming = 3 | 4 | 5;

/** Settings of one nmap scan. */
export interface NmapSettings {
  /** Timing template `-T<n>`. */
  timing: NmapTiming;
  /** First port of the scanned range. */
  firstPort: number;
  /** Last port of the scanned range (inclusive). */
  lastPort: number;
  /** Scan the server's IPv6 address instead of its IPv4 one. */
  ipv6: boolean;
}

/** Settings of one hping3 flood. */
export interface FloodSettings {
  /** Packets per burst (`hping3 -c`). */
  count: number;
  /** Gap between packets in microseconds (`hping3 -i u<n>`), so the rate is 1e6/intervalUs pps. */
  intervalUs: number;
  /** Destination port (TCP/UDP floods; ignored for ICMP). */
  dstPort: number;
  /** Payload bytes per packet (`hping3 -d`). */
  payloadBytes: number;
  /** Number of separate hping3 invocations, each a new ICMP id / source port run. */
  bursts: number;
  /** SYN flood only: how many forged sources from the lab's spoof pool to use (0 = the attacker's own address). */
  spoofedSources: number;
}

/** All knobs of one lab run, derived from its seed and recorded in the manifest. */
export interface RunSettings {
  /** The seed these settings came from. */
  seed: number;
  /** `full` for training runs, `demo` for the small replay capture. */
  profile: "full" | "demo";
  /** Server-side kernel settings that change how the server answers floods and scans. */
  server: {
    /** `net.ipv4.icmp_ratelimit` (and the IPv6 one) in ms; 0 answers every probe. */
    icmpRatelimitMs: number;
    /** `net.ipv4.tcp_synack_retries`: how long half-open connections keep retransmitting. */
    synackRetries: number;
    /** Sizes in bytes of the small, medium and large files the web servers serve. */
    fileBytes: { small: number; medium: number; large: number; bulk: number };
  };
  /** Benign workloads. */
  benign: {
    /** HTTP requests made with curl from client c1. */
    http: {
      requests: number;
      ipv6Share: number;
      keepAliveShare: number;
      largeShare: number;
      pauseMsMax: number;
    };
    /** DNS queries made with dig from client c2. */
    dns: { queries: number; tcpShare: number; ipv6Share: number; pauseMsMax: number };
    /** SSH sessions from client c1 after its HTTP work. */
    ssh: { sessions: number; bulkBytes: number };
    /** One bounded iperf3 transfer from client c2 after its DNS work. */
    iperf: { bytes: number; rateMbit: number; reverse: boolean; blockBytes: number; ipv6: boolean };
    /** Mixed curl/dig background from client c3 while the attacks run. */
    background: { intervalMs: number; maxActions: number };
  };
  /** Attack scenarios in the order they run, one after the other. */
  attackOrder: AttackScenario[];
  /** Attack settings. */
  attacks: {
    nmapSyn: NmapSettings;
    nmapConnect: NmapSettings;
    nmapUdp: NmapSettings;
    synFlood: FloodSettings;
    udpFlood: FloodSettings;
    icmpFlood: FloodSettings;
    bruteforce: {
      /** `ssh` tries passwords on sshd, `http` on the web server's basic-auth area. */
      service: "ssh" | "http";
      /** Logins tried (accounts that do not exist on the host for ssh); the first is the web area's real user. */
      users: string[];
      /** Passwords in the generated wordlist. */
      wordlistSize: number;
      /** Parallel hydra tasks (`-t`). */
      tasks: number;
      /** Whether the real basic-auth password is in the list (http only). */
      passwordInList: boolean;
    };
    slowDos: {
      /** slowhttptest `-H` (slow headers), `-B` (slow POST body to a CGI) or `-X` (slow read of a large file). */
      mode: "slowloris" | "slowbody" | "slowread";
      /** Target connections (`-c`). */
      connections: number;
      /** Seconds between follow-up data (`-i`). */
      intervalSec: number;
      /** Test length in seconds (`-l`). */
      durationSec: number;
      /** New connections per second (`-r`). */
      ratePerSec: number;
    };
  };
  /** Settings of the wide attacks (`wide_settings.ts`); only those in `attackOrder` run. */
  wideAttacks: WideAttackSettings;
  /** Settings of the odd-looking benign scenarios (full profile only). */
  oddBenign: OddBenignSettings;
  /** Quiet gap between attack segments, so late replies stay with their segment. */
  settleMs: number;
}

/** Options for {@link deriveRunSettings}. */
export interface DeriveRunSettingsOptions {
  /**
   * `full` gives the training-run ranges; `demo` gives a short run with small
   * counts, for the replay capture.
   * @default {"full"}
   */
  profile?: "full" | "demo";
}

/**
 * Derives every tool setting of a lab run from its seed. The same seed gives
 * the same settings, so a run can be repeated, and different seeds spread the
 * settings (timing templates, port ranges, rates, counts, payload sizes,
 * connection counts, wordlist sizes) so an evaluation can hold out whole runs.
 *
 * @example
 * ```ts
 * const settings = deriveRunSettings(3);
 * settings.attacks.nmapSyn.timing; // 3, 4 or 5
 * ```
 */
export function deriveRunSettings(
  seed: number,
  options: DeriveRunSettingsOptions = {},
): RunSettings {
  const profile = options.profile ?? "full";
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(
      `Cannot derive run settings as 'seed' must be an integer 0..4294967295: current value is ${seed}`,
    );
  }
  if (profile !== "full" && profile !== "demo") {
    throw new RangeError(
      `Cannot derive run settings as 'profile' must be "full" or "demo": current value is ${profile}`,
    );
  }
  const r = createPrng(seed);
  const demo = profile === "demo";
  // Demo runs shrink every count so the replay file stays well under 300 KB.
  const scale = (min: number, max: number) =>
    demo
      ? r.int(Math.max(1, Math.round(min / 4)), Math.max(1, Math.round(max / 4)))
      : r.int(min, max);

  const nmap = (first: [number, number], span: [number, number]): NmapSettings => {
    const firstPort = r.int(first[0], first[1]);
    return {
      timing: r.pick([3, 4, 4, 5] as const),
      firstPort,
      lastPort: Math.min(65535, firstPort + scale(span[0], span[1]) - 1),
      ipv6: r.chance(0.3),
    };
  };

  const server = {
    icmpRatelimitMs: r.pick([0, 0, 50]),
    synackRetries: r.int(1, 3),
    fileBytes: {
      small: r.int(600, 4_000),
      medium: r.int(8_000, 32_000),
      large: r.int(60_000, 120_000),
      bulk: r.int(16_000, 64_000),
    },
  };

  const benign = {
    http: {
      requests: scale(35, 60),
      ipv6Share: r.pick([0, 0.2, 0.4]),
      keepAliveShare: r.pick([0, 0.15, 0.3]),
      largeShare: r.pick([0.02, 0.04, 0.06]),
      pauseMsMax: r.int(100, 500),
    },
    dns: {
      queries: scale(60, 120),
      tcpShare: r.pick([0, 0.1, 0.2]),
      ipv6Share: r.pick([0, 0.2, 0.4]),
      pauseMsMax: r.int(100, 400),
    },
    ssh: { sessions: r.int(1, 3), bulkBytes: r.int(0, 65_536) },
    iperf: {
      bytes: demo ? r.int(32, 96) * 1024 : r.int(192, 640) * 1024,
      rateMbit: r.int(5, 20),
      reverse: r.chance(0.4),
      blockBytes: r.pick([8192, 16384, 131072]),
      ipv6: r.chance(0.3),
    },
    background: { intervalMs: r.int(300, 900), maxActions: 500 },
  };

  const allScans: AttackScenario[] = ["nmap_syn", "nmap_connect", "nmap_udp"];
  const scans = demo ? ["nmap_syn" as const] : allScans;
  const others: AttackScenario[] = demo
    ? ["syn_flood", "udp_flood", "icmp_flood", "bruteforce", "slow_dos"]
    : ["syn_flood", "udp_flood", "icmp_flood", "bruteforce", "slow_dos"];
  const attackOrder = r.shuffle([...scans, ...others]);

  const flood = (
    count: [number, number],
    payload: readonly number[],
    dstPorts: readonly number[],
    bursts: [number, number],
  ): FloodSettings => ({
    count: scale(count[0], count[1]),
    intervalUs: r.pick([200, 500, 1000, 2000]),
    dstPort: r.pick(dstPorts),
    payloadBytes: r.pick(payload),
    bursts: r.int(bursts[0], bursts[1]),
    spoofedSources: 0,
  });

  const bruteService = demo || seed % 2 === 1 ? "http" as const : "ssh" as const;
  const attacks = {
    nmapSyn: nmap([1, 200], [120, 500]),
    nmapConnect: nmap([1, 400], [100, 400]),
    nmapUdp: nmap([1, 60], [30, 120]),
    synFlood: {
      ...flood([200, 600], [0, 0, 16, 120], [80, 22, 8000], [1, 1]),
      spoofedSources: r.pick([0, 0, 3, 6]),
    },
    udpFlood: flood([200, 500], [0, 32, 128, 256], [53, 9999, 5201], [1, 1]),
    // Each hping3 run is one ICMP id, so one flow: more, shorter bursts give
    // the classifier more icmp_flood flows for the same packet budget.
    icmpFlood: flood([40, 120], [0, 56, 512, 1000], [0], [4, 8]),
    bruteforce: {
      // Cycled by seed rather than drawn, so any few consecutive seeds cover
      // both services. sshd answers a password try in about a second, so SSH
      // gets one login and a shorter list to keep the run short.
      service: bruteService,
      users: r.shuffle(["admin", "operator", "backup", "deploy"]).slice(
        0,
        bruteService === "ssh" ? 1 : r.int(1, 2),
      ),
      wordlistSize: bruteService === "ssh" ? scale(20, 40) : scale(30, 80),
      tasks: r.int(2, 4),
      passwordInList: r.chance(0.5),
    },
    slowDos: {
      mode: (["slowloris", "slowbody", "slowread"] as const)[seed % 3],
      connections: scale(20, 60),
      intervalSec: r.int(3, 8),
      durationSec: demo ? r.int(6, 8) : r.int(12, 20),
      ratePerSec: r.int(10, 30),
    },
  };
  const settleMs = r.int(1500, 3000);
  const wide = deriveWideSettings(seed, profile);
  wide.wideAttacks.forEach((scenario, i) =>
    attackOrder.splice(wide.insertAt[i] % (attackOrder.length + 1), 0, scenario)
  );
  return {
    seed,
    profile,
    server,
    benign,
    attackOrder,
    attacks,
    wideAttacks: wide.attacks,
    oddBenign: wide.oddBenign,
    settleMs,
  };
}
