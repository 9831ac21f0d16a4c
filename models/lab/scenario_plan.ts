import { createPrng, type Prng } from "../prng.ts";
import { isLabAddress } from "./is_lab_address.ts";
import type { LabHost, LabHostName, LabNetwork } from "./lab_network.ts";
import type { RunSettings, TrafficClass } from "./run_settings.ts";
import {
  bracket,
  cmd,
  DNS_ZONE,
  hostAddresses,
  PORTS,
  sshClientArgs,
  WORD_STEMS,
} from "./_plan_parts.ts";
import { buildOddBenignParts, LAB_MULTICAST_GROUPS } from "./odd_benign_segments.ts";
import { buildWideAttackFiles } from "./wide_attack_segments.ts";
import { attackSegment } from "./attack_segments.ts";

/** One tool invocation inside a host namespace. */
export interface PlannedCommand {
  /** Program and arguments, run as `ip netns exec <ns> ...argv`. */
  argv: string[];
  /** Hard limit: the process is killed when it runs longer. */
  timeoutMs: number;
  /** Pause after the command ends, so requests are spread out like a person's. */
  pauseAfterMs: number;
  /** Working directory (hydra writes its restore file there). */
  cwd?: string;
}

/** What a segment aims at. */
export interface SegmentTarget {
  /** Target addresses (the server's IPv4 and/or IPv6 address). */
  addresses: string[];
  /** Transport of the segment's traffic. */
  protocol: "tcp" | "udp" | "icmp" | "mixed";
  /** Target ports as text, e.g. `80`, `1-500`, `53,80,8000`; empty for ICMP. */
  ports: string;
}

/** A labelled piece of a run: one scenario from one host. */
export interface PlannedSegment {
  /** Class every flow of this segment belongs to. */
  label: TrafficClass;
  /** Scenario name, finer than the class (`nmap_syn`, `http`, …). */
  scenario: string;
  /** Host the commands run on. */
  host: LabHostName;
  /** Addresses the segment's packets come from: the host's, plus forged ones. */
  sourceAddresses: string[];
  /**
   * Attack-only target addresses that label the segment's flows whatever
   * their source (floods with random source addresses). Absent when the
   * segment is labelled by its sources alone.
   */
  labelTargets?: string[];
  /** What the segment aims at. */
  target: SegmentTarget;
  /** Commands, run one after the other. */
  commands: PlannedCommand[];
  /** Scenario settings worth keeping in the manifest. */
  params: Record<string, unknown>;
}

/** A long-running server process. */
export interface PlannedService {
  /** Name for logs and errors. */
  name: string;
  /** Host it runs on. */
  host: LabHostName;
  /** Program and arguments. */
  argv: string[];
  /** TCP or UDP port the service listens on once ready. */
  readyPort: number;
  /** Transport of `readyPort`. */
  readyProtocol: "tcp" | "udp";
}

/** Everything one run does, decided before anything runs. */
export interface ScenarioPlan {
  /** Files to write under the work directory, by relative path. */
  files: Record<string, string>;
  /** Commands run in the server namespace before the services start (key generation). */
  setup: PlannedCommand[];
  /** Server processes, started before the capture and stopped at the end. */
  services: PlannedService[];
  /** Benign chains: segments in a chain run in order, chains run at the same time. */
  benignChains: PlannedSegment[][];
  /** Attack segments, run one after the other with `settleMs` between them. */
  attacks: PlannedSegment[];
  /** Benign background that loops while the attacks run; stops when they end. */
  background: PlannedSegment;
  /** Quiet gap between attack segments. */
  settleMs: number;
}

/** Options for {@link buildScenarioPlan}. */
export interface BuildScenarioPlanOptions {
  /** Absolute work directory the run's files live in (a fresh temp dir). */
  workDir: string;
}

const HTTP_PORT = PORTS.http;
const HTTP_ALT_PORT = PORTS.httpAlt;
const DNS_PORT = PORTS.dns;
const SSH_PORT = PORTS.ssh;
const IPERF_PORT = PORTS.iperf;
const DNS_HOST_NAMES = 40;
/** Password of the web server's basic-auth area; brute force may or may not find it. */
const HTTP_PASSWORD = "tr0ub4dor";

