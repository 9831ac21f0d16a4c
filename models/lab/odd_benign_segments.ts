import type { Prng } from "../prng.ts";
import type { LabHost, LabNetwork } from "./lab_network.ts";
import type { RunSettings } from "./run_settings.ts";
import type { PlannedCommand, PlannedSegment, PlannedService } from "./scenario_plan.ts";
import { cmd, DNS_ZONE, hostAddresses, PORTS, sshClientArgs } from "./_plan_parts.ts";

/**
 * Multicast groups the chatter scenario sends to, each with TTL 1 or 2 so it
 * stays on the lab bridge: mDNS and SSDP. They are the only non-lab
 * destinations the lab ever names.
 */
export const LAB_MULTICAST_GROUPS: readonly string[] = Object.freeze([
  "224.0.0.251",
  "239.255.255.250",
]);

/** Files of the odd benign scenarios and their services, relative to the work directory. */
export const ODD_FILES = Object.freeze({
  vsftpdConf: "vsftpd.conf",
  tlsCert: "tls/cert.pem",
  tlsKey: "tls/key.pem",
  chronySrv: "chrony_srv.conf",
  chronyClient: "chrony_client.conf",
  loginCgi: "www/cgi-bin/login.cgi",
  resolverNames: "resolver_names.txt",
  mdnsQuery: "mdns_query.bin",
  ssdpSearch: "ssdp_msearch.txt",
});

/** What the odd benign scenarios add to a plan. */
export interface OddBenignParts {
  /** Files by path relative to the work directory. */
  files: Record<string, string>;
  /** Server-side setup commands (certificate, directories). */
  setup: PlannedCommand[];
  /** FTP, TLS and NTP servers. */
  services: PlannedService[];
  /** Segments appended to client c1's chain. */
  c1: PlannedSegment[];
  /** Segments appended to client c2's chain. */
  c2: PlannedSegment[];
  /** A chain of its own on client c3 (before c3's background). */
  c3: PlannedSegment[];
}

/**
 * Plans the benign traffic that looks odd but is normal: refused and retried
 * connections, a monitoring probe, a crawler, a name-resolving burst, one
 * huge backup flow, many connections at once, TLS, NTP, multicast chatter and
 * a UDP stream. All of it comes from the benign clients, so it is labelled by
 * their addresses like the other benign scenarios.
 */
