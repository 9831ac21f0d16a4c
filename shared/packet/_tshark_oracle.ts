/**
 * Test support: runs or loads tshark's decoding of a capture and compares it
 * field by field with ours. Used by the oracle tests only.
 *
 * @module
 */

import type { CaptureFileFrame } from "../pcap/capture_file_frame.ts";
import type { PacketRecord } from "./packet_record.ts";
import { ipProtocolName } from "./ip_protocols.ts";
import { compareTunnelWithTshark } from "./_tshark_tunnel_oracle.ts";

/** tshark preferences that make values per packet (also in make_captures.sh). */
export const TSHARK_OPTIONS: readonly string[] = [
  "-o",
  "tcp.relative_sequence_numbers:FALSE",
  "-o",
  "tcp.analyze_sequence_numbers:FALSE",
  "-o",
  "ip.defragment:FALSE",
  "-o",
  "ipv6.defragment:FALSE",
];

/** One frame of tshark output: every field's occurrences, outermost first. */
export type TsharkRow = ReadonlyMap<string, readonly string[]>;

/** Parses `tshark -T fields -E header=y -E occurrence=a` output. */
export function parseTsharkTsv(text: string): TsharkRow[] {
  const lines = text.split("\n").filter((line) => line.length > 0);
  const header = lines[0].split("\t");
  return lines.slice(1).map((line) => {
    const cells = line.split("\t");
    const row = new Map<string, string[]>();
    header.forEach((field, i) => {
      const cell = cells[i] ?? "";
      row.set(field, cell === "" ? [] : cell.split(","));
    });
    return row;
  });
}

export { tsharkAvailable } from "../testing/tshark_conversations.ts";

