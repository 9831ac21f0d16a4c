import { createPrng } from "../prng.ts";

/**
 * Attack scenarios added to widen the lab towards the public attack captures
 * (host sweeps, random-source floods, reflection, stealth and probe-only
 * scans, more brute-force tools). Each run takes half of them, by seed parity,
 * so any two consecutive seeds cover all of them and a run stays short.
 */
export type WideAttackScenario =
  | "sweep_icmp"
  | "sweep_arp"
  | "sweep_tcp"
  | "syn_flood_rand"
  | "udp_flood_rand"
  | "icmp_flood_rand"
  | "reflect_udp"
  | "dns_flood"
  | "nmap_stealth"
  | "nmap_dark"
  | "masscan"
  | "ssh_brute_nmap"
  | "hydra_ftp"
  | "hydra_form"
  | "brute_slow";

/** The two halves of the wide attacks; even seeds run the first, odd seeds the second. */
export const WIDE_ATTACK_GROUPS: readonly (readonly WideAttackScenario[])[] = Object.freeze([
  Object.freeze(
    [
      "sweep_icmp",
      "syn_flood_rand",
      "reflect_udp",
      "nmap_stealth",
      "nmap_dark",
      "hydra_ftp",
      "dns_flood",
      "brute_slow",
    ] as const,
  ),
  Object.freeze(
    [
      "sweep_arp",
      "sweep_tcp",
      "udp_flood_rand",
      "icmp_flood_rand",
      "reflect_udp",
      "nmap_stealth",
      "masscan",
      "ssh_brute_nmap",
      "hydra_form",
    ] as const,
  ),
]);

/** A host sweep over part of the lab /24. */
export interface SweepSettings {
  /** Last octet of the first swept address. */
  firstHost: number;
  /** Last octet of the last swept address (inclusive). */
  lastHost: number;
  /** nmap timing template. */
  timing: 3 | 4 | 5;
  /** TCP port of the TCP ping sweep (`-PS<port>`). */
  port: number;
}

/** A flood whose every packet has a random source address (`hping3 --rand-source`). */
export interface RandomSourceFloodSettings {
  /** Packets (`hping3 -c`). */
  count: number;
  /** Gap between packets in microseconds; 200 is the 5000 pps ceiling. */
  intervalUs: number;
  /** Destination port (TCP/UDP). */
  dstPort: number;
  /** Payload bytes per packet. */
  payloadBytes: number;
}

/** Reflection-like UDP: large datagrams from a service port, as amplifiers send them. */
export interface ReflectSettings extends RandomSourceFloodSettings {
  /** Source port the replies seem to come from (53 DNS, 123 NTP, 161 SNMP, 1900 SSDP). */
  srcPort: 53 | 123 | 161 | 1900;
}

/** Knobs of the wide attack scenarios. */
export interface WideAttackSettings {
  sweepIcmp: SweepSettings;
  sweepArp: SweepSettings;
  sweepTcp: SweepSettings;
  synFloodRand: RandomSourceFloodSettings;
  udpFloodRand: RandomSourceFloodSettings;
  icmpFloodRand: RandomSourceFloodSettings;
  reflectUdp: ReflectSettings;
  /** DNS queries at flood rate from the attacker's own address to dnsmasq. */
  dnsFlood: { count: number; intervalUs: number; queryName: string };
  /** FIN/NULL/Xmas/ACK/Window scan; slow templates get few ports so a run stays bounded. */
  nmapStealth: {
    flag: "-sF" | "-sN" | "-sX" | "-sA" | "-sW";
    timing: 1 | 2 | 3 | 4 | 5;
    firstPort: number;
    lastPort: number;
  };
  /** SYN scan of an address nobody answers for: only the probe direction is on the wire. */
  nmapDark: { firstPort: number; lastPort: number; timing: 4 | 5 };
  /** masscan of the server at a bounded rate. */
  masscan: { firstPort: number; lastPort: number; ratePps: number };
  /** `nmap --script ssh-brute` with a small user and password list. */
  sshBruteNmap: { users: string[]; passwords: number };
  /** hydra on vsftpd. */
  hydraFtp: { users: string[]; passwords: number; tasks: number };
  /** hydra `http-post-form` on the CGI login form. */
  hydraForm: { users: string[]; passwords: number; tasks: number };
  /** Human-paced guessing: hydra -t 1 with a wait per attempt (`-c`). */
  bruteSlow: { service: "http" | "ftp"; users: string[]; passwords: number; waitSec: number };
}

