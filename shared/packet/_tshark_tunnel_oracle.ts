/**
 * Test support: tshark's view of a tunnelled frame, in our terms, and its
 * comparison with a decoded record: the tunnel's type, outer addresses and
 * id, and the inner packet's addresses, protocol and ports.
 *
 * tshark shows a tunnelled frame as one list of layers
 * (`eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp`) and each field once
 * per layer that has it, outermost first. So the inner packet's fields are
 * found by counting the layers of the same name before it: the inner `ip`
 * above is the second, so its address is the second `ip.src`. The tunnel
 * fields it reads are listed in `testdata/tshark_fields.txt`.
 *
 * @module
 */

import type { PacketRecord, TunnelType } from "./packet_record.ts";
import { ipProtocolName } from "./ip_protocols.ts";
import type { TsharkRow } from "./_tshark_oracle.ts";

/** tshark layer names of the encapsulations we decode, as our tunnel types. */
const TUNNEL_LAYERS: ReadonlyMap<string, TunnelType> = new Map([
  ["mpls", "mpls"],
  ["pppoes", "pppoe"],
  ["gre", "gre"],
  ["erspan", "erspan"],
  ["vxlan", "vxlan"],
  ["geneve", "geneve"],
  ["gtp", "gtpu"],
]);
const NETWORK_LAYERS = new Set(["ip", "ipv6", "arp"]);
const IPV6_EXTENSION_LAYERS = new Set([
  "ipv6.hopopts",
  "ipv6.dstopts",
  "ipv6.routing",
  "ipv6.fraghdr",
  "ah",
]);
/** After these, tshark's layers are a message's contents (an ICMP error's quote), not a tunnel. */
const END_OF_HEADERS = new Set(["icmp", "icmpv6", "tcp", "sctp"]);

/** A tunnel as tshark's layers show it. */
interface TunnelLayer {
  type: TunnelType;
  /** Index of its layer in `frame.protocols`. */
  at: number;
}

/** What tshark says about a tunnelled frame, in the record's terms. */
export interface TsharkTunnelView {
  /** The innermost tunnel, or null when tshark shows none that we decode. */
  tunnelType: TunnelType | null;
  tunnelSrcIp: string | null;
  tunnelDstIp: string | null;
  tunnelId: number | null;
  /** The inner packet's fields (undefined: tshark shows no such layer). */
  ethSrc?: string;
  ethDst?: string;
  srcIp?: string;
  dstIp?: string;
  ipProto?: number;
  srcPort?: number;
  dstPort?: number;
}

/** GRE protocol types of ERSPAN, which names the tunnel whether tshark got past GRE or not. */
const ERSPAN_PROTOCOLS = new Set([0x88be, 0x22eb]);

/**
 * Walks tshark's layers for the encapsulations we decode, outermost first.
 * A GRE layer carrying ERSPAN and the ERSPAN layer after it are one tunnel.
 */
function tunnelLayers(layers: readonly string[], greProtocols: readonly string[]): TunnelLayer[] {
  const found: TunnelLayer[] = [];
  let lastNetwork = "";
  let gres = 0;
  for (let i = 0; i < layers.length; i++) {
    const name = layers[i];
    if (END_OF_HEADERS.has(name)) break;
    let type = TUNNEL_LAYERS.get(name);
    if (type === "gre" && ERSPAN_PROTOCOLS.has(Number(greProtocols[gres++]))) type = "erspan";
    if (name === "erspan" && found.at(-1)?.type === "erspan") {
      found[found.length - 1] = { type: "erspan", at: i };
    } else if (type !== undefined) {
      found.push({ type, at: i });
    } else if (
      (name === "ip" || name === "ipv6") && (lastNetwork === "ip" || lastNetwork === "ipv6")
    ) {
      found.push({ type: "ipip", at: i });
    }
    if (!IPV6_EXTENSION_LAYERS.has(name)) lastNetwork = name;
  }
  return found;
}

/**
 * Reads tshark's row of one frame as the record of its inner packet. With
 * `depth`, only that many encapsulations count: the view of a frame whose
 * deeper tunnel header was cut off, where we stop and flag it while tshark
 * shows the layer it could not read.
 */