/**
 * Turns run settings into the concrete plan of a lab run: files, services,
 * and the exact command line of every segment. It is pure (the seed drives
 * every random choice), so the plan can be tested and the manifest can record
 * exactly what ran. Every target address is checked to lie in the lab ranges.
 *
 * @example
 * ```ts
 * const plan = buildScenarioPlan(deriveRunSettings(1), LAB_NETWORK, { workDir: "/tmp/lab" });
 * plan.attacks.map((s) => s.label);
 * ```
 */
export function buildScenarioPlan(
  settings: RunSettings,
  network: LabNetwork,
  options: BuildScenarioPlanOptions,
): ScenarioPlan {
  const { workDir } = options;
  if (!workDir.startsWith("/")) {
    throw new RangeError(
      `Cannot build a scenario plan as 'workDir' must be absolute: current value is ${workDir}`,
    );
  }
  const srv = network.hosts.srv;
  for (const h of Object.values(network.hosts)) {
    for (const a of [h.ipv4, h.ipv6]) {
      if (!isLabAddress(a)) {
        throw new RangeError(
          `Cannot build a scenario plan as host '${h.name}' has address ${a} outside the lab ranges`,
        );
      }
    }
  }
  // A second stream, so that adding a knob to the settings does not reshuffle
  // every request of the benign workloads.
  const r = createPrng((settings.seed ^ 0x5eed_1ab) >>> 0);
  const paths = {
    work: workDir,
    www: `${workDir}/www`,
    wordlist: `${workDir}/words.txt`,
    userlist: `${workDir}/users.txt`,
    httpdConf: `${workDir}/httpd.conf`,
    dnsHosts: `${workDir}/dns_hosts`,
    sshdConfig: `${workDir}/ssh/sshd_config`,
    hostKey: `${workDir}/ssh/host_key`,
    clientKey: `${workDir}/ssh/client_key`,
  };
  const user = settings.attacks.bruteforce.users[0];
  const files = buildFiles(settings, r, network, paths, user);

  const setup: PlannedCommand[] = [
    // busybox httpd runs only executable CGI scripts.
    cmd(["chmod", "755", `${paths.www}/cgi-bin/form.cgi`], 10_000),
    cmd(
      ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab-host", "-f", paths.hostKey],
      10_000,
    ),
    cmd(
      ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab-client", "-f", paths.clientKey],
      10_000,
    ),
  ];

  const services: PlannedService[] = [
    {
      name: "busybox-httpd",
      host: "srv",
      argv: [
        "busybox",
        "httpd",
        "-f",
        "-p",
        String(HTTP_PORT),
        "-h",
        paths.www,
        "-c",
        paths.httpdConf,
      ],
      readyPort: HTTP_PORT,
      readyProtocol: "tcp",
    },
    {
      name: "python-http",
      host: "srv",
      argv: [
        "python3",
        "-m",
        "http.server",
        String(HTTP_ALT_PORT),
        "--bind",
        "::",
        "--directory",
        paths.www,
      ],
      readyPort: HTTP_ALT_PORT,
      readyProtocol: "tcp",
    },
    {
      name: "dnsmasq",
      host: "srv",
      argv: [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--bind-interfaces",
        `--listen-address=${srv.ipv4}`,
        `--listen-address=${srv.ipv6}`,
        `--port=${DNS_PORT}`,
        "--user=root",
        "--pid-file=",
        "--log-facility=-",
        `--local=/${DNS_ZONE}/`,
        `--addn-hosts=${paths.dnsHosts}`,
        `--txt-record=${DNS_ZONE},"lab zone for traffic analyzer"`,
        `--mx-host=${DNS_ZONE},mail.${DNS_ZONE},10`,
      ],
      readyPort: DNS_PORT,
      readyProtocol: "udp",
    },
    {
      name: "sshd",
      host: "srv",
      argv: ["/usr/sbin/sshd", "-D", "-e", "-f", paths.sshdConfig],
      readyPort: SSH_PORT,
      readyProtocol: "tcp",
    },
    {
      name: "iperf3",
      host: "srv",
      argv: ["iperf3", "-s", "-p", String(IPERF_PORT)],
      readyPort: IPERF_PORT,
      readyProtocol: "tcp",
    },
  ];

  const c1 = network.hosts.c1;
  const c2 = network.hosts.c2;
  const c3 = network.hosts.c3;
  const benignChains = [
    [httpSegment(settings, r, c1, srv, user), sshSegment(settings, r, c1, srv, paths)],
    [dnsSegment(settings, r, c2, srv), iperfSegment(settings, c2, srv)],
  ];
  const background = backgroundSegment(settings, r, c3, srv, user);
  // The widened lab draws from streams of its own, so the original
  // scenarios of a seed keep their commands.
  const rw = createPrng((settings.seed ^ 0x0dd_be11) >>> 0);
  if (settings.profile === "full") {
    const odd = buildOddBenignParts(settings, rw, network, workDir);
    Object.assign(files, odd.files);
    setup.push(...odd.setup);
    services.push(...odd.services);
    benignChains[0].push(...odd.c1);
    benignChains[1].push(...odd.c2);
    benignChains.push(odd.c3);
  }
  Object.assign(files, buildWideAttackFiles(settings, rw));

  const attackers = [network.hosts.a1, network.hosts.a2];
  const attacks = settings.attackOrder.map((scenario, i) =>
    attackSegment(scenario, settings, attackers[i % attackers.length], srv, network, paths)
  );

  const all = [...benignChains.flat(), background, ...attacks];
  for (const segment of all) {
    const addresses = [
      ...segment.target.addresses,
      ...segment.sourceAddresses,
      ...(segment.labelTargets ?? []),
    ];
    for (const address of addresses) {
      // Link-scoped multicast (TTL 1-2) stays on the lab bridge.
      if (!isLabAddress(address) && !LAB_MULTICAST_GROUPS.includes(address)) {
        throw new RangeError(
          `Cannot build a scenario plan as segment '${segment.scenario}' uses ${address} outside the lab ranges`,
        );
      }
    }
  }
  return { files, setup, services, benignChains, attacks, background, settleMs: settings.settleMs };
}