/** Knobs of the benign scenarios that look odd but are normal. */
export interface OddBenignSettings {
  /** curl to ports nobody listens on (RST answers). */
  refused: { attempts: number; ports: number[] };
  /** curl --retry to a dead server (SYNs unanswered) and to an address with no host (ARP only). */
  retryDead: { retries: number; connectTimeoutSec: number };
  /** A monitoring probe: TCP connects to ~20 ports of the server every few seconds. */
  monitor: { rounds: number; ports: number[]; intervalMs: number };
  /** A crawler fetching many pages from one server. */
  crawler: { pages: number; perCommand: number; pauseMsMax: number };
  /** A host resolving hundreds of names, many of them NXDOMAIN. */
  resolver: { names: number; nxShare: number };
  /** One huge SSH flow, like a backup upload or download. */
  backup: { bytes: number; upload: boolean };
  /** Many connections from one client to many services at once, like a NAT gateway. */
  manyToOne: { connections: number; parallel: number };
  /** HTTPS requests to an openssl s_server. */
  tls: { requests: number; pauseMsMax: number };
  /** NTP polls with chronyd against the server's chronyd. */
  ntp: { polls: number };
  /** mDNS and SSDP multicast queries. */
  multicast: { rounds: number; intervalMs: number };
  /** An iperf3 UDP stream at a modest rate. */
  iperfUdp: { bytes: number; rateMbit: number };
}

/** What {@link deriveWideSettings} returns. */
export interface WideSettings {
  /** Wide attacks of this run (one half of {@link WIDE_ATTACK_GROUPS}; none for the demo). */
  wideAttacks: WideAttackScenario[];
  /** Where each wide attack goes in the attack order (index into the base order, applied in turn). */
  insertAt: number[];
  /** Settings of the wide attacks. */
  attacks: WideAttackSettings;
  /** Settings of the odd benign scenarios. */
  oddBenign: OddBenignSettings;
}

const USERS = ["admin", "operator", "backup", "deploy", "ftpuser", "support", "test"];

/**
 * Derives the settings of the widened lab from the seed. It draws from its
 * own stream, so the settings the original scenarios had for a seed stay as
 * they were.
 */
