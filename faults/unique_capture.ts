/**
 * The fault suite's input: a pcap of complete TCP conversations in which
 * every packet is unique (its 5-tuple, sequence and acknowledgement numbers
 * and time differ from every other's), so a packet stored twice shows as
 * `count(*) > count(distinct …)` in `raw_packets`. Every conversation ends
 * with FIN from both sides, so the flows are final once aggregated, whatever
 * the pass boundaries were. Written with the project's pcap writer.
 *
 * @module
 */
import { PcapWriter } from "@traffic-analyzer/shared/pcap";
import { encodePacket, linkTypeOf } from "../shared/packet/packet_encoder.ts";

/** Options for {@link writeUniqueCapture}. */
export interface UniqueCaptureOptions {
  /** TCP conversations. */
  flows: number;
  /** Data segments from the client in each (each answered by an ACK). @default 3 */
  dataSegments?: number;
  /**
   * Second octet of the clients' 10.x.0.0/16 addresses, and third of the
   * server's 10.200.x.1: captures with different values share no flow and no
   * host, so the context features of one do not depend on the other.
   * @default 1
   */
  network?: number;
  /** Conversations open at once (their packets interleave). @default 50 */
  concurrent?: number;
  /** Time of the first packet, epoch seconds. @default 1_748_736_000 (2025-06-01) */
  startSec?: number;
  /** Time between packets. @default 200 µs */
  gapUs?: number;
}

/** What was written. */
export interface UniqueCapture {
  path: string;
  packets: number;
  flows: number;
}

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const PAYLOAD = new Uint8Array(100).fill(0x61);

interface Segment {
  fromClient: boolean;
  flags: number;
  seq: number;
  ack: number;
  payload: boolean;
}

/** The segments of conversation `i`, in order. */
function conversation(i: number, dataSegments: number): Segment[] {
  let client = (i * 7919 + 1000) >>> 0;
  let server = (i * 104729 + 5000) >>> 0;
  const out: Segment[] = [];
  const push = (fromClient: boolean, flags: number, payload = false) => {
    out.push({
      fromClient,
      flags,
      seq: fromClient ? client : server,
      ack: fromClient ? server : client,
      payload,
    });
  };
  push(true, SYN);
  client += 1;
  push(false, SYN | ACK);
  server += 1;
  push(true, ACK);
  for (let d = 0; d < dataSegments; d++) {
    push(true, PSH | ACK, true);
    client += PAYLOAD.length;
    push(false, ACK);
  }
  push(true, FIN | ACK);
  client += 1;
  push(false, FIN | ACK);
  server += 1;
  push(true, ACK);
  return out;
}

/** Writes the capture to `path` and returns how many packets and flows it holds. */
export async function writeUniqueCapture(
  path: string,
  options: UniqueCaptureOptions,
): Promise<UniqueCapture> {
  const dataSegments = options.dataSegments ?? 3;
  const network = options.network ?? 1;
  const concurrent = options.concurrent ?? 50;
  const gapUs = BigInt(options.gapUs ?? 200);
  let timeUs = BigInt(options.startSec ?? 1_748_736_000) * 1_000_000n;
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file, { linkType: linkTypeOf("ethernet"), precision: "us" });
  let packets = 0;
  for (let first = 0; first < options.flows; first += concurrent) {
    const group = [];
    for (let i = first; i < Math.min(options.flows, first + concurrent); i++) {
      group.push({ i, segments: conversation(i, dataSegments), next: 0 });
    }
    // Round robin over the open conversations, as a busy link interleaves them.
    for (let open = group.length; open > 0;) {
      open = 0;
      for (const c of group) {
        const segment = c.segments[c.next++];
        if (segment === undefined) continue;
        open++;
        const clientIp = `10.${network}.${(c.i >> 8) & 0xff}.${c.i & 0xff}`;
        const serverIp = `10.200.${network}.1`;
        const clientPort = 20000 + (c.i % 40000);
        const frame = encodePacket({
          ethernet: { src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" },
          ip: {
            version: 4,
            src: segment.fromClient ? clientIp : serverIp,
            dst: segment.fromClient ? serverIp : clientIp,
          },
          transport: {
            protocol: "tcp",
            srcPort: segment.fromClient ? clientPort : 80,
            dstPort: segment.fromClient ? 80 : clientPort,
            seq: segment.seq,
            ack: segment.ack,
            flags: segment.flags,
          },
          payload: segment.payload ? PAYLOAD : undefined,
        });
        await writer.write({ data: frame, timestampNs: timeUs * 1000n });
        timeUs += gapUs;
        packets++;
      }
    }
  }
  await writer.flush();
  return { path, packets, flows: options.flows };
}