function text(r: Prng, bytes: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n";
  const chunk = Array.from({ length: 4096 }, () => alphabet[r.int(0, alphabet.length - 1)]).join(
    "",
  );
  return chunk.repeat(Math.ceil(bytes / chunk.length)).slice(0, bytes);
}

function buildFiles(
  settings: RunSettings,
  r: Prng,
  network: LabNetwork,
  paths: Record<string, string>,
  user: string,
): Record<string, string> {
  const sizes = settings.server.fileBytes;
  const srv = network.hosts.srv;
  const bf = settings.attacks.bruteforce;
  const words = Array.from(
    { length: bf.wordlistSize },
    (_, i) => `${r.pick(WORD_STEMS)}${r.int(0, 9999)}${i % 3 === 0 ? "!" : ""}`,
  );
  if (bf.passwordInList) words[r.int(0, words.length - 1)] = HTTP_PASSWORD;
  const dnsHosts = [
    `${srv.ipv4} www.${DNS_ZONE} files.${DNS_ZONE} ssh.${DNS_ZONE} mail.${DNS_ZONE}`,
    `${srv.ipv6} www.${DNS_ZONE} files.${DNS_ZONE} ssh.${DNS_ZONE} mail.${DNS_ZONE}`,
    // Names that only resolve; nothing ever connects to them.
    ...Array.from(
      { length: DNS_HOST_NAMES },
      (_, i) => `10.77.0.${100 + i} host${i + 1}.${DNS_ZONE}`,
    ),
  ];
  const sshdConfig = [
    `Port ${SSH_PORT}`,
    `ListenAddress ${srv.ipv4}`,
    `ListenAddress ${srv.ipv6}`,
    `HostKey ${paths.hostKey}`,
    `PidFile none`,
    `AuthorizedKeysFile ${paths.clientKey}.pub`,
    // Only the per-run key may log in as root; password attempts can only
    // fail because the brute-forced accounts do not exist.
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "MaxStartups 200:30:400",
    "LogLevel ERROR",
    "",
  ].join("\n");
  const links = ["small.html", "medium.bin", "large.bin"].map((f) => `<a href="/${f}">${f}</a>`)
    .join("\n");
  return {
    "www/index.html": `<!doctype html><title>lab</title>\n<h1>lab web server</h1>\n${links}\n${
      text(r, 400)
    }\n`,
    "www/small.html": `<!doctype html><p>${text(r, sizes.small)}</p>\n`,
    "www/medium.bin": text(r, sizes.medium),
    "www/large.bin": text(r, sizes.large),
    "www/bulk.bin": text(r, Math.max(1, settings.benign.ssh.bulkBytes)),
    "www/private/index.html": `secret area\n${text(r, 300)}\n`,
    // Reads the whole POST body before answering, so a slow body keeps the
    // connection (and a server process) busy, as slow-POST attacks intend.
    "www/cgi-bin/form.cgi":
      '#!/bin/sh\necho "Content-Type: text/plain"\necho\ncat >/dev/null\necho ok\n',
    "httpd.conf": `/private:${user}:${HTTP_PASSWORD}\n`,
    "dns_hosts": dnsHosts.join("\n") + "\n",
    "ssh/sshd_config": sshdConfig,
    "words.txt": words.join("\n") + "\n",
    "users.txt": bf.users.join("\n") + "\n",
  };
}

