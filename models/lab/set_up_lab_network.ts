import { freeLabIpv4Addresses, type LabNetwork } from "./lab_network.ts";
import { type CommandResult, LabCommandError, runCommand } from "./run_command.ts";

/** Options for {@link setUpLabNetwork}. */
export interface SetUpLabNetworkOptions {
  /** Server kernel settings to apply (see `RunSettings.server`). */
  server?: { icmpRatelimitMs: number; synackRetries: number };
  /** Aborting stops the setup between steps. */
  signal?: AbortSignal;
}

/**
 * Builds the lab: a bridge namespace with one bridge, and one namespace per
 * host joined to it by a veth pair. Hosts get only their lab addresses, no
 * default route and no link to the machine's own interfaces, so their traffic
 * cannot leave. Segmentation and checksum offloads are turned off so the
 * capture shows wire-sized, finished packets; neighbour entries are static so
 * ARP and neighbour discovery do not mix into the labelled windows.
 *
 * Call {@link tearDownLabNetwork} afterwards, also on failure.
 */
export async function setUpLabNetwork(
  network: LabNetwork,
  options: SetUpLabNetworkOptions = {},
): Promise<void> {
  const run = async (argv: string[], netns?: string): Promise<CommandResult> => {
    if (options.signal?.aborted) {
      throw new LabCommandError("Lab setup was aborted", { argv });
    }
    const result = await runCommand(argv, { netns, timeoutMs: 10_000, signal: options.signal });
    if (result.code !== 0) {
      throw new LabCommandError(
        `Cannot set up the lab network: '${
          argv.join(" ")
        }' exited with ${result.code}: ${result.stderr.trim()}`,
        { argv, result },
      );
    }
    return result;
  };
  // The lab's few command shapes, each written once.
  const offloadsOff = (device: string, netns: string) =>
    run(["ethtool", "-K", device, "tx", "off", "tso", "off", "gso", "off", "gro", "off"], netns);
  /** Both of a host interface's lab addresses, IPv6 without duplicate detection (it is static). */
  const addAddresses = async (netns: string, device: string, ipv4: string, ipv6: string) => {
    const add = (cidr: string, ...flags: string[]) =>
      run(["ip", "-n", netns, "addr", "add", cidr, "dev", device, ...flags]);
    await add(`${ipv4}/${network.ipv4PrefixLength}`);
    await add(`${ipv6}/${network.ipv6PrefixLength}`, "nodad");
  };
  const neigh = (device: string, address: string, mac: string) =>
    `neigh replace ${address} lladdr ${mac} dev ${device} nud permanent`;
  const staticNeighbour = (netns: string, device: string, address: string, mac: string) =>
    run(["ip", "-n", netns, ...neigh(device, address, mac).split(" ")]);
  const br = network.bridgeNamespace;
  await run(["ip", "netns", "add", br]);
  await run(["ip", "-n", br, "link", "set", "lo", "up"]);
  // The bridge namespace has no addresses; keep IPv6 off so its ports stay silent.
  await run([
    "sysctl",
    "-q",
    "-w",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
  ], br);
  await run(["ip", "-n", br, "link", "add", network.bridge, "type", "bridge", "stp_state", "0"]);
  await run(["ip", "-n", br, "link", "set", network.bridge, "up"]);

  const hosts = Object.values(network.hosts);
  for (const h of hosts) {
    await run(["ip", "netns", "add", h.namespace]);
    await run(["ip", "-n", h.namespace, "link", "set", "lo", "up"]);
    // No link-local address, router solicitations or duplicate address
    // detection: the lab's IPv6 is static, and this noise would fall into the
    // labelled windows.
    await run([
      "sysctl",
      "-q",
      "-w",
      "net.ipv6.conf.default.addr_gen_mode=1",
      "net.ipv6.conf.default.accept_ra=0",
      "net.ipv6.conf.default.router_solicitations=0",
      "net.ipv6.conf.default.accept_dad=0",
    ], h.namespace);
    await run([
      "ip",
      "link",
      "add",
      "name",
      h.interface,
      "netns",
      h.namespace,
      "address",
      h.mac,
      "type",
      "veth",
      "peer",
      "name",
      h.bridgePort,
      "netns",
      br,
    ]);
    await offloadsOff(h.interface, h.namespace);
    await offloadsOff(h.bridgePort, br);
    await run(["ip", "-n", br, "link", "set", h.bridgePort, "master", network.bridge, "up"]);
    await addAddresses(h.namespace, h.interface, h.ipv4, h.ipv6);
    await run(["ip", "-n", h.namespace, "link", "set", h.interface, "up"]);
  }
  for (const h of hosts) {
    for (const peer of hosts) {
      if (peer.name === h.name) continue;
      for (const address of [peer.ipv4, peer.ipv6]) {
        await staticNeighbour(h.namespace, h.interface, address, peer.mac);
      }
    }
  }
  // The server answers forged SYN-flood sources towards MACs nobody owns;
  // the bridge floods those frames, which is what such a flood looks like.
  const srv = network.hosts.srv;
  for (const s of network.spoofPool) {
    await staticNeighbour(srv.namespace, srv.interface, s.ipv4, s.mac);
  }
  // The attack-only victim address lives on the server's interface; every
  // other host reaches it by a static entry, like the host addresses.
  const owner = network.hosts[network.victim.host];
  await addAddresses(owner.namespace, owner.interface, network.victim.ipv4, network.victim.ipv6);
  const free = freeLabIpv4Addresses(network).filter((a) => a !== network.noHost);
  for (const h of hosts) {
    const lines: string[] = [];
    if (h.name !== owner.name) {
      lines.push(
        neigh(h.interface, network.victim.ipv4, owner.mac),
        neigh(h.interface, network.victim.ipv6, owner.mac),
      );
    }
    // Attackers see the empty part of the subnet as if across a router: their
    // probes of free addresses reach the wire and go unanswered. Clients only
    // know the dead server that way.
    if (h.role === "attacker") {
      lines.push(...free.map((a) => neigh(h.interface, a, network.ghostMac)));
    }
    if (h.role === "client") lines.push(neigh(h.interface, network.deadServer, network.ghostMac));
    if (lines.length === 0) continue;
    const batch = await Deno.makeTempFile({ prefix: "talab-neigh-" });
    try {
      await Deno.writeTextFile(batch, lines.join("\n") + "\n");
      await run(["ip", "-n", h.namespace, "-batch", batch]);
    } finally {
      await Deno.remove(batch).catch(() => {});
    }
  }
  if (options.server) {
    const { icmpRatelimitMs, synackRetries } = options.server;
    await run([
      "sysctl",
      "-q",
      "-w",
      `net.ipv4.icmp_ratelimit=${icmpRatelimitMs}`,
      `net.ipv6.icmp.ratelimit=${icmpRatelimitMs}`,
      `net.ipv4.tcp_synack_retries=${synackRetries}`,
    ], srv.namespace);
  }
}