export function deriveWideSettings(seed: number, profile: "full" | "demo"): WideSettings {
  const r = createPrng((seed ^ 0x1ab_0011) >>> 0);
  const sweep = (span: [number, number]): SweepSettings => {
    const firstHost = r.int(1, 60);
    return {
      firstHost,
      lastHost: Math.min(254, firstHost + r.int(span[0], span[1]) - 1),
      timing: r.pick([3, 4, 4, 5] as const),
      port: r.pick([22, 80, 443, 3389, 445]),
    };
  };
  const randFlood = (
    count: [number, number],
    payload: readonly number[],
    ports: readonly number[],
  ): RandomSourceFloodSettings => ({
    count: r.int(count[0], count[1]),
    intervalUs: r.pick([200, 250, 500, 1000]),
    dstPort: r.pick(ports),
    payloadBytes: r.pick(payload),
  });
  const timing = r.pick([1, 2, 2, 3, 4, 5] as const);
  const stealthFirst = r.int(1, 300);
  // -T1 waits 15 s between probes and -T2 0.4 s: a handful of ports keeps
  // those scans under about a minute.
  const stealthSpan = timing === 1 ? r.int(2, 3) : timing === 2 ? r.int(12, 40) : r.int(100, 400);
  const darkLast = r.int(300, 1200);
  const massFirst = r.int(1, 1000);
  const attacks: WideAttackSettings = {
    sweepIcmp: sweep([60, 200]),
    sweepArp: sweep([100, 254]),
    sweepTcp: sweep([40, 120]),
    synFloodRand: randFlood([200, 600], [0, 0, 20], [80, 22, 443, 8000]),
    udpFloodRand: randFlood([150, 500], [0, 64, 256, 512], [53, 123, 9999, 40000]),
    icmpFloodRand: randFlood([150, 500], [0, 56, 512, 1000], [0]),
    reflectUdp: {
      ...randFlood([200, 600], [400, 600, 900, 1200, 1400], [0]),
      dstPort: r.int(20000, 60000),
      srcPort: r.pick([53, 123, 161, 1900] as const),
    },
    dnsFlood: {
      count: r.int(200, 500),
      intervalUs: r.pick([500, 1000, 2000]),
      queryName: r.pick(["www", "files", "mail", "ssh"]),
    },
    nmapStealth: {
      flag: r.pick(["-sF", "-sN", "-sX", "-sA", "-sW"] as const),
      timing,
      firstPort: stealthFirst,
      lastPort: stealthFirst + stealthSpan - 1,
    },
    nmapDark: { firstPort: 1, lastPort: darkLast, timing: r.pick([4, 5] as const) },
    masscan: {
      firstPort: massFirst,
      lastPort: massFirst + r.int(200, 600) - 1,
      ratePps: r.pick([300, 500, 1000, 2000]),
    },
    sshBruteNmap: { users: r.shuffle(USERS).slice(0, r.int(1, 2)), passwords: r.int(8, 20) },
    // vsftpd and PAM take 2-3 s per failed login: a short list and more
    // tasks keep the scenario near 20 s.
    hydraFtp: {
      users: r.shuffle(USERS).slice(0, r.int(1, 2)),
      passwords: r.int(8, 20),
      tasks: r.int(4, 8),
    },
    hydraForm: {
      users: r.shuffle(USERS).slice(0, r.int(1, 3)),
      passwords: r.int(20, 50),
      tasks: r.int(3, 6),
    },
    bruteSlow: {
      service: r.pick(["http", "ftp"] as const),
      users: r.shuffle(USERS).slice(0, 1),
      passwords: r.int(4, 8),
      waitSec: r.int(2, 3),
    },
  };
  const monitorPorts = r.shuffle([
    21,
    22,
    25,
    53,
    80,
    110,
    123,
    143,
    443,
    993,
    3306,
    5201,
    5432,
    6379,
    8000,
    8080,
    8443,
    9090,
    9100,
    11211,
  ]).slice(0, r.int(16, 20));
  const oddBenign: OddBenignSettings = {
    refused: {
      attempts: r.int(4, 12),
      ports: r.shuffle([81, 443, 8080, 8888, 3000, 25]).slice(0, 3),
    },
    retryDead: { retries: r.int(1, 3), connectTimeoutSec: r.int(1, 3) },
    monitor: { rounds: r.int(3, 6), ports: monitorPorts, intervalMs: r.int(2000, 4000) },
    crawler: { pages: r.int(30, 80), perCommand: r.pick([1, 4, 10]), pauseMsMax: r.int(0, 300) },
    resolver: { names: r.int(100, 250), nxShare: r.pick([0.2, 0.4, 0.6]) },
    // With a 128-byte snap length, 1 MB of SSH payload costs about 130 KB of pcap.
    backup: { bytes: r.int(10, 20) * 100_000, upload: r.chance(0.6) },
    manyToOne: { connections: r.int(30, 80), parallel: r.int(8, 20) },
    tls: { requests: r.int(8, 25), pauseMsMax: r.int(100, 600) },
    ntp: { polls: r.int(2, 4) },
    multicast: { rounds: r.int(3, 6), intervalMs: r.int(500, 1500) },
    iperfUdp: { bytes: r.int(100, 400) * 1024, rateMbit: r.int(1, 4) },
  };
  const wideAttacks = profile === "demo" ? [] : [...WIDE_ATTACK_GROUPS[seed % 2]];
  const insertAt = wideAttacks.map(() => r.int(0, 100));
  return { wideAttacks, insertAt, attacks, oddBenign };
}