function httpSegment(
  settings: RunSettings,
  r: Prng,
  client: LabHost,
  srv: LabHost,
  user: string,
): PlannedSegment {
  const s = settings.benign.http;
  const commands: PlannedCommand[] = [];
  let made = 0;
  while (made < s.requests) {
    const v6 = r.chance(s.ipv6Share);
    const port = r.chance(0.6) ? HTTP_PORT : HTTP_ALT_PORT;
    const n = r.chance(s.keepAliveShare) ? Math.min(r.int(2, 4), s.requests - made) : 1;
    const base = `http://${bracket(v6 ? srv.ipv6 : srv.ipv4)}:${port}`;
    const args = ["curl", "-s", "--max-time", "10"];
    const kind = port === HTTP_PORT ? r.int(0, 24) : 99;
    if (kind < 2) {
      // A signed-in user: the same basic-auth area the brute force aims at.
      args.push("-u", `${user}:${HTTP_PASSWORD}`, "-o", "/dev/null", `${base}/private/`);
    } else if (kind < 4) {
      // A small form post to the CGI that the slow-body attack also uses.
      args.push(
        "-d",
        `name=${r.pick(WORD_STEMS)}&n=${r.int(1, 999)}`,
        "-o",
        "/dev/null",
        `${base}/cgi-bin/form.cgi`,
      );
    } else {
      if (r.chance(0.1)) args.push("-I");
      for (let i = 0; i < n; i++) {
        args.push("-o", "/dev/null", `${base}${pickPath(r, s.largeShare)}`);
      }
    }
    commands.push(cmd(args, 15_000, r.int(0, s.pauseMsMax)));
    made += n;
  }
  return {
    label: "benign",
    scenario: "http",
    host: client.name,
    sourceAddresses: hostAddresses(client),
    target: {
      addresses: hostAddresses(srv),
      protocol: "tcp",
      ports: `${HTTP_PORT},${HTTP_ALT_PORT}`,
    },
    commands,
    params: { ...s },
  };
}

function pickPath(r: Prng, largeShare: number): string {
  if (r.chance(largeShare)) return "/large.bin";
  return r.pick(["/", "/index.html", "/small.html", "/small.html", "/medium.bin", "/missing.html"]);
}

function sshSegment(
  settings: RunSettings,
  r: Prng,
  client: LabHost,
  srv: LabHost,
  paths: Record<string, string>,
): PlannedSegment {
  const s = settings.benign.ssh;
  const commands: PlannedCommand[] = [];
  for (let i = 0; i < s.sessions; i++) {
    const remote = [
      "uname -a",
      "id -u",
      `sleep ${r.int(0, 1)}`,
      `ls -l ${paths.www}`,
      s.bulkBytes > 0 && i === 0 ? `cat ${paths.www}/bulk.bin` : "date",
    ].join("; ");
    commands.push(cmd(
      [
        ...sshClientArgs(paths.clientKey),
        `root@${r.chance(0.3) ? srv.ipv6 : srv.ipv4}`,
        remote,
      ],
      20_000,
      r.int(200, 800),
    ));
  }
  return {
    label: "benign",
    scenario: "ssh",
    host: client.name,
    sourceAddresses: hostAddresses(client),
    target: { addresses: hostAddresses(srv), protocol: "tcp", ports: String(SSH_PORT) },
    commands,
    params: { ...s },
  };
}

