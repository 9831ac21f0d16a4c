/**
 * Test support for the tshark oracle: how a protocol check compares our
 * parsers with tshark on one capture, and how agreement is tallied.
 *
 * @module
 */

import type { AppMetadata } from "./app_metadata.ts";
import { AppLayerExtractor } from "./app_layer_extractor.ts";
import type { TransportPayload } from "./_capture_payloads.ts";
import type { TsharkFrame } from "./_tshark_fields.ts";

/** Agreement counts of one protocol over all captures. */
export class OracleTally {
  /** Units (packets or flows) tshark found the protocol in and our decoder could reach. */
  compared = 0;
  /** Of those, units where every compared field agreed. */
  agreed = 0;
  /** Units tshark found behind headers our decoder does not reach (tunnels, ICMP quotes). */
  unreachable = 0;
  /** Units where we found the protocol and tshark did not (e.g. TLS on a port tshark does not try). */
  oursOnly = 0;
  /** Units tshark dissected as the protocol by port alone, whose bytes are not it (a flood's filler). */
  notTheProtocol = 0;
  /** Mismatch counts per field. */
  readonly fieldMismatches = new Map<string, number>();
  /** The first mismatches, for the report. */
  readonly examples: string[] = [];
  /** The first units found by us only, for the report. */
  readonly oursOnlyExamples: string[] = [];

  constructor(
    /** Protocol name in the report. */
    readonly protocol: string,
    /** What one unit is: "packets" or "flows". */
    readonly unit: string,
  ) {}

  /** Records one compared unit: `problems` lists its mismatches (empty when it agrees). */
  record(
    where: string,
    problems: readonly { field: string; ours: unknown; tshark: unknown }[],
  ): void {
    this.compared++;
    if (problems.length === 0) {
      this.agreed++;
      return;
    }
    for (const { field, ours, tshark } of problems) {
      this.fieldMismatches.set(field, (this.fieldMismatches.get(field) ?? 0) + 1);
      if (this.examples.length < 40) {
        this.examples.push(
          `${where} ${field}: ours ${JSON.stringify(ours)}, tshark ${JSON.stringify(tshark)}`,
        );
      }
    }
  }

  /** Share of compared units that agreed, 1 when none were compared. */
  get share(): number {
    return this.compared === 0 ? 1 : this.agreed / this.compared;
  }

  /** One line for the report. */
  summary(): string {
    const fields = [...this.fieldMismatches].map(([field, n]) => `${field} ${n}`).join(", ");
    return `${this.protocol}: ${this.agreed}/${this.compared} ${this.unit} agree ` +
      `(${(this.share * 100).toFixed(2)} %)` +
      (this.unreachable > 0 ? `, ${this.unreachable} behind tunnels/ICMP not reached` : "") +
      (this.oursOnly > 0 ? `, ${this.oursOnly} found by us only` : "") +
      (this.notTheProtocol > 0
        ? `, ${this.notTheProtocol} that tshark took by port are not it (left out)`
        : "") +
      (fields === "" ? "" : `; mismatches by field: ${fields}`);
  }
}

/** One capture as both sides see it. */
export interface OracleCapture {
  /** File name, for messages. */
  name: string;
  /** Our decoder's TCP and UDP packets with payloads. */
  packets: readonly TransportPayload[];
  /** tshark's rows by frame number. */
  rows: ReadonlyMap<number, TsharkFrame>;
  /** Our extractor's metadata by frame number (see {@linkcode extractAll}). */
  extracted: ReadonlyMap<number, AppMetadata>;
}

/** A protocol's comparison with tshark. */
export interface OracleCheck {
  /** The tally it fills. */
  tally: OracleTally;
  /** tshark fields it needs (frame.protocols and the port fields are always there). */
  fields: readonly string[];
  /** tshark preferences it needs (`name:value`). */
  preferences?: readonly string[];
  /** Compares one capture. May be async (QUIC decryption). */
  check(capture: OracleCapture): void | Promise<void>;
}

/** Fields every check may use to match a tshark row to our packet. */
export const BASE_FIELDS: readonly string[] = [
  "frame.protocols",
  "tcp.srcport",
  "tcp.dstport",
  "udp.srcport",
  "udp.dstport",
  "tcp.stream",
  "udp.stream",
];

/**
 * Whether our decoder reached the transport header tshark's application
 * layer sits on: the innermost TCP/UDP ports tshark shows equal ours. A
 * packet inside a tunnel or an ICMP error fails this until the decoder
 * unwraps it.
 */
export function reachesSameTransport(packet: TransportPayload, row: TsharkFrame): boolean {
  const kind = packet.ipProto === 6 ? "tcp" : "udp";
  const layers = (row.get("frame.protocols")?.[0] ?? "").split(":");
  const transports = layers.filter((layer) => layer === "tcp" || layer === "udp");
  if (transports.at(-1) !== kind) return false;
  const src = row.get(`${kind}.srcport`) ?? [];
  const dst = row.get(`${kind}.dstport`) ?? [];
  return Number(src.at(-1)) === packet.srcPort && Number(dst.at(-1)) === packet.dstPort &&
    layers.filter((layer) => layer === "ip" || layer === "ipv6").length === 1;
}

/** Whether tshark dissected `protocol` in this frame. */
export function hasLayer(row: TsharkFrame | undefined, protocol: string): boolean {
  return (row?.get("frame.protocols")?.[0] ?? "").split(":").includes(protocol);
}

/** Compares two values and pushes a problem when they differ (deep for arrays). */
export function compareField(
  problems: { field: string; ours: unknown; tshark: unknown }[],
  field: string,
  ours: unknown,
  tshark: unknown,
): void {
  if (JSON.stringify(ours) !== JSON.stringify(tshark)) problems.push({ field, ours, tshark });
}

/** Our extractor's metadata per frame number, run over a capture the way the agent will. */
export async function extractAll(
  packets: readonly TransportPayload[],
): Promise<Map<number, AppMetadata>> {
  const extractor = new AppLayerExtractor();
  const found = new Map<number, AppMetadata>();
  for (const packet of packets) {
    const transport = packet.ipProto === 6 ? "tcp" : "udp";
    const result = extractor.extract({
      transport,
      directionKey:
        `${packet.srcIp}:${packet.srcPort}>${packet.dstIp}:${packet.dstPort}/${transport}`,
      srcPort: packet.srcPort,
      dstPort: packet.dstPort,
      tcpSeq: packet.tcpSeq,
      syn: packet.tcpFlags >= 0 && (packet.tcpFlags & 0x02) !== 0,
      payload: packet.payload,
      truncated: packet.payload.length < packet.wirePayloadLength,
    });
    const metadata = result instanceof Promise ? await result : result;
    if (metadata !== null) found.set(packet.frame, metadata);
  }
  return found;
}

/** A TCP or UDP stream direction as tshark numbers streams: `tcp/3/51000`. */
export function streamDirection(packet: TransportPayload, row: TsharkFrame): string | null {
  const kind = packet.ipProto === 6 ? "tcp" : "udp";
  const stream = row.get(`${kind}.stream`)?.at(-1);
  return stream === undefined ? null : `${kind}/${stream}/${packet.srcPort}`;
}
