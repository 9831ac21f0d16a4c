/**
 * The done-when check of application-layer metadata, through the real
 * pipeline: every public capture of the team kit (`pcaps/`) is read by the
 * agent's pipeline (decode, extraction at the edge, PAYLOAD_CAPTURE=none,
 * the records as they are sent), its records are folded into flows by the
 * aggregator's flow table, and each flow's fields are compared with tshark's
 * first value in the same TCP/UDP stream. For DNS, TLS, QUIC, HTTP and SSH,
 * at least 98 % of the flows where tshark finds the field must agree; the
 * figure is printed per protocol, with the first disagreements.
 *
 * Set `TSHARK_CACHE_DIR` to keep tshark's output between runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type FlowRecord, FlowTable } from "@traffic-analyzer/shared/flow";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import type { PacketRecord } from "@traffic-analyzer/shared/packet";
import { findTeamKit, teamKitSkipReason } from "../shared/testing/team_kit.ts";
import {
  firstSkipReason,
  missingToolsReason,
  needs,
  TSHARK,
} from "@traffic-analyzer/shared/testing/test_tools";
import { tsharkFields, type TsharkFrame } from "../shared/app_layer/_tshark_fields.ts";
import { OracleTally } from "../shared/app_layer/_oracle.ts";
import type { PacketBatch } from "./batcher.ts";
import type { BatchSink } from "./delivery.ts";
import { runPipeline } from "./pipeline.ts";
import { recordsOf } from "./_test_support.ts";

const REQUIRED_SHARE = 0.98;
const HTTP_MAX_PATH = 512;

const kit = findTeamKit();

const FIELDS = [
  "frame.protocols",
  "frame.time_epoch",
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "tcp.srcport",
  "tcp.dstport",
  "udp.srcport",
  "udp.dstport",
  "tcp.stream",
  "udp.stream",
  "dns.qry.name",
  "tls.handshake.type",
  "tls.handshake.extensions_server_name",
  "tls.handshake.ja3",
  "http.request.method",
  "http.host",
  "http.request.uri",
  "http.user_agent",
  "ssh.protocol",
];

/** Records of the agent's pipeline over a capture, with extraction on and no payloads. */
async function pipelineRecords(path: string): Promise<PacketRecord[]> {
  const records: PacketRecord[] = [];
  const sink: BatchSink = {
    submit(batch: PacketBatch) {
      // The batch's columns are reused for the next: read them now.
      for (const record of recordsOf(batch)) records.push(record);
      return Promise.resolve();
    },
  };
  await runPipeline({
    frames: readCaptureBatches(path),
    sink,
    batchSize: 5000,
    batchTimeoutMs: Infinity,
    agentId: "oracle",
    payloadCapture: "none",
  });
  return records;
}

/** The flows the aggregator's flow table makes of them. */
function flowsOf(records: PacketRecord[]): FlowRecord[] {
  const sorted = records.filter((r) => Number.isFinite(r.timestamp))
    .sort((a, b) => a.timestamp - b.timestamp);
  const table = new FlowTable();
  const flows = table.mergeEnded(sorted);
  for (const flow of table.drain()) flows.push(flow);
  return flows;
}

const all = (row: TsharkFrame, field: string) => row.get(field) ?? [];
const first = (row: TsharkFrame, field: string) => all(row, field)[0] ?? null;
const last = (row: TsharkFrame, field: string) => all(row, field).at(-1) ?? null;

/** One tshark stream's endpoints (innermost) and the first values of each field. */
interface Stream {
  kind: "tcp" | "udp";
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  firstSec: number;
  where: string;
  dns: string | null;
  tls: { sni: string | null; ja3: string | null } | null;
  quic: { sni: string | null } | null;
  http: { method: string; host: string | null; path: string | null; ua: string | null } | null;
  sshClient: string | null;
  sshServer: string | null;
}

