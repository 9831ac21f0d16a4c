/** Name of a host in the lab network. */
export type LabHostName = "srv" | "c1" | "c2" | "c3" | "a1" | "a2";

/** What a lab host is for: it decides which scenarios may run from it. */
export type LabHostRole = "server" | "client" | "attacker";

/** One host of the lab: a network namespace with one veth leg on the bridge. */
export interface LabHost {
  /** Short name, also the suffix of the namespace and the bridge port. */
  name: LabHostName;
  /** Server hosts the services; clients make benign traffic; attackers attack. */
  role: LabHostRole;
  /** Network namespace name. */
  namespace: string;
  /** Interface name inside the host namespace. */
  interface: string;
  /** Name of the peer veth end, enslaved to the bridge in the bridge namespace. */
  bridgePort: string;
  /** IPv4 address (inside `ipv4Cidr`). */
  ipv4: string;
  /** IPv6 address (inside `ipv6Cidr`). */
  ipv6: string;
  /** Fixed, locally administered MAC, so captures from two runs look alike. */
  mac: string;
}

/** A spoofed source the SYN flood may use; it exists only as a neighbour entry. */
export interface SpoofedSource {
  /** IPv4 address inside `ipv4Cidr` that no namespace owns. */
  ipv4: string;
  /** MAC that no interface owns, so the bridge floods replies to it. */
  mac: string;
}

/**
 * A second address on the server that only attacks aim at. Floods with random
 * source addresses cannot be labelled by source, so their segments label by
 * this target instead; benign clients never use it.
 */
export interface VictimAddress {
  /** Host that owns the address (an extra address on its interface). */
  host: LabHostName;
  /** IPv4 address inside `ipv4Cidr`. */
  ipv4: string;
  /** IPv6 address inside `ipv6Cidr`. */
  ipv6: string;
}

/** The whole lab layout: a bridge namespace and one namespace per host. */
export interface LabNetwork {
  /** Prefix of every namespace the lab creates; teardown removes only these. */
  namespacePrefix: string;
  /** Namespace holding the bridge; the capture runs here. */
  bridgeNamespace: string;
  /** Bridge device name inside `bridgeNamespace`. */
  bridge: string;
  /** IPv4 range used only inside the lab namespaces. */
  ipv4Cidr: string;
  /** IPv6 range used only inside the lab namespaces. */
  ipv6Cidr: string;
  /** Prefix length of `ipv4Cidr`. */
  ipv4PrefixLength: number;
  /** Prefix length of `ipv6Cidr`. */
  ipv6PrefixLength: number;
  /** Hosts by name. */
  hosts: Readonly<Record<LabHostName, LabHost>>;
  /** Source addresses the SYN flood may forge (all inside `ipv4Cidr`). */
  spoofPool: readonly SpoofedSource[];
  /** Attack-only target address on the server, for segments labelled by target. */
  victim: VictimAddress;
  /**
   * MAC no interface owns. Attackers get it as the neighbour entry of every
   * free address of `ipv4Cidr`, so sweeps and scans of empty addresses put
   * their probes on the wire (as across a router) and nobody answers.
   */
  ghostMac: string;
  /** Free address whose probes go to `ghostMac`: the target of probe-only scans. */
  darkTarget: string;
  /** Free address clients reach at `ghostMac`: a dead server that never answers. */
  deadServer: string;
  /** Free address with no neighbour entry anywhere: connecting to it only sends ARP. */
  noHost: string;
}

const PREFIX = "talab-";

function host(
  name: LabHostName,
  role: LabHostRole,
  octet: number,
): LabHost {
  return {
    name,
    role,
    namespace: `${PREFIX}${name}`,
    interface: "eth0",
    bridgePort: `p-${name}`,
    ipv4: `10.77.0.${octet}`,
    ipv6: `fd77::${octet}`,
    mac: `02:77:00:00:00:${octet.toString(16).padStart(2, "0")}`,
  };
}

/**
 * The fixed lab layout. Addresses come from 10.77.0.0/24 and fd77::/64 and
 * exist only inside the lab namespaces: no namespace has a default route or a
 * link to the host's own interfaces, so nothing sent there can leave.
 */
export const LAB_NETWORK: LabNetwork = Object.freeze({
  namespacePrefix: PREFIX,
  bridgeNamespace: `${PREFIX}br`,
  bridge: "br0",
  ipv4Cidr: "10.77.0.0/24",
  ipv6Cidr: "fd77::/64",
  ipv4PrefixLength: 24,
  ipv6PrefixLength: 64,
  hosts: Object.freeze({
    srv: host("srv", "server", 10),
    c1: host("c1", "client", 21),
    c2: host("c2", "client", 22),
    c3: host("c3", "client", 23),
    a1: host("a1", "attacker", 66),
    a2: host("a2", "attacker", 67),
  }),
  spoofPool: Object.freeze(
    Array.from({ length: 8 }, (_, i) => ({
      ipv4: `10.77.0.${200 + i}`,
      mac: `02:77:00:00:01:${(200 + i).toString(16)}`,
    })),
  ),
  victim: Object.freeze({ host: "srv" as const, ipv4: "10.77.0.11", ipv6: "fd77::11" }),
  ghostMac: "02:77:00:00:02:00",
  darkTarget: "10.77.0.92",
  deadServer: "10.77.0.91",
  noHost: "10.77.0.93",
});

/**
 * The lab IPv4 addresses no host, victim or spoofed source owns, 1..254:
 * the empty part of the subnet that sweeps find empty.
 */
export function freeLabIpv4Addresses(network: LabNetwork): string[] {
  const prefix = network.ipv4Cidr.split(".").slice(0, 3).join(".");
  const used = new Set([
    ...Object.values(network.hosts).map((h) => h.ipv4),
    ...network.spoofPool.map((s) => s.ipv4),
    network.victim.ipv4,
  ]);
  return Array.from({ length: 254 }, (_, i) => `${prefix}.${i + 1}`).filter((a) => !used.has(a));
}