function dnsSegment(settings: RunSettings, r: Prng, client: LabHost, srv: LabHost): PlannedSegment {
  const s = settings.benign.dns;
  const commands: PlannedCommand[] = [];
  for (let i = 0; i < s.queries; i++) {
    const server = r.chance(s.ipv6Share) ? srv.ipv6 : srv.ipv4;
    const name = r.chance(0.15)
      ? `nx${r.int(1, 99999)}.${DNS_ZONE}`
      : r.chance(0.5)
      ? `${r.pick(["www", "files", "ssh", "mail"])}.${DNS_ZONE}`
      : `host${r.int(1, DNS_HOST_NAMES)}.${DNS_ZONE}`;
    const type = r.pick(["A", "A", "A", "AAAA", "AAAA", "MX", "TXT"]);
    const qname = type === "MX" || type === "TXT" ? DNS_ZONE : name;
    const args = ["dig", `@${server}`, "+tries=1", "+time=2"];
    if (r.chance(s.tcpShare)) args.push("+tcp");
    args.push(qname, type);
    commands.push(cmd(args, 8_000, r.int(0, s.pauseMsMax)));
  }
  return {
    label: "benign",
    scenario: "dns",
    host: client.name,
    sourceAddresses: hostAddresses(client),
    target: { addresses: hostAddresses(srv), protocol: "udp", ports: String(DNS_PORT) },
    commands,
    params: { ...s },
  };
}

function iperfSegment(settings: RunSettings, client: LabHost, srv: LabHost): PlannedSegment {
  const s = settings.benign.iperf;
  const argv = [
    "iperf3",
    "-c",
    s.ipv6 ? srv.ipv6 : srv.ipv4,
    "-p",
    String(IPERF_PORT),
    "-n",
    String(s.bytes),
    "-b",
    `${s.rateMbit}M`,
    "-l",
    String(s.blockBytes),
    "--connect-timeout",
    "3000",
  ];
  if (s.reverse) argv.push("-R");
  return {
    label: "benign",
    scenario: "iperf",
    host: client.name,
    sourceAddresses: hostAddresses(client),
    target: { addresses: hostAddresses(srv), protocol: "tcp", ports: String(IPERF_PORT) },
    commands: [cmd(argv, 30_000)],
    params: { ...s },
  };
}

function backgroundSegment(
  settings: RunSettings,
  r: Prng,
  client: LabHost,
  srv: LabHost,
  user: string,
): PlannedSegment {
  const s = settings.benign.background;
  const commands: PlannedCommand[] = [];
  for (let i = 0; i < s.maxActions; i++) {
    const pause = r.int(Math.round(s.intervalMs / 2), s.intervalMs * 2);
    const kind = r.int(0, 9);
    if (kind < 5) {
      const port = r.chance(0.5) ? HTTP_PORT : HTTP_ALT_PORT;
      const auth = port === HTTP_PORT && kind === 0;
      const path = auth ? "/private/" : pickPath(r, 0.03);
      const args = ["curl", "-s", "--max-time", "10", "-o", "/dev/null"];
      if (auth) args.push("-u", `${user}:${HTTP_PASSWORD}`);
      args.push(`http://${bracket(r.chance(0.2) ? srv.ipv6 : srv.ipv4)}:${port}${path}`);
      commands.push(cmd(args, 15_000, pause));
    } else {
      const name = r.chance(0.5)
        ? `www.${DNS_ZONE}`
        : `host${r.int(1, DNS_HOST_NAMES)}.${DNS_ZONE}`;
      commands.push(
        cmd(
          ["dig", `@${srv.ipv4}`, "+tries=1", "+time=2", name, r.pick(["A", "AAAA"])],
          8_000,
          pause,
        ),
      );
    }
  }
  return {
    label: "benign",
    scenario: "background",
    host: client.name,
    sourceAddresses: hostAddresses(client),
    target: {
      addresses: hostAddresses(srv),
      protocol: "mixed",
      ports: `${DNS_PORT},${HTTP_PORT},${HTTP_ALT_PORT}`,
    },
    commands,
    params: { ...s },
  };
}