/** tshark's streams of a capture, with the first value of each field in each. */
function tsharkStreams(name: string, rows: ReadonlyMap<number, TsharkFrame>): Stream[] {
  const streams = new Map<string, Stream>();
  for (const [frame, row] of rows) {
    const layers = (first(row, "frame.protocols") ?? "").split(":");
    // Packets quoted in ICMP errors are not their stream's packets.
    if (layers.includes("icmp") || layers.includes("icmpv6")) continue;
    const transports = layers.filter((layer) => layer === "tcp" || layer === "udp");
    const kind = transports.at(-1) as "tcp" | "udp" | undefined;
    if (kind === undefined) continue;
    const stream = last(row, `${kind}.stream`);
    const srcIp = last(row, "ipv6.src") !== null && layers.lastIndexOf("ipv6") >
        layers.lastIndexOf("ip")
      ? last(row, "ipv6.src")
      : last(row, "ip.src");
    const dstIp = layers.lastIndexOf("ipv6") > layers.lastIndexOf("ip")
      ? last(row, "ipv6.dst")
      : last(row, "ip.dst");
    if (stream === null || srcIp === null || dstIp === null) continue;
    const srcPort = Number(last(row, `${kind}.srcport`));
    const dstPort = Number(last(row, `${kind}.dstport`));
    const key = `${kind}/${stream}`;
    let s = streams.get(key);
    if (s === undefined) {
      s = {
        kind,
        srcIp,
        srcPort,
        dstIp,
        dstPort,
        firstSec: Number(first(row, "frame.time_epoch")),
        where: `${name}#${frame} ${key}`,
        dns: null,
        tls: null,
        quic: null,
        http: null,
        sshClient: null,
        sshServer: null,
      };
      streams.set(key, s);
    }
    if (layers.includes("dns") && s.dns === null) s.dns = first(row, "dns.qry.name");
    const hello = all(row, "tls.handshake.type")[0] === "1";
    if (hello && layers.includes("quic")) {
      s.quic ??= { sni: first(row, "tls.handshake.extensions_server_name") };
    } else if (hello && layers.includes("tls")) {
      s.tls ??= {
        sni: first(row, "tls.handshake.extensions_server_name"),
        ja3: first(row, "tls.handshake.ja3"),
      };
    }
    const method = first(row, "http.request.method");
    if (method !== null && layers.includes("http")) {
      s.http ??= {
        method,
        host: first(row, "http.host"),
        path: first(row, "http.request.uri")?.slice(0, HTTP_MAX_PATH) ?? null,
        ua: first(row, "http.user_agent"),
      };
    }
    const banner = first(row, "ssh.protocol");
    if (banner !== null) {
      // The stream's first packet's sender stands for the client here; the
      // flow's own originator decides below.
      if (srcIp === s.srcIp && srcPort === s.srcPort) s.sshClient ??= banner;
      else s.sshServer ??= banner;
    }
  }
  return [...streams.values()];
}

/** Our flow for a tshark stream: same endpoints, the one whose time span holds its start. */
function flowFinder(flows: readonly FlowRecord[]) {
  const byTuple = new Map<string, FlowRecord[]>();
  const tuple = (kind: string, a: string, ap: number, b: string, bp: number) =>
    a < b || (a === b && ap <= bp)
      ? `${kind}|${a}|${ap}|${b}|${bp}`
      : `${kind}|${b}|${bp}|${a}|${ap}`;
  for (const flow of flows) {
    if (flow.orig_ip === null || flow.resp_ip === null) continue;
    const kind = flow.ip_proto === 6 ? "tcp" : flow.ip_proto === 17 ? "udp" : null;
    if (kind === null) continue;
    const key = tuple(kind, flow.orig_ip, flow.orig_port ?? -1, flow.resp_ip, flow.resp_port ?? -1);
    const list = byTuple.get(key) ?? [];
    list.push(flow);
    byTuple.set(key, list);
  }
  return (s: Stream): FlowRecord | null => {
    const list = byTuple.get(tuple(s.kind, s.srcIp, s.srcPort, s.dstIp, s.dstPort));
    if (list === undefined) return null;
    let best: FlowRecord | null = null;
    let bestGap = Infinity;
    for (const flow of list) {
      const gap = s.firstSec < flow.first_seen
        ? flow.first_seen - s.firstSec
        : s.firstSec > flow.last_seen
        ? s.firstSec - flow.last_seen
        : 0;
      if (gap < bestGap) {
        best = flow;
        bestGap = gap;
      }
    }
    return best;
  };
}

type Problem = { field: string; ours: unknown; tshark: unknown };
const compare = (problems: Problem[], field: string, ours: unknown, tshark: unknown) => {
  if (JSON.stringify(ours ?? null) !== JSON.stringify(tshark ?? null)) {
    problems.push({ field, ours, tshark });
  }
};

