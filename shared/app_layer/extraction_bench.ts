/**
 * What app-layer extraction costs per packet, next to the decode the agent
 * already does, on the same capture: the figure that decides whether the
 * agent's `--read` path keeps 90 % of its speed with extraction on. Ready
 * for `deno task bench` to run as a script once the agent calls the
 * extractor:
 *
 * ```sh
 * deno run --allow-read shared/app_layer/extraction_bench.ts --file data/bench/traffic.pcap
 * ```
 *
 * It prints a line per run and one `BENCH_METRICS {...}` line
 * (bench/bench_metrics.ts). Both passes are rated by CPU time.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { type DecodeOptions, decodePacket } from "../packet/decode_packet.ts";
import { transportPayloads } from "./_capture_payloads.ts";
import { AppLayerExtractor, type AppPacket } from "./app_layer_extractor.ts";

/** One measurement of {@linkcode measureExtraction}. */
export interface ExtractionMeasurement {
  /** Frames in the capture. */
  packets: number;
  /** TCP and UDP packets handed to the extractor (those with a payload, or a SYN). */
  offered: number;
  /** Packets whose metadata was found. */
  found: number;
  /** Found per protocol. */
  foundByProtocol: Record<string, number>;
  /** CPU nanoseconds per frame of the agent's decode (`decodePacket`, payload capture none). */
  decodeNsPerPacket: number;
  /** CPU nanoseconds per frame of extraction (direction key and `extract`), spread over all frames. */
  extractNsPerPacket: number;
  /** Decode rate over decode-plus-extraction rate: the share of speed kept (1 = free). */
  keptShare: number;
}

function cpuNs(): number {
  const { user, system } = cpuUsage();
  return (user + system) * 1000;
}

/**
 * Times the agent's decode of every frame, then the extractor over every
 * TCP/UDP packet of the same capture (keys built from the formatted
 * addresses, as a record holds them), and returns both per frame. The
 * payload offsets come from a decode outside the timed part: the agent's
 * decoder computes them anyway. Best of `repeats` runs for each pass.
 */
export async function measureExtraction(
  capture: Uint8Array,
  repeats = 3,
): Promise<ExtractionMeasurement> {
  const frames = [...readCaptureBytes(capture)];
  const options: DecodeOptions = {
    linkType: 0,
    timestampSec: 0,
    wireLength: 0,
    interfaceName: "bench",
    payloadCapture: "none",
  };
  let decodeNs = Infinity;
  for (let run = 0; run < repeats; run++) {
    const start = cpuNs();
    for (const frame of frames) {
      options.linkType = frame.linkType;
      options.timestampSec = frame.timestampSec;
      options.wireLength = frame.wireLength;
      decodePacket(frame.data, options);
    }
    decodeNs = Math.min(decodeNs, cpuNs() - start);
  }

  // Extractor input, as the agent will have it after decoding.
  const packets = [...transportPayloads(capture)].filter((packet) =>
    packet.payload.length > 0 || (packet.tcpFlags >= 0 && (packet.tcpFlags & 0x02) !== 0)
  );
  let extractNs = Infinity;
  let found = 0;
  const foundByProtocol: Record<string, number> = {};
  for (let run = 0; run < repeats; run++) {
    const extractor = new AppLayerExtractor();
    found = 0;
    const counts: Record<string, number> = {};
    const start = cpuNs();
    for (const packet of packets) {
      const transport = packet.ipProto === 6 ? "tcp" : "udp";
      const input: AppPacket = {
        transport,
        directionKey:
          `${packet.srcIp}:${packet.srcPort}>${packet.dstIp}:${packet.dstPort}/${transport}`,
        srcPort: packet.srcPort,
        dstPort: packet.dstPort,
        tcpSeq: packet.tcpSeq,
        syn: packet.tcpFlags >= 0 && (packet.tcpFlags & 0x02) !== 0,
        payload: packet.payload,
        truncated: packet.payload.length < packet.wirePayloadLength,
      };
      const result = extractor.extract(input);
      const metadata = result instanceof Promise ? await result : result;
      if (metadata !== null) {
        found++;
        counts[metadata.app_protocol] = (counts[metadata.app_protocol] ?? 0) + 1;
      }
    }
    extractNs = Math.min(extractNs, cpuNs() - start);
    Object.assign(foundByProtocol, counts);
  }
  const decodeNsPerPacket = decodeNs / frames.length;
  const extractNsPerPacket = extractNs / frames.length;
  return {
    packets: frames.length,
    offered: packets.length,
    found,
    foundByProtocol,
    decodeNsPerPacket,
    extractNsPerPacket,
    keptShare: decodeNsPerPacket / (decodeNsPerPacket + extractNsPerPacket),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      file: { type: "string", multiple: true },
      repeats: { type: "string", default: "3" },
    },
  });
  const files = values.file ?? [];
  const repeats = Number(values.repeats);
  if (files.length === 0) throw new RangeError("'--file' is required (one or more captures)");
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new RangeError(`'--repeats' must be an integer >= 1: current value is ${values.repeats}`);
  }
  const metrics: Record<string, number> = {};
  for (const file of files) {
    const m = await measureExtraction(await Deno.readFile(file), repeats);
    console.log(
      `${file}: ${m.packets} packets (${m.offered} to the extractor, ${m.found} found: ` +
        `${JSON.stringify(m.foundByProtocol)}); decode ${m.decodeNsPerPacket.toFixed(0)} ns, ` +
        `extraction ${m.extractNsPerPacket.toFixed(0)} ns per packet; ` +
        `decode keeps ${(m.keptShare * 100).toFixed(1)} % of its speed`,
    );
    metrics.packets = (metrics.packets ?? 0) + m.packets;
    metrics.decode_ns = (metrics.decode_ns ?? 0) + m.decodeNsPerPacket * m.packets;
    metrics.extract_ns = (metrics.extract_ns ?? 0) + m.extractNsPerPacket * m.packets;
  }
  const decodePerPacket = metrics.decode_ns / metrics.packets;
  const extractPerPacket = metrics.extract_ns / metrics.packets;
  console.log(
    "BENCH_METRICS " + JSON.stringify({
      packets: metrics.packets,
      decode_ns_per_packet: decodePerPacket,
      extract_ns_per_packet: extractPerPacket,
      extraction_kept_share: decodePerPacket / (decodePerPacket + extractPerPacket),
    }),
  );
}
