/**
 * Decodes one captured frame into the {@linkcode PacketRecord} every
 * component shares.
 *
 * @module
 */

import type { PacketRecord } from "./packet_record.ts";
import { PacketHeaders } from "./packet_headers.ts";
import { decodeHeaders, type DecodeHeadersOptions } from "./decode_headers.ts";
import { formatIpv4, formatIpv6, formatMac } from "./address_format.ts";

/** How much of the captured bytes a record keeps in `data`. */
export type PayloadCapture = "full" | "headers" | "none";

/**
 * Options for {@linkcode decodePacket}: the frame's capture metadata. One
 * object may be reused (and mutated) for every frame of a capture.
 */
export interface DecodeOptions extends DecodeHeadersOptions {
  /** Capture time in epoch seconds with a fraction. */
  timestampSec: number;
  /**
   * Capture interface name, or the file name for offline reads.
   *
   * @default {"unknown"}
   */
  interfaceName?: string;
  /**
   * What `data` keeps: `full` the captured bytes, `headers` the captured bytes
   * cut after the last decoded header (no application payload, for privacy),
   * `none` nothing (`data` is null).
   *
   * @default {"headers"}
   */
  payloadCapture?: PayloadCapture;
}

const scratch = new PacketHeaders();
/** The ingest schema wants a non-empty interface name. */
const UNKNOWN_INTERFACE = "unknown";

/**
 * Decodes a captured frame into a {@linkcode PacketRecord}. Never throws on
 * the frame's bytes: a frame whose headers are cut short or invalid comes
 * back with what could be read, `malformed: true` and a `malformed_reason`
 * (a fixed string per cause, so callers can count by reason). A frame cut by
 * the snap length inside its payload, with all headers intact, is not
 * malformed. Throws `RangeError` only for invalid options.
 *
 * @example
 * ```ts
 * const record = decodePacket(frame, {
 *   linkType: 1,
 *   timestampSec: 1700000000.5,
 *   wireLength: 1514,
 *   interfaceName: "eth0",
 *   payloadCapture: "none",
 * });
 * if (record.malformed) malformedCount++;
 * ```
 */
export function decodePacket(
  frame: Uint8Array,
  options: DecodeOptions,
): PacketRecord {
  const wireLength = options.wireLength;
  if (wireLength !== undefined && !(wireLength >= 0)) {
    throw new RangeError(
      `Cannot decode packet as 'wireLength' must be >= 0: current value is ${wireLength}`,
    );
  }
  return packetRecordOfHeaders(frame, decodeHeaders(frame, options, scratch), options);
}

/**
 * The {@linkcode PacketRecord} of a frame whose headers were already decoded
 * into `h` (by {@linkcode decodeHeaders} with the same frame and options):
 * what {@linkcode decodePacket} returns, for a caller that needs the headers
 * too and should not decode the frame twice. Throws `RangeError` only for an
 * invalid `payloadCapture`.
 *
 * @example
 * ```ts
 * const headers = new PacketHeaders();
 * const options = { linkType: 1, timestampSec: 1700000000.5, wireLength: frame.length };
 * decodeHeaders(frame, options, headers);
 * const record = packetRecordOfHeaders(frame, headers, options);
 * ```
 */
