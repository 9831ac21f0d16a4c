/**
 * Test support: the DNS, mDNS and LLMNR parsers against tshark, packet by
 * packet.
 *
 * @module
 */

import { DNS_MAX_NAMES, parseDnsMessage, parseDnsOverTcp } from "./dns_message.ts";
import {
  compareField,
  hasLayer,
  type OracleCapture,
  type OracleCheck,
  OracleTally,
  reachesSameTransport,
} from "./_oracle.ts";
import type { TsharkFrame } from "./_tshark_fields.ts";

const TYPE_A = "1";
const TYPE_CNAME = "5";
const TYPE_AAAA = "28";

/** tshark's view of the first DNS message of a frame, as our fields. */
function tsharkDns(row: TsharkFrame) {
  const all = (field: string) => row.get(field) ?? [];
  const name = all("dns.qry.name")[0];
  const response = all("dns.flags.response")[0];
  const isResponse = response === "1" || response === "True";
  const answerCount = Number(all("dns.count.answers")[0] ?? 0);
  // tshark lists A, AAAA and CNAME data of every section in order; the
  // answer section's come first, and its record types say how many.
  const types = all("dns.resp.type").slice(0, answerCount);
  const a = [...all("dns.a")];
  const aaaa = [...all("dns.aaaa")];
  const cname = [...all("dns.cname")];
  const answers: string[] = [];
  const cnames: string[] = [];
  for (const type of types) {
    if (type === TYPE_A) answers.push(a.shift()!);
    else if (type === TYPE_AAAA) answers.push(aaaa.shift()!);
    else if (type === TYPE_CNAME) cnames.push(cname.shift()!);
  }
  return {
    dns_query: name === undefined ? null : name === "<Root>" ? "." : name,
    dns_qtype: all("dns.qry.type")[0] === undefined ? null : Number(all("dns.qry.type")[0]),
    dns_rcode: isResponse ? Number(all("dns.flags.rcode")[0]) : null,
    dns_answers: answers.filter((value) => value !== undefined),
    dns_cnames: cnames.filter((value) => value !== undefined),
    dns_ttl: types.length > 0 ? Number(all("dns.resp.ttl")[0]) : null,
    messages: all("dns.flags.response").length,
  };
}

/** A check per DNS-shaped protocol tshark names: dns, mdns, llmnr. */
export function dnsOracleChecks(): OracleCheck[] {
  return (["dns", "mdns", "llmnr"] as const).map((protocol) => {
    const tally = new OracleTally(protocol, "packets");
    return {
      tally,
      // Per packet, as the agent sees them: a fragmented response is read
      // from its first fragment, not from tshark's reassembly.
      preferences: ["ip.defragment:FALSE", "ipv6.defragment:FALSE"],
      fields: [
        "dns.qry.name",
        "dns.qry.type",
        "dns.flags.response",
        "dns.flags.opcode",
        "dns.flags.rcode",
        "dns.count.answers",
        "dns.resp.type",
        "dns.resp.ttl",
        "dns.resp.name",
        "dns.a",
        "dns.aaaa",
        "dns.cname",
      ],
      check({ name, packets, rows, extracted: extractedFrames }: OracleCapture) {
        const reached = new Set<number>();
        for (const packet of packets) {
          const row = rows.get(packet.frame);
          if (!hasLayer(row, protocol) || !reachesSameTransport(packet, row!)) continue;
          reached.add(packet.frame);
          const theirs = tsharkDns(row!);
          if (theirs.messages === 0) continue; // tshark found the layer but no header
          // tshark takes port 53 by port alone; an opcode DNS does not define
          // means the bytes are something else (the lab's UDP flood filler).
          const opcode = Number(row!.get("dns.flags.opcode")?.[0]);
          if (![0, 1, 2, 4, 5, 6].includes(opcode)) {
            tally.notTheProtocol++;
            continue;
          }
          const ours = packet.ipProto === 6
            ? parseDnsOverTcp(packet.payload)
            : parseDnsMessage(packet.payload);
          const problems: { field: string; ours: unknown; tshark: unknown }[] = [];
          if (ours === null) {
            problems.push({ field: "parsed", ours: null, tshark: theirs.dns_query });
          } else {
            compareField(problems, "dns_query", ours.dns_query, theirs.dns_query);
            compareField(problems, "dns_qtype", ours.dns_qtype, theirs.dns_qtype);
            compareField(problems, "dns_rcode", ours.dns_rcode, theirs.dns_rcode);
            // Several messages in one TCP segment: tshark's lists mix them.
            if (theirs.messages === 1) {
              compareField(problems, "dns_answers", ours.dns_answers, theirs.dns_answers);
              compareField(problems, "dns_cnames", ours.dns_cnames, theirs.dns_cnames);
              compareField(problems, "dns_ttl", ours.dns_ttl, theirs.dns_ttl);
            }
          }
          // What the extractor (the agent's path) made of the datagram: the
          // same protocol, and for mDNS/LLMNR every question and answer name.
          const extracted = extractedFrames.get(packet.frame);
          if (packet.ipProto === 17) {
            compareField(problems, "app_protocol", extracted?.app_protocol ?? null, protocol);
            if (protocol !== "dns" && extracted !== undefined && "dns_names" in extracted) {
              const answers = Number(row!.get("dns.count.answers")?.[0] ?? 0);
              const names = [
                ...(row!.get("dns.qry.name") ?? []),
                ...(row!.get("dns.resp.name") ?? []).slice(0, answers),
              ];
              const expected = [...new Set(names)].slice(0, DNS_MAX_NAMES);
              const missing = expected.filter((n) => !extracted.dns_names!.includes(n));
              if (missing.length > 0) {
                problems.push({ field: "dns_names", ours: extracted.dns_names, tshark: expected });
              }
            }
          }
          tally.record(`${name}#${packet.frame}`, problems);
        }
        for (const [frame, row] of rows) {
          if (hasLayer(row, protocol) && !reached.has(frame)) tally.unreachable++;
        }
      },
    };
  });
}