export function buildOddBenignParts(
  settings: RunSettings,
  r: Prng,
  network: LabNetwork,
  workDir: string,
): OddBenignParts {
  const o = settings.oddBenign;
  const { c1, c2, c3, srv } = network.hosts;
  const file = (name: string) => `${workDir}/${name}`;
  const seg = (
    scenario: string,
    client: LabHost,
    target: PlannedSegment["target"],
    commands: PlannedCommand[],
    params: object,
  ): PlannedSegment => ({
    label: "benign",
    scenario,
    host: client.name,
    sourceAddresses: hostAddresses(client),
    target,
    commands,
    params: { ...params },
  });
  const curl = ["curl", "-s", "--max-time", "10", "-o", "/dev/null"];
  const sshBase = sshClientArgs(`${workDir}/ssh/client_key`);

  const refused = seg(
    "refused",
    c1,
    { addresses: [srv.ipv4], protocol: "tcp", ports: o.refused.ports.join(",") },
    Array.from({ length: o.refused.attempts }, () =>
      cmd(
        [...curl, `http://${srv.ipv4}:${r.pick(o.refused.ports)}/`],
        15_000,
        r.int(200, 1500),
      )),
    o.refused,
  );
  const pages = Array.from({ length: o.crawler.pages }, (_, i) => `/site/p${i + 1}.html`);
  const crawlCommands: PlannedCommand[] = [];
  for (let i = 0; i < pages.length; i += o.crawler.perCommand) {
    const argv = ["curl", "-s", "--max-time", "20"];
    for (const p of pages.slice(i, i + o.crawler.perCommand)) {
      argv.push("-o", "/dev/null", `http://${srv.ipv4}:${PORTS.httpAlt}${p}`);
    }
    crawlCommands.push(cmd(argv, 25_000, r.int(0, o.crawler.pauseMsMax)));
  }
  const crawler = seg(
    "crawler",
    c1,
    { addresses: [srv.ipv4], protocol: "tcp", ports: String(PORTS.httpAlt) },
    crawlCommands,
    o.crawler,
  );
  const tls = seg(
    "tls",
    c1,
    { addresses: [srv.ipv4], protocol: "tcp", ports: String(PORTS.https) },
    Array.from({ length: o.tls.requests }, (_, i) =>
      i % 5 === 4
        ? cmd(
          ["openssl", "s_client", "-connect", `${srv.ipv4}:${PORTS.https}`, "-brief"],
          10_000,
          r.int(0, o.tls.pauseMsMax),
        )
        : cmd(
          [...curl, "-k", `https://${srv.ipv4}:${PORTS.https}/`],
          15_000,
          r.int(0, o.tls.pauseMsMax),
        )),
    o.tls,
  );

  const resolver = seg(
    "resolver",
    c2,
    { addresses: [srv.ipv4], protocol: "udp", ports: String(PORTS.dns) },
    [cmd(
      ["dig", `@${srv.ipv4}`, "+tries=1", "+time=1", "-f", file(ODD_FILES.resolverNames)],
      120_000,
    )],
    o.resolver,
  );
  const iperfUdp = seg(
    "iperf_udp",
    c2,
    { addresses: [srv.ipv4], protocol: "udp", ports: String(PORTS.iperf) },
    [cmd([
      "iperf3",
      "-c",
      srv.ipv4,
      "-p",
      String(PORTS.iperf),
      "-u",
      "-b",
      `${o.iperfUdp.rateMbit}M`,
      "-n",
      String(o.iperfUdp.bytes),
      "--connect-timeout",
      "3000",
    ], 30_000)],
    o.iperfUdp,
  );
  const ssh = [...sshBase, `root@${srv.ipv4}`].map((a) => `'${a}'`).join(" ");
  const backupScript = o.backup.upload
    ? `head -c ${o.backup.bytes} /dev/zero | ${ssh} 'cat > /dev/null'`
    : `${ssh} 'head -c ${o.backup.bytes} /dev/zero' > /dev/null`;
  const backup = seg(
    "backup",
    c2,
    { addresses: [srv.ipv4], protocol: "tcp", ports: String(PORTS.ssh) },
    [cmd(["bash", "-c", backupScript], 90_000)],
    o.backup,
  );

  const retryDead = seg(
    "retry_dead",
    c3,
    {
      addresses: [network.deadServer, network.noHost, srv.ipv4],
      protocol: "tcp",
      ports: "80,8081",
    },
    [
      // Nobody owns the dead server's MAC: the SYNs and their retries go unanswered.
      cmd(
        [
          ...curl,
          "--connect-timeout",
          String(o.retryDead.connectTimeoutSec),
          "--retry",
          String(o.retryDead.retries),
          "--retry-delay",
          "1",
          `http://${network.deadServer}/`,
        ],
        30_000,
        500,
      ),
      // A port nobody listens on: RST after RST, retried.
      cmd(
        [
          ...curl,
          "--retry",
          String(o.retryDead.retries + 1),
          "--retry-connrefused",
          "--retry-delay",
          "1",
          `http://${srv.ipv4}:8081/`,
        ],
        30_000,
        500,
      ),
      // An address with no host at all: only unanswered ARP requests.
      cmd([...curl, "--connect-timeout", "2", `http://${network.noHost}/`], 15_000, 500),
    ],
    o.retryDead,
  );
  const checks = o.monitor.ports.map((p) => `(exec 3<>/dev/tcp/${srv.ipv4}/${p}) 2>/dev/null`);
  const monitor = seg(
    "monitor",
    c3,
    { addresses: [srv.ipv4], protocol: "tcp", ports: o.monitor.ports.join(",") },
    Array.from(
      { length: o.monitor.rounds },
      () => cmd(["bash", "-c", `${checks.join("; ")}; exit 0`], 20_000, o.monitor.intervalMs),
    ),
    o.monitor,
  );
  const manyUrls = Array.from({ length: o.manyToOne.connections }, () => {
    const port = r.pick([PORTS.http, PORTS.httpAlt]);
    return ["-o", "/dev/null", `http://${srv.ipv4}:${port}${r.pick(["/", "/small.html"])}`];
  }).flat();
  const manyToOne = seg(
    "many_to_one",
    c3,
    {
      addresses: [srv.ipv4],
      protocol: "mixed",
      ports: `${PORTS.ssh},${PORTS.dns},${PORTS.http},${PORTS.httpAlt},${PORTS.https}`,
    },
    [
      cmd(
        ["curl", "-s", "--max-time", "20", "-Z", "--parallel-max", String(o.manyToOne.parallel)]
          .concat(manyUrls),
        30_000,
      ),
      cmd(["ssh-keyscan", "-T", "3", srv.ipv4], 10_000),
      cmd([...curl, "-k", `https://${srv.ipv4}:${PORTS.https}/`], 15_000),
      ...Array.from(
        { length: 3 },
        () => cmd(["dig", `@${srv.ipv4}`, "+tcp", "+tries=1", "+time=2", `www.${DNS_ZONE}`], 8_000),
      ),
    ],
    o.manyToOne,
  );
  const ntp = seg(
    "ntp",
    c3,
    { addresses: [srv.ipv4], protocol: "udp", ports: String(PORTS.ntp) },
    Array.from({ length: o.ntp.polls }, () =>
      // -Q only measures the offset: the machine's clock is never touched.
      cmd(
        ["chronyd", "-Q", "-t", "12", "-u", "root", "-f", file(ODD_FILES.chronyClient)],
        20_000,
        1000,
      )),
    o.ntp,
  );
  const multicastCommands: PlannedCommand[] = [];
  for (let i = 0; i < o.multicast.rounds; i++) {
    multicastCommands.push(
      cmd(
        [
          "socat",
          "-u",
          `FILE:${file(ODD_FILES.mdnsQuery)}`,
          `UDP4-DATAGRAM:224.0.0.251:5353,ip-multicast-if=${c3.ipv4},ip-multicast-ttl=1,sourceport=5353,reuseaddr`,
        ],
        10_000,
        200,
      ),
      cmd(
        [
          "socat",
          "-u",
          `FILE:${file(ODD_FILES.ssdpSearch)}`,
          `UDP4-DATAGRAM:239.255.255.250:1900,ip-multicast-if=${c3.ipv4},ip-multicast-ttl=2`,
        ],
        10_000,
        o.multicast.intervalMs,
      ),
    );
  }
  const multicast = seg(
    "multicast",
    c3,
    { addresses: [...LAB_MULTICAST_GROUPS], protocol: "udp", ports: "5353,1900" },
    multicastCommands,
    o.multicast,
  );

  return {
    files: buildOddFiles(settings, r, network, workDir, pages),
    setup: [
      cmd(["chmod", "755", file(ODD_FILES.loginCgi)], 10_000),
      cmd(["mkdir", "-p", "/run/vsftpd/empty", file("tls")], 10_000),
      cmd([
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        `/CN=www.${DNS_ZONE}`,
        "-keyout",
        file(ODD_FILES.tlsKey),
        "-out",
        file(ODD_FILES.tlsCert),
      ], 10_000),
    ],
    services: [
      {
        name: "vsftpd",
        host: "srv",
        argv: ["vsftpd", file(ODD_FILES.vsftpdConf)],
        readyPort: PORTS.ftp,
        readyProtocol: "tcp",
      },
      {
        name: "openssl-s_server",
        host: "srv",
        argv: [
          "openssl",
          "s_server",
          "-quiet",
          "-www",
          "-accept",
          String(PORTS.https),
          "-cert",
          file(ODD_FILES.tlsCert),
          "-key",
          file(ODD_FILES.tlsKey),
        ],
        readyPort: PORTS.https,
        readyProtocol: "tcp",
      },
      {
        name: "chronyd",
        host: "srv",
        // -x: serve time without ever adjusting the machine's clock.
        argv: ["chronyd", "-d", "-x", "-u", "root", "-f", file(ODD_FILES.chronySrv)],
        readyPort: PORTS.ntp,
        readyProtocol: "udp",
      },
    ],
    c1: [refused, crawler, tls],
    c2: [resolver, iperfUdp, backup],
    c3: [retryDead, monitor, manyToOne, ntp, multicast],
  };
}