export function packetRecordOfHeaders(
  frame: Uint8Array,
  h: PacketHeaders,
  options: DecodeOptions,
): PacketRecord {
  let data: string | null;
  switch (options.payloadCapture ?? "headers") {
    case "none":
      data = null;
      break;
    case "headers":
      data = frame.subarray(0, h.headerEnd).toBase64();
      break;
    case "full":
      data = frame.toBase64();
      break;
    default:
      throw new RangeError(
        `Cannot decode packet as 'payloadCapture' must be "full", "headers" or "none": current value is ${options.payloadCapture}`,
      );
  }
  const v6 = h.addressFamily === 6;
  return {
    timestamp: options.timestampSec,
    interface: options.interfaceName ?? UNKNOWN_INTERFACE,
    src_ip: h.srcAddrOffset < 0
      ? null
      : v6
      ? formatIpv6(frame, h.srcAddrOffset)
      : formatIpv4(frame, h.srcAddrOffset),
    dst_ip: h.dstAddrOffset < 0
      ? null
      : v6
      ? formatIpv6(frame, h.dstAddrOffset)
      : formatIpv4(frame, h.dstAddrOffset),
    protocol: h.protocol,
    src_port: h.srcPort < 0 ? null : h.srcPort,
    dst_port: h.dstPort < 0 ? null : h.dstPort,
    length: h.wireLength,
    caplen: h.caplen,
    link_type: h.linkType,
    eth_src: h.ethSrcOffset < 0 ? null : formatMac(frame, h.ethSrcOffset),
    eth_dst: h.ethDstOffset < 0 ? null : formatMac(frame, h.ethDstOffset),
    ether_type: h.etherType < 0 ? null : h.etherType,
    vlan_id: h.vlanId < 0 ? null : h.vlanId,
    vlan_inner_id: h.vlanInnerId < 0 ? null : h.vlanInnerId,
    ip_version: h.ipVersion === 0 ? null : h.ipVersion,
    ip_proto: h.ipProto < 0 ? null : h.ipProto,
    ttl: h.ttl < 0 ? null : h.ttl,
    ip_id: h.ipId < 0 ? null : h.ipId,
    ip_tos: h.ipTos < 0 ? null : h.ipTos,
    ip_header_length: h.ipHeaderLength < 0 ? null : h.ipHeaderLength,
    ip_flow_label: h.ipFlowLabel < 0 ? null : h.ipFlowLabel,
    frag_offset: h.fragOffset < 0 ? null : h.fragOffset,
    more_fragments: h.moreFragments,
    dont_fragment: h.dontFragment,
    is_fragment: h.isFragment,
    tcp_seq: h.tcpSeq < 0 ? null : h.tcpSeq,
    tcp_ack: h.tcpAck < 0 ? null : h.tcpAck,
    tcp_flags: h.tcpFlags < 0 ? null : h.tcpFlags,
    tcp_window: h.tcpWindow < 0 ? null : h.tcpWindow,
    tcp_header_length: h.tcpHeaderLength < 0 ? null : h.tcpHeaderLength,
    icmp_type: h.icmpType < 0 ? null : h.icmpType,
    icmp_code: h.icmpCode < 0 ? null : h.icmpCode,
    icmp_id: h.icmpId < 0 ? null : h.icmpId,
    icmp_seq: h.icmpSeq < 0 ? null : h.icmpSeq,
    arp_opcode: h.arpOpcode < 0 ? null : h.arpOpcode,
    tunnel_type: h.tunnelType,
    tunnel_src_ip: h.tunnelSrcOffset < 0
      ? null
      : h.tunnelAddressFamily === 6
      ? formatIpv6(frame, h.tunnelSrcOffset)
      : formatIpv4(frame, h.tunnelSrcOffset),
    tunnel_dst_ip: h.tunnelDstOffset < 0
      ? null
      : h.tunnelAddressFamily === 6
      ? formatIpv6(frame, h.tunnelDstOffset)
      : formatIpv4(frame, h.tunnelDstOffset),
    tunnel_id: h.tunnelId < 0 ? null : h.tunnelId,
    tunnel_depth: h.tunnelDepth,
    payload_length: h.payloadLength,
    malformed: h.malformedReason !== null,
    malformed_reason: h.malformedReason,
    data,
    // The app-layer fields (APP_RECORD_FIELD_NAMES, in that order), written out:
    // spreading the frozen NO_APP_FIELDS here was most of decodePacket's time.
    app_protocol: null,
    dns_query: null,
    dns_qtype: null,
    dns_rcode: null,
    dns_answers: null,
    dns_cnames: null,
    dns_ttl: null,
    dns_names: null,
    tls_sni: null,
    tls_alpn: null,
    tls_versions: null,
    tls_ja3: null,
    tls_ja4: null,
    tls_version: null,
    tls_cipher: null,
    http_method: null,
    http_host: null,
    http_path: null,
    http_user_agent: null,
    http_status: null,
    ssh_banner: null,
    dhcp_hostname: null,
    dhcp_requested_ip: null,
  };
}
