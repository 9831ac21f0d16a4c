/**
 * Test and bench support: the transport payload of every TCP and UDP packet
 * of a capture, read with the project's own reader and decoder, so the
 * parsers are fed exactly what the agent will feed them.
 *
 * @module
 */

import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { decodeHeaders } from "../packet/decode_headers.ts";
import { PacketHeaders } from "../packet/packet_headers.ts";
import { formatIpv4, formatIpv6 } from "../packet/address_format.ts";

/** One TCP or UDP packet of a capture with its payload. */
export interface TransportPayload {
  /** 1-based frame number, as tshark counts. */
  frame: number;
  /** 6 for TCP, 17 for UDP. */
  ipProto: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** TCP sequence number; -1 for UDP. */
  tcpSeq: number;
  /** TCP flags byte; -1 for UDP. */
  tcpFlags: number;
  /** The captured payload bytes (fewer than the headers say when the snap length cut them). */
  payload: Uint8Array;
  /** Payload bytes per the headers. */
  wirePayloadLength: number;
}

/** The TCP and UDP packets of a capture in memory that carry a transport header. */
export function* transportPayloads(capture: Uint8Array): Generator<TransportPayload> {
  const headers = new PacketHeaders();
  let frame = 0;
  for (const captured of readCaptureBytes(capture)) {
    frame++;
    decodeHeaders(
      captured.data,
      { linkType: captured.linkType, wireLength: captured.wireLength },
      headers,
    );
    if ((headers.ipProto !== 6 && headers.ipProto !== 17) || headers.srcPort < 0) continue;
    if (headers.isFragment) continue;
    const data = captured.data;
    const start = headers.headerEnd;
    const end = Math.min(data.length, start + headers.payloadLength);
    const v6 = headers.addressFamily === 6;
    yield {
      frame,
      ipProto: headers.ipProto,
      srcIp: v6 ? formatIpv6(data, headers.srcAddrOffset) : formatIpv4(data, headers.srcAddrOffset),
      dstIp: v6 ? formatIpv6(data, headers.dstAddrOffset) : formatIpv4(data, headers.dstAddrOffset),
      srcPort: headers.srcPort,
      dstPort: headers.dstPort,
      tcpSeq: headers.tcpSeq,
      tcpFlags: headers.tcpFlags,
      payload: data.subarray(start, Math.max(start, end)),
      wirePayloadLength: headers.payloadLength,
    };
  }
}