export function tsharkTunnelView(row: TsharkRow, depth = Infinity): TsharkTunnelView {
  const all = (field: string): readonly string[] => row.get(field) ?? [];
  const layers = (all("frame.protocols")[0] ?? "").split(":");
  const nth = (name: string, before: number) =>
    layers.slice(0, before).filter((l) => l === name).length;
  const num = (text: string | undefined) => text === undefined ? undefined : Number(text);
  const tunnels = tunnelLayers(layers, all("gre.proto")).slice(0, depth);
  const last = tunnels.at(-1);
  if (last === undefined) {
    return { tunnelType: null, tunnelSrcIp: null, tunnelDstIp: null, tunnelId: null };
  }
  const view: TsharkTunnelView = {
    tunnelType: last.type,
    tunnelSrcIp: null,
    tunnelDstIp: null,
    tunnelId: null,
  };
  // The outermost IP header, when it is outside the innermost tunnel.
  const outer = layers.findIndex((l) => l === "ip" || l === "ipv6");
  if (outer >= 0 && outer < last.at) {
    const prefix = layers[outer] === "ip" ? "ip" : "ipv6";
    view.tunnelSrcIp = all(`${prefix}.src`)[0] ?? null;
    view.tunnelDstIp = all(`${prefix}.dst`)[0] ?? null;
  }
  const id = (field: string, layer: string) => num(all(field)[nth(layer, last.at)]) ?? null;
  switch (last.type) {
    case "vxlan":
      view.tunnelId = id("vxlan.vni", "vxlan");
      break;
    case "geneve":
      view.tunnelId = id("geneve.vni", "geneve");
      break;
    case "gtpu":
      view.tunnelId = id("gtp.teid", "gtp");
      break;
    case "pppoe":
      view.tunnelId = id("pppoe.session_id", "pppoes");
      break;
    case "erspan": {
      // Only ERSPAN sent with a GRE sequence number (types II, III) has a
      // header and a session id; its index counts such GREs before it.
      if (layers[last.at] !== "erspan") break;
      const sequenced = all("gre.flags.sequence_number").map((flag) =>
        flag === "1" || flag === "True"
      );
      const protocols = all("gre.proto").map(Number);
      const carrier = nth("gre", last.at) - 1;
      if (!sequenced[carrier]) break;
      let index = 0;
      for (let g = 0; g < carrier; g++) {
        if (ERSPAN_PROTOCOLS.has(protocols[g]) && sequenced[g]) index++;
      }
      view.tunnelId = num(all("erspan.spanid")[index]) ?? null;
      break;
    }
    case "gre": {
      // Only a GRE with the K bit has a key: its index counts the keyed GREs before it.
      const keyed = all("gre.flags.key").map((flag) => flag === "1" || flag === "True");
      const index = nth("gre", last.at);
      if (keyed[index]) {
        const keys = all("gre.key").length > 0 ? all("gre.key") : all("gre.key.call_id");
        view.tunnelId = num(keys[keyed.slice(0, index).filter(Boolean).length]) ?? null;
      }
      break;
    }
    case "mpls": {
      // One `mpls` layer per label stack; its bottom label is the stack's n-th S bit.
      const stack = nth("mpls", last.at);
      const bottoms = all("mpls.bottom");
      let seen = -1;
      for (let i = 0; i < bottoms.length; i++) {
        if (bottoms[i] === "1" || bottoms[i].toLowerCase() === "true") seen++;
        if (seen === stack) {
          view.tunnelId = num(all("mpls.label")[i]) ?? null;
          break;
        }
      }
      break;
    }
  }

  // The inner packet: the first network layer from the innermost tunnel on.
  const network = layers.findIndex((l, i) => i >= last.at && NETWORK_LAYERS.has(l));
  const eth = layers.findIndex((l, i) => i > last.at && l === "eth");
  if (eth >= 0 && (network < 0 || eth < network)) {
    view.ethSrc = all("eth.src")[nth("eth", eth)];
    view.ethDst = all("eth.dst")[nth("eth", eth)];
  }
  if (network < 0) return view;
  const name = layers[network];
  const k = nth(name, network);
  if (name === "arp") {
    // tshark reads the address fields of DRARP and other rare opcodes
    // differently; these mean the same (as in compareWithTshark()).
    if ([1, 2, 3, 4, 8, 9].includes(num(all("arp.opcode")[k]) ?? 0)) {
      view.srcIp = all("arp.src.proto_ipv4")[k];
      view.dstIp = all("arp.dst.proto_ipv4")[k];
    }
    return view;
  }
  const prefix = name === "ip" ? "ip" : "ipv6";
  view.srcIp = all(`${prefix}.src`)[k];
  view.dstIp = all(`${prefix}.dst`)[k];
  let transport = network + 1;
  while (IPV6_EXTENSION_LAYERS.has(layers[transport])) transport++;
  const next = layers[transport];
  if (name === "ip") view.ipProto = num(all("ip.proto")[k]);
  else if (transport === network + 1) view.ipProto = num(all("ipv6.nxt")[k]);
  if (next === "tcp" || next === "udp" || next === "sctp") {
    const j = nth(next, transport);
    view.srcPort = num(all(`${next}.srcport`)[j]);
    view.dstPort = num(all(`${next}.dstport`)[j]);
    view.ipProto ??= { tcp: 6, udp: 17, sctp: 132 }[next];
  }
  return view;
}