function buildOddFiles(
  settings: RunSettings,
  r: Prng,
  network: LabNetwork,
  workDir: string,
  pages: string[],
): Record<string, string> {
  const srv = network.hosts.srv;
  const o = settings.oddBenign;
  const site: Record<string, string> = {};
  pages.forEach((p, i) => {
    const links = [pages[(i + 1) % pages.length], pages[r.int(0, pages.length - 1)]]
      .map((l) => `<a href="${l}">${l}</a>`).join(" ");
    site[`www${p}`] = `<!doctype html><title>page ${i + 1}</title>\n${links}\n<p>${
      "lorem ipsum ".repeat(r.int(20, 200))
    }</p>\n`;
  });
  const names = Array.from({ length: o.resolver.names }, (_, i) => {
    const name = r.chance(o.resolver.nxShare)
      ? `nx${r.int(1, 99999)}-${i}.${DNS_ZONE}`
      : r.chance(0.3)
      ? `${r.pick(["www", "files", "ssh", "mail"])}.${DNS_ZONE}`
      : `host${r.int(1, 40)}.${DNS_ZONE}`;
    return `${name} ${r.pick(["A", "A", "AAAA"])}`;
  });
  // mDNS query for _services._dns-sd._udp.local PTR; all bytes below 0x80.
  const mdnsName = ["_services", "_dns-sd", "_udp", "local"]
    .map((l) => String.fromCharCode(l.length) + l).join("");
  const mdns = String.fromCharCode(0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + mdnsName +
    String.fromCharCode(0, 0, 12, 0, 1);
  return {
    ...site,
    [ODD_FILES.loginCgi]:
      '#!/bin/sh\necho "Content-Type: text/html"\necho\ncat >/dev/null\necho "<p>login denied</p>"\n',
    [ODD_FILES.resolverNames]: names.join("\n") + "\n",
    [ODD_FILES.mdnsQuery]: mdns,
    [ODD_FILES.ssdpSearch]: [
      "M-SEARCH * HTTP/1.1",
      "HOST: 239.255.255.250:1900",
      'MAN: "ssdp:discover"',
      "MX: 1",
      `ST: ${
        r.pick(["ssdp:all", "upnp:rootdevice", "urn:schemas-upnp-org:device:MediaRenderer:1"])
      }`,
      "",
      "",
    ].join("\r\n"),
    [ODD_FILES.vsftpdConf]: [
      "listen=YES",
      "listen_ipv6=NO",
      `listen_address=${srv.ipv4}`,
      `listen_port=${PORTS.ftp}`,
      "background=NO",
      "anonymous_enable=NO",
      "local_enable=YES",
      "write_enable=NO",
      "pam_service_name=vsftpd",
      "secure_chroot_dir=/run/vsftpd/empty",
      "seccomp_sandbox=NO",
      "isolate=NO",
      "isolate_network=NO",
      "xferlog_enable=NO",
      "max_clients=200",
      "max_per_ip=50",
      "",
    ].join("\n"),
    [ODD_FILES.chronySrv]: [
      `port ${PORTS.ntp}`,
      `bindaddress ${srv.ipv4}`,
      `allow ${network.ipv4Cidr}`,
      "local stratum 8",
      "cmdport 0",
      "bindcmdaddress /",
      `pidfile ${workDir}/chronyd_srv.pid`,
      "",
    ].join("\n"),
    [ODD_FILES.chronyClient]: [
      `server ${srv.ipv4} iburst maxsamples 4`,
      "cmdport 0",
      "bindcmdaddress /",
      `pidfile ${workDir}/chronyd_client.pid`,
      "",
    ].join("\n"),
  };
}