/** Runs tshark on a capture with the oracle's fields and options. */
export async function runTshark(
  path: string,
  fields: readonly string[],
): Promise<string> {
  const output = await new Deno.Command("tshark", {
    args: [
      "-n",
      "-r",
      path,
      "-T",
      "fields",
      "-E",
      "header=y",
      "-E",
      "separator=/t",
      "-E",
      "occurrence=a",
      "-E",
      "aggregator=,",
      ...TSHARK_OPTIONS,
      ...fields.flatMap((field) => ["-e", field]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `tshark failed on ${path}: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

const LINK_LAYERS = new Set([
  "eth",
  "sll",
  "null",
  "raw",
  "ethertype",
  "vlan",
  "ieee8021ad",
  "nflog",
  "pflog",
  "radiotap",
  "wlan_radio",
  "wlan",
  "llc",
  "ppp",
  "chdlc",
]);
/** tshark's first layer for the 802.11 link types, whose SA and DA are our MACs. */
const WLAN_LINKS = new Set(["wlan", "radiotap"]);
const NEXT_LAYER_ETHERTYPE = new Map([["ip", 0x0800], ["ipv6", 0x86dd], ["arp", 0x0806]]);
const IPV6_EXTENSION_LAYERS = new Set([
  "ipv6.hopopts",
  "ipv6.dstopts",
  "ipv6.routing",
  "ipv6.fraghdr",
  "ah",
]);
/** Extension-header protocol numbers and the tshark field holding their next header. */
const NEXT_HEADER_FIELD = new Map<number, string>([
  [0, "ipv6.hopopts.nxt"],
  [43, "ipv6.routing.nxt"],
  [44, "ipv6.fraghdr.nxt"],
  [51, "ah.next_header"],
  [60, "ipv6.dstopts.nxt"],
]);
/**
 * Layers whose header we decode: tshark finding them short or malformed means
 * we must too. (SCTP, ICMP, ICMPv6 and IPv6 routing headers are left out:
 * tshark's complaints there are about chunks, message bodies and routing
 * data, and we read only the fixed header.)
 */
const DECODED_LAYERS =
  /^\[(Malformed Packet|Packet size limited during capture): (IPv4|IPv6|IPv6 (?:Hop-by-Hop|Destination|Fragment)[\w ]*?|TCP|UDP|ARP|802\.1Q Virtual LAN|Linux cooked-mode capture(?: v2)?|Null\/Loopback|NFLOG|PFLOG|IEEE 802\.11|Radiotap|PPP|Cisco HDLC)(?: truncated)?\]$/;
/** The last field tshark reads of each header: present means the header was captured. */
const LAST_HEADER_FIELD = new Map([
  ["IPv4", "ip.dst"],
  ["IPv6", "ipv6.dst"],
  ["TCP", "tcp.window_size_value"],
  ["UDP", "udp.length"],
  ["ARP", "arp.dst.proto_ipv4"],
  ["802.1Q Virtual LAN", "vlan.etype"],
]);
/** tshark's "Warning" severity; it warns, not errs, on e.g. an IPv6 length past the frame. */
const EXPERT_WARN = 0x00600000;
/**
 * Our reasons that tshark passes over without any expert info: a raw-IP
 * frame of unknown version (tshark shows data), an IPv6 header under an IPv4
 * link type or EtherType (tshark decodes it as IPv6).
 */
const TSHARK_SILENT = new Set(["raw: bad IP version", "ipv4: bad version"]);
const EXPERT_GROUP_MALFORMED = 0x07000000;
const EXPERT_GROUP_PROTOCOL = 0x09000000;

/** Parses a tshark number: decimal or `0x` hex. */
function num(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`tshark value is not a number: ${text}`);
  return value;
}

/** tshark prints booleans as 1/0 (4.0) or True/False (4.2+). */
function bool(text: string | undefined): boolean | null {
  if (text === undefined) return null;
  return text === "1" || text.toLowerCase() === "true";
}

/** Epoch nanoseconds from tshark's `frame.time_epoch` (`sec.nnnnnnnnn`). */
function epochNs(text: string | undefined): bigint {
  if (text === undefined) return 0n;
  const [sec, frac = ""] = text.split(".");
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, "0").slice(0, 9));
}

/**
 * Compares one decoded frame with tshark's view of it and returns a message
 * per mismatch (empty when they agree). A field tshark reports must match
 * exactly. A field tshark leaves out must be null in ours, unless we flagged
 * the packet malformed (then we may have read more than tshark shows).
 * Fields of layers nested inside ICMP errors are tshark's inner packets and
 * are not compared; a record of a tunnelled packet is compared with tshark's
 * inner packet by `compareTunnelWithTshark()`.
 */
export function compareWithTshark(
  frameNumber: number,
  frame: CaptureFileFrame,
  record: PacketRecord,
  row: TsharkRow,
): string[] {
  const problems: string[] = [];
  const all = (field: string): readonly string[] => row.get(field) ?? [];
  const first = (field: string): string | undefined => all(field)[0];
  const check = (field: string, ours: unknown, theirs: unknown): void => {
    if (theirs === null || theirs === undefined) {
      if (ours !== null && ours !== undefined && !record.malformed) {
        problems.push(
          `frame ${frameNumber} ${field}: decoded ${ours}, tshark has none`,
        );
      }
      return;
    }
    if (ours !== theirs) {
      problems.push(
        `frame ${frameNumber} ${field}: decoded ${ours}, tshark ${theirs}`,
      );
    }
  };

  // Capture metadata.
  check("timestampNs", frame.timestampNs, epochNs(first("frame.time_epoch")));
  check("length", record.length, num(first("frame.len")));
  check("caplen", record.caplen, num(first("frame.cap_len")));
  const section = num(first("frame.section_number")) ?? 1;
  if (section === 1) {
    // tshark 4.0 numbers interfaces per section and then names them from
    // the first section, so only the first section is comparable.
    check("interfaceIndex", frame.interfaceIndex, num(first("frame.interface_id")) ?? 0);
    check("interfaceName", frame.interfaceName, first("frame.interface_name"));
  }

  // A tunnelled record describes the inner packet: compared on its own terms.
  if (record.tunnel_type !== null) {
    problems.push(...compareTunnelWithTshark(frameNumber, record, row));
    return problems;
  }

  // Link layer (an Ethernet header tshark finds further in is not ours).
  const layers = (first("frame.protocols") ?? "").split(":");
  const link = layers[0];
  const wlan = WLAN_LINKS.has(link);
  check(
    "eth_src",
    record.eth_src,
    link === "eth"
      ? first("eth.src")
      : link === "sll"
      ? first("sll.src.eth") ?? null
      : wlan
      ? first("wlan.sa") ?? null
      : null,
  );
  check(
    "eth_dst",
    record.eth_dst,
    link === "eth" ? first("eth.dst") : wlan ? first("wlan.da") ?? null : null,
  );
  // VLAN tags in tshark's layer order: `vlan` for 0x8100/0x9100, `ieee8021ad`
  // for 0x88a8, each with its own id list.
  const linkEnd = layers.findIndex((l, i) =>
    i > 0 && l !== "ethertype" && l !== "vlan" && l !== "ieee8021ad"
  );
  const tagLayers = layers.slice(0, linkEnd < 0 ? layers.length : linkEnd)
    .filter((l) => l === "vlan" || l === "ieee8021ad");
  // An 802.1ad layer shows one tag as `id`, or, when the next TPID is 0x88a8
  // too, two tags as `svid` and `cvid`; up to three tags this is unambiguous
  // if the two-tag form is consumed first.
  const taken = { vlan: 0, ieee8021ad: 0, pair: 0 };
  const vlans = tagLayers.flatMap((l) => {
    if (l === "vlan") return [num(all("vlan.id")[taken.vlan++])];
    if (taken.pair < all("ieee8021ad.svid").length) {
      const i = taken.pair++;
      return [num(all("ieee8021ad.svid")[i]), num(all("ieee8021ad.cvid")[i])];
    }
    return [num(all("ieee8021ad.id")[taken.ieee8021ad++])];
  });
  check("vlan_id", record.vlan_id, vlans[0] ?? null);
  check("vlan_inner_id", record.vlan_inner_id, vlans[1] ?? null);
  // Cisco HDLC (also inside a PPP_HDLC frame) and 802.11's LLC/SNAP carry an EtherType.
  let etherType: number | null | undefined = link === "eth"
    ? num(first("eth.type"))
    : link === "sll"
    ? num(first("sll.etype"))
    : layers.slice(0, 2).includes("chdlc")
    ? num(first("chdlc.protocol"))
    : wlan
    ? num(first("llc.type"))
    : null;
  if (tagLayers.length > 0) {
    // The type after the last tag: vlan.etype carries it; tshark has no field
    // for the type after an 802.1ad tag, so it is read off the next layer.
    etherType = tagLayers.at(-1) === "vlan"
      ? num(all("vlan.etype")[taken.vlan - 1])
      : NEXT_LAYER_ETHERTYPE.get(layers[linkEnd]);
  }
  if (etherType !== undefined) check("ether_type", record.ether_type, etherType);

  // Network layer: IP or ARP right after the link layer (eth/sll/null/raw,
  // EtherType, VLAN tags). IP further in (MPLS, PPPoE, …) is not ours.
  let at = layers.findIndex((l) => !LINK_LAYERS.has(l));
  let network = ["ip", "ipv6", "arp"].includes(layers[at]) ? layers[at] : undefined;
  if (network === "ip" && num(first("ip.version")) === 6 && layers[at + 1] === "ipv6") {
    network = "ipv6"; // an IPv4 EtherType with a version-6 header
    at++;
  }
  at++;
  let extensionHeaders = 0;
  while (network === "ipv6" && IPV6_EXTENSION_LAYERS.has(layers[at])) {
    at++;
    extensionHeaders++;
  }
  const transport = network === "ip" || network === "ipv6" ? layers[at] : undefined;

  let fragment = false;
  let ipPayload: number | null = null;
  let moreFragments = false;
  if (network === "ip") {
    check("ip_version", record.ip_version, 4);
    check("src_ip", record.src_ip, first("ip.src") ?? null);
    check("dst_ip", record.dst_ip, first("ip.dst") ?? null);
    check("ttl", record.ttl, num(first("ip.ttl")));
    check("ip_id", record.ip_id, num(first("ip.id")));
    check("ip_proto", record.ip_proto, num(first("ip.proto")));
    check("ip_tos", record.ip_tos, num(first("ip.dsfield")));
    check("ip_header_length", record.ip_header_length, num(first("ip.hdr_len")));
    check("dont_fragment", record.dont_fragment, bool(first("ip.flags.df")));
    moreFragments = bool(first("ip.flags.mf")) ?? false;
    check("more_fragments", record.more_fragments, bool(first("ip.flags.mf")));
    const units = num(first("ip.frag_offset"));
    check("frag_offset", record.frag_offset, units === null ? null : units * 8);
    fragment = (units ?? 0) > 0;
    const total = num(first("ip.len"));
    const header = num(first("ip.hdr_len"));
    if (total !== null && header !== null) ipPayload = total - header;
    const proto = num(first("ip.proto"));
    if (proto !== null) check("protocol", record.protocol, ipProtocolName(proto));
    check("ip_flow_label", record.ip_flow_label, null);
  } else if (network === "ipv6") {
    check("ip_version", record.ip_version, 6);
    check("src_ip", record.src_ip, first("ipv6.src") ?? null);
    check("dst_ip", record.dst_ip, first("ipv6.dst") ?? null);
    check("ttl", record.ttl, num(first("ipv6.hlim")));
    check("ip_tos", record.ip_tos, num(first("ipv6.tclass")));
    check("ip_flow_label", record.ip_flow_label, num(first("ipv6.flow")));
    // Walk the next-header chain through the extension headers tshark saw.
    let next = num(first("ipv6.nxt"));
    const used = new Map<string, number>();
    for (let hops = 0; hops < extensionHeaders && next !== null; hops++) {
      const field = NEXT_HEADER_FIELD.get(next);
      if (field === undefined) break;
      const index = used.get(field) ?? 0;
      used.set(field, index + 1);
      next = num(all(field)[index]);
    }
    check("ip_proto", record.ip_proto, next);
    if (next !== null) check("protocol", record.protocol, ipProtocolName(next));
    const fragmentUnits = layers.includes("ipv6.fraghdr")
      ? num(first("ipv6.fraghdr.offset"))
      : null;
    if (fragmentUnits !== null) {
      moreFragments = bool(first("ipv6.fraghdr.more")) ?? false;
      check("ip_id", record.ip_id, num(first("ipv6.fraghdr.ident")));
      check("frag_offset", record.frag_offset, fragmentUnits * 8);
      check("more_fragments", record.more_fragments, moreFragments);
      fragment = fragmentUnits > 0;
    } else {
      check("ip_id", record.ip_id, null);
      check("more_fragments", record.more_fragments, false);
      // Only a complete fixed header lets us say there is no fragment header.
      if (first("ipv6.dst") !== undefined) check("frag_offset", record.frag_offset, 0);
    }
    check("dont_fragment", record.dont_fragment, false);
    const plen = num(first("ipv6.plen"));
    if (extensionHeaders === 0 && plen !== null && first("ipv6.dst") !== undefined) {
      check("ip_header_length", record.ip_header_length, 40);
      ipPayload = plen;
    } else if (plen !== null && !record.malformed && !fragment) {
      if (transport === "tcp" && all("tcp.len").length > 0) {
        check(
          "ip_header_length",
          record.ip_header_length,
          40 + plen - num(first("tcp.hdr_len"))! - num(first("tcp.len"))!,
        );
      } else if (transport === "udp" && !moreFragments) {
        check("ip_header_length", record.ip_header_length, 40 + plen - num(first("udp.length"))!);
      }
    }
  } else {
    check("ip_version", record.ip_version, null);
    check("ip_proto", record.ip_proto, null);
    check("ttl", record.ttl, null);
    if (network === "arp") {
      check("protocol", record.protocol, etherType === 0x8035 ? "RARP" : "ARP");
      const opcode = num(first("arp.opcode"));
      check("arp_opcode", record.arp_opcode, opcode);
      // tshark reads the address fields differently for DRARP and other
      // opcodes; the sender/target addresses mean the same for these.
      if ([1, 2, 3, 4, 8, 9].includes(opcode ?? 0)) {
        check("src_ip", record.src_ip, first("arp.src.proto_ipv4") ?? null);
        check("dst_ip", record.dst_ip, first("arp.dst.proto_ipv4") ?? null);
      }
      check("payload_length", record.payload_length, 0);
    } else {
      check("src_ip", record.src_ip, null);
      check("dst_ip", record.dst_ip, null);
      if (all("eth.type").length === 0 && all("eth.len").length + all("eth.src").length > 0) {
        check("protocol", record.protocol, "LLC");
      }
    }
  }
  if (network !== "arp") check("arp_opcode", record.arp_opcode, null);
  check("is_fragment", record.is_fragment, fragment);

  // Transport layer, only when it is the outer packet's (not inside an ICMP
  // error or a tunnel) and this is not a later fragment.
  const tcp = transport === "tcp" && !fragment;
  const udp = transport === "udp" && !fragment;
  const sctp = transport === "sctp" && !fragment;
  const icmp = transport === "icmp" && !fragment;
  const icmp6 = transport === "icmpv6" && !fragment;
  const port = (tcpField: string, udpField: string, sctpField: string) =>
    tcp ? num(first(tcpField)) : udp ? num(first(udpField)) : sctp ? num(first(sctpField)) : null;
  check("src_port", record.src_port, port("tcp.srcport", "udp.srcport", "sctp.srcport"));
  check("dst_port", record.dst_port, port("tcp.dstport", "udp.dstport", "sctp.dstport"));
  check("tcp_seq", record.tcp_seq, tcp ? num(first("tcp.seq")) : null);
  check("tcp_ack", record.tcp_ack, tcp ? num(first("tcp.ack")) : null);
  const flags = tcp ? num(first("tcp.flags")) : null;
  check("tcp_flags", record.tcp_flags, flags === null ? null : flags & 0xff);
  check("tcp_window", record.tcp_window, tcp ? num(first("tcp.window_size_value")) : null);
  check("tcp_header_length", record.tcp_header_length, tcp ? num(first("tcp.hdr_len")) : null);
  // tshark shows nothing of an ICMP message cut short, where we keep the
  // type and code that were captured.
  const icmpCut = [...all("_ws.short")].some((l) => /: ICMP(v6)? truncated/.test(l));
  const type = icmp ? num(first("icmp.type")) : icmp6 ? num(first("icmpv6.type")) : null;
  const code = icmp ? num(first("icmp.code")) : icmp6 ? num(first("icmpv6.code")) : null;
  if (!icmpCut || type !== null) check("icmp_type", record.icmp_type, type);
  if (!icmpCut || code !== null) check("icmp_code", record.icmp_code, code);
  const echo = (icmp && (type === 0 || type === 8)) || (icmp6 && (type === 128 || type === 129));
  check(
    "icmp_id",
    record.icmp_id,
    echo ? num(first(icmp ? "icmp.ident" : "icmpv6.echo.identifier")) : null,
  );
  check(
    "icmp_seq",
    record.icmp_seq,
    echo ? num(first(icmp ? "icmp.seq" : "icmpv6.echo.sequence_number")) : null,
  );

  // Payload length per the headers, where tshark's fields pin it down.
  if (!record.malformed) {
    let expected: number | null = null;
    if (tcp) expected = num(first("tcp.len"));
    else if (udp && !moreFragments) expected = num(first("udp.length"))! - 8;
    else if ((udp || icmp || icmp6) && ipPayload !== null) expected = ipPayload - 8;
    else if (sctp && ipPayload !== null) expected = ipPayload - 12;
    else if (network === "ip" || (network === "ipv6" && extensionHeaders === 0)) {
      expected = ipPayload;
    }
    if (expected !== null) check("payload_length", record.payload_length, expected);
  }

  // Malformed: tshark finding one of our layers malformed, or cut short
  // before the end of its header, means we must flag it too.
  const count = (name: string) => layers.filter((l) => l === name).length;
  const header = (label: string): boolean => {
    const match = DECODED_LAYERS.exec(label);
    if (match === null) return false;
    const layer = match[2];
    // Only when the layer is the outer packet's: not a tunnel's or an ICMP
    // error's inner copy, and extension headers only on IPv6.
    if (layer === "IPv4" && (network !== "ip" || count("ip") + count("ipv6") > 1)) return false;
    if (layer === "IPv6" && (network !== "ipv6" || count("ip") + count("ipv6") > 1)) return false;
    if ((layer === "TCP" || layer === "UDP") && transport !== layer.toLowerCase()) return false;
    if (layer === "TCP" && count("tcp") > 1 || layer === "UDP" && count("udp") > 1) return false;
    if (layer.startsWith("IPv6 ") && (network !== "ipv6" || extensionHeaders === 0)) return false;
    // tshark 4.0 tries the transport dissector on an empty later fragment,
    // and reads a first fragment's payload as if it were header.
    if ((fragment || moreFragments) && (layer === "TCP" || layer === "UDP")) return false;
    if (match[1] === "Malformed Packet") return true;
    // Cut by the snap length: only if the header itself was cut, which shows
    // as its last field missing (tshark also says "truncated" for a payload).
    const last = LAST_HEADER_FIELD.get(layer);
    if (last !== undefined) return all(last).length === 0;
    return true;
  };
  const labels = [...all("_ws.malformed"), ...all("_ws.short")];
  if (labels.some(header) && !record.malformed) {
    problems.push(
      `frame ${frameNumber} malformed: decoded false, tshark ${labels.join(" ")}`,
    );
  }
  // DRARP and other rare ARP opcodes reuse the address fields, so tshark's
  // idea of where such a packet ends is not ours.
  const rareArp = network === "arp" && ![1, 2, 3, 4, 8, 9].includes(record.arp_opcode ?? 0);
  if (record.malformed && !rareArp && !TSHARK_SILENT.has(record.malformed_reason!)) {
    const severities = all("_ws.expert.severity").map((t) => num(t)!);
    const groups = all("_ws.expert.group").map((t) => num(t)!);
    const headerError = severities.some((severity, i) =>
      severity >= EXPERT_WARN &&
      (groups[i] === EXPERT_GROUP_MALFORMED || groups[i] === EXPERT_GROUP_PROTOCOL)
    );
    if (!headerError && all("_ws.short").length === 0) {
      problems.push(
        `frame ${frameNumber} malformed: decoded true (${record.malformed_reason}), tshark saw no header error`,
      );
    }
  }
  return problems;
}