/**
 * Compares a tunnelled record with tshark's view of its frame and returns a
 * message per mismatch. A field tshark shows must match; a field it leaves
 * out must be null in ours unless we flagged the frame malformed (then we
 * may have read more than tshark shows).
 */
export function compareTunnelWithTshark(
  frameNumber: number,
  record: PacketRecord,
  row: TsharkRow,
): string[] {
  const problems: string[] = [];
  // A frame we flagged may hold deeper tunnels tshark shows but could not
  // read: compare with tshark's view at the depth we reached.
  const theirs = tsharkTunnelView(row, record.malformed ? record.tunnel_depth : Infinity);
  const check = (field: string, ours: unknown, expected: unknown): void => {
    if (expected === null || expected === undefined) {
      if (ours !== null && ours !== undefined && !record.malformed) {
        problems.push(`frame ${frameNumber} ${field}: decoded ${ours}, tshark has none`);
      }
      return;
    }
    if (ours !== expected) {
      problems.push(`frame ${frameNumber} ${field}: decoded ${ours}, tshark ${expected}`);
    }
  };
  if (theirs.tunnelType === null) {
    if (record.tunnel_type !== null) {
      problems.push(
        `frame ${frameNumber} tunnel_type: decoded ${record.tunnel_type}, tshark shows no tunnel`,
      );
    }
    return problems;
  }
  check("tunnel_type", record.tunnel_type, theirs.tunnelType);
  check("tunnel_src_ip", record.tunnel_src_ip, theirs.tunnelSrcIp);
  check("tunnel_dst_ip", record.tunnel_dst_ip, theirs.tunnelDstIp);
  check("tunnel_id", record.tunnel_id, theirs.tunnelId);
  if (theirs.ethSrc !== undefined) check("eth_src", record.eth_src, theirs.ethSrc);
  if (theirs.ethDst !== undefined) check("eth_dst", record.eth_dst, theirs.ethDst);
  const rareArp = record.protocol === "ARP" && ![1, 2, 3, 4, 8, 9].includes(record.arp_opcode ?? 0);
  if (!rareArp) {
    check("src_ip", record.src_ip, theirs.srcIp);
    check("dst_ip", record.dst_ip, theirs.dstIp);
  }
  if (theirs.ipProto !== undefined) {
    check("ip_proto", record.ip_proto, theirs.ipProto);
    check("protocol", record.protocol, ipProtocolName(theirs.ipProto));
  }
  if (!record.is_fragment) {
    check("src_port", record.src_port, theirs.srcPort);
    check("dst_port", record.dst_port, theirs.dstPort);
  }
  return problems;
}