Deno.test({
  ...needs(
    firstSkipReason(teamKitSkipReason(kit), missingToolsReason([TSHARK])),
    "flows built from the agent's records carry tshark's DNS, TLS, QUIC, HTTP and SSH fields",
  ),
  sanitizeResources: false,
  fn: async () => {
    const tallies = {
      dns: new OracleTally("dns", "flows"),
      tls: new OracleTally("tls", "flows"),
      quic: new OracleTally("quic", "flows"),
      http: new OracleTally("http", "flows"),
      ssh: new OracleTally("ssh", "flows"),
    };
    const folder = `${kit}/pcaps`;
    const paths = [...Deno.readDirSync(folder)]
      .filter((entry) => entry.isFile && /\.(pcap|pcapng)$/.test(entry.name))
      .map((entry) => `${folder}/${entry.name}`).sort();
    assert.ok(paths.length > 0, `no captures in ${folder}`);
    for (const path of paths) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      const rows = await tsharkFields(path, FIELDS);
      const streams = tsharkStreams(name, rows).filter((s) =>
        s.dns !== null || s.tls !== null || s.quic !== null || s.http !== null ||
        s.sshClient !== null || s.sshServer !== null
      );
      if (streams.length === 0) continue;
      const find = flowFinder(flowsOf(await pipelineRecords(path)));
      for (const s of streams) {
        const flow = find(s);
        if (flow === null) {
          for (
            const [protocol, found] of Object.entries({ dns: s.dns, tls: s.tls, quic: s.quic })
          ) {
            if (found !== null) tallies[protocol as keyof typeof tallies].unreachable++;
          }
          if (s.http !== null) tallies.http.unreachable++;
          if (s.sshClient !== null || s.sshServer !== null) tallies.ssh.unreachable++;
          continue;
        }
        const app = flow.app;
        if (s.dns !== null) {
          const problems: Problem[] = [];
          compare(problems, "dns_query", app?.dns_query, s.dns);
          tallies.dns.record(s.where, problems);
        }
        if (s.tls !== null) {
          const problems: Problem[] = [];
          compare(problems, "tls_sni", app?.tls_sni, s.tls.sni);
          compare(problems, "tls_ja3", app?.tls_ja3, s.tls.ja3);
          tallies.tls.record(s.where, problems);
        }
        if (s.quic !== null) {
          const problems: Problem[] = [];
          compare(problems, "tls_sni", app?.tls_sni, s.quic.sni);
          tallies.quic.record(s.where, problems);
        }
        if (s.http !== null) {
          const problems: Problem[] = [];
          compare(problems, "http_method", app?.http_method, s.http.method);
          compare(problems, "http_host", app?.http_host, s.http.host);
          compare(problems, "http_path", app?.http_path, s.http.path);
          // tshark's field output cannot show an empty string.
          const ua = app?.http_user_agent === "" ? null : app?.http_user_agent;
          compare(problems, "http_user_agent", ua, s.http.ua);
          tallies.http.record(s.where, problems);
        }
        if (s.sshClient !== null || s.sshServer !== null) {
          // Banners by the flow's own originator and responder.
          const streamStarterIsOrig = flow.orig_ip === s.srcIp && flow.orig_port === s.srcPort;
          const fromOrig = streamStarterIsOrig ? s.sshClient : s.sshServer;
          const fromResp = streamStarterIsOrig ? s.sshServer : s.sshClient;
          const problems: Problem[] = [];
          if (fromOrig !== null) compare(problems, "ssh_client", app?.ssh_client, fromOrig);
          if (fromResp !== null) compare(problems, "ssh_server", app?.ssh_server, fromResp);
          tallies.ssh.record(s.where, problems);
        }
      }
    }
    const report = Object.values(tallies);
    console.log(report.map((tally) => tally.summary()).join("\n"));
    for (const tally of report) {
      if (tally.examples.length > 0) {
        console.log(`${tally.protocol} disagreements:\n  ${tally.examples.join("\n  ")}`);
      }
    }
    for (const tally of report) {
      assert.ok(tally.compared > 0, `tshark found no ${tally.protocol} in the kit's captures`);
      assert.ok(
        tally.share >= REQUIRED_SHARE,
        `${tally.protocol}: ${tally.agreed}/${tally.compared} flows agree with tshark, below ${REQUIRED_SHARE}`,
      );
    }
  },
});
