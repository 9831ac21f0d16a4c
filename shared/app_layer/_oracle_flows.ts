/**
 * Test support: the TLS, HTTP, SSH and QUIC metadata our extractor finds per
 * stream direction against tshark's, and DHCP per packet.
 *
 * @module
 */

import type {
  AppMetadata,
  HttpRequestAppMetadata,
  HttpResponseAppMetadata,
  SshAppMetadata,
  TlsClientAppMetadata,
  TlsServerAppMetadata,
} from "./app_metadata.ts";
import { isGrease } from "./tls_hello.ts";
import { HTTP_MAX_PATH_BYTES } from "./http_message.ts";
import {
  compareField,
  hasLayer,
  type OracleCapture,
  type OracleCheck,
  OracleTally,
  reachesSameTransport,
  streamDirection,
} from "./_oracle.ts";
import type { TsharkFrame } from "./_tshark_fields.ts";
import type { TransportPayload } from "./_capture_payloads.ts";

type Problem = { field: string; ours: unknown; tshark: unknown };

/**
 * Walks a capture's packets that tshark dissects with `layer` (and our
 * decoder reaches), giving per stream direction the first tshark row that
 * `wanted` accepts, and the first metadata of ours that `ours` accepts.
 */
function perDirection<T extends AppMetadata>(
  capture: OracleCapture,
  tally: OracleTally,
  layer: string,
  wanted: (row: TsharkFrame) => boolean,
  ours: (metadata: AppMetadata) => metadata is T,
): { key: string; theirs: TsharkFrame; ours: T | null; frame: number }[] {
  const theirs = new Map<string, { row: TsharkFrame; frame: number }>();
  const mine = new Map<string, T>();
  const reached = new Set<number>();
  for (const packet of capture.packets) {
    const row = capture.rows.get(packet.frame);
    if (row === undefined) continue;
    const key = streamDirection(packet, row);
    if (key === null) continue;
    const metadata = capture.extracted.get(packet.frame);
    if (metadata !== undefined && ours(metadata) && !mine.has(key)) mine.set(key, metadata);
    if (!hasLayer(row, layer) || !reachesSameTransport(packet, row) || !wanted(row)) continue;
    reached.add(packet.frame);
    if (!theirs.has(key)) theirs.set(key, { row, frame: packet.frame });
  }
  for (const [frame, row] of capture.rows) {
    if (hasLayer(row, layer) && wanted(row) && !reached.has(frame)) tally.unreachable++;
  }
  for (const [key, metadata] of mine) {
    if (theirs.has(key)) continue;
    tally.oursOnly++;
    if (tally.oursOnlyExamples.length < 6) {
      tally.oursOnlyExamples.push(
        `${capture.name} ${key} ${JSON.stringify(metadata).slice(0, 120)}`,
      );
    }
  }
  return [...theirs].map(([key, { row, frame }]) => ({
    key,
    theirs: row,
    ours: mine.get(key) ?? null,
    frame,
  }));
}

const all = (row: TsharkFrame, field: string) => row.get(field) ?? [];
const first = (row: TsharkFrame, field: string) => all(row, field)[0] ?? null;
const handshakeTypes = (row: TsharkFrame) => all(row, "tls.handshake.type");

function compareClientHello(
  problems: Problem[],
  ours: AppMetadata | null,
  row: TsharkFrame,
  withJa3: boolean,
): void {
  if (ours === null || !("tls_ja4" in ours)) {
    problems.push({
      field: "found",
      ours: null,
      tshark: first(row, "tls.handshake.extensions_server_name"),
    });
    return;
  }
  compareField(
    problems,
    "tls_sni",
    ours.tls_sni,
    first(row, "tls.handshake.extensions_server_name"),
  );
  compareField(problems, "tls_alpn", ours.tls_alpn, all(row, "tls.handshake.extensions_alpn_str"));
  const offered = all(row, "tls.handshake.extensions.supported_version").map(Number)
    .filter((version) => !isGrease(version));
  if (offered.length > 0) compareField(problems, "tls_versions", ours.tls_versions, offered);
  if (withJa3) {
    compareField(problems, "tls_ja3_full", ours.tls_ja3_full, first(row, "tls.handshake.ja3_full"));
    compareField(problems, "tls_ja3", ours.tls_ja3, first(row, "tls.handshake.ja3"));
  }
}

/** TLS over TCP: the first ClientHello and ServerHello of each stream direction. */
function tlsCheck(): OracleCheck {
  const tally = new OracleTally("tls", "flow directions");
  return {
    tally,
    fields: [
      "tls.handshake.type",
      "tls.handshake.extensions_server_name",
      "tls.handshake.extensions_alpn_str",
      "tls.handshake.extensions.supported_version",
      "tls.handshake.ja3_full",
      "tls.handshake.ja3",
      "tls.handshake.version",
      "tls.handshake.ciphersuite",
    ],
    check(capture) {
      const isClient = (m: AppMetadata): m is TlsClientAppMetadata =>
        m.app_protocol === "tls" && "tls_ja4" in m;
      // TLS inside QUIC is the QUIC check's.
      const overTcp = (row: TsharkFrame) => !hasLayer(row, "quic");
      const clientHello = (row: TsharkFrame) => overTcp(row) && handshakeTypes(row)[0] === "1";
      for (const flow of perDirection(capture, tally, "tls", clientHello, isClient)) {
        const problems: Problem[] = [];
        compareClientHello(problems, flow.ours, flow.theirs, true);
        tally.record(`${capture.name}#${flow.frame} ${flow.key}`, problems);
      }
      const isServer = (m: AppMetadata): m is TlsServerAppMetadata =>
        m.app_protocol === "tls" && "tls_cipher" in m;
      const serverHello = (row: TsharkFrame) => overTcp(row) && handshakeTypes(row)[0] === "2";
      for (const flow of perDirection(capture, tally, "tls", serverHello, isServer)) {
        const problems: Problem[] = [];
        const row = flow.theirs;
        const chosen = first(row, "tls.handshake.extensions.supported_version") ??
          first(row, "tls.handshake.version");
        if (flow.ours === null) {
          problems.push({
            field: "found",
            ours: null,
            tshark: first(row, "tls.handshake.ciphersuite"),
          });
        } else {
          compareField(problems, "tls_version", flow.ours.tls_version, Number(chosen));
          compareField(
            problems,
            "tls_cipher",
            flow.ours.tls_cipher,
            Number(first(row, "tls.handshake.ciphersuite")),
          );
        }
        tally.record(`${capture.name}#${flow.frame} ${flow.key}`, problems);
      }
    },
  };
}

/** QUIC: the first ClientHello of each UDP stream direction, decrypted by tshark too. */
function quicCheck(): OracleCheck {
  const tally = new OracleTally("quic", "flow directions");
  return {
    tally,
    fields: [],
    check(capture) {
      const isClient = (m: AppMetadata): m is TlsClientAppMetadata => m.app_protocol === "quic";
      const hello = (row: TsharkFrame) => handshakeTypes(row).includes("1");
      for (const flow of perDirection(capture, tally, "quic", hello, isClient)) {
        const problems: Problem[] = [];
        compareClientHello(
          problems,
          flow.ours,
          flow.theirs,
          first(flow.theirs, "tls.handshake.ja3") !== null,
        );
        tally.record(`${capture.name}#${flow.frame} ${flow.key}`, problems);
      }
    },
  };
}

/** HTTP/1.x: the first request and the first response of each stream direction. */
function httpCheck(): OracleCheck {
  const tally = new OracleTally("http", "flow directions");
  return {
    tally,
    // Report a response at its head, not where its body ends.
    preferences: ["http.desegment_body:FALSE"],
    fields: [
      "http.request.method",
      "http.host",
      "http.request.uri",
      "http.user_agent",
      "http.response.code",
    ],
    check(capture) {
      const isRequest = (m: AppMetadata): m is HttpRequestAppMetadata => "http_method" in m;
      const request = (row: TsharkFrame) => first(row, "http.request.method") !== null;
      for (const flow of perDirection(capture, tally, "http", request, isRequest)) {
        const problems: Problem[] = [];
        const row = flow.theirs;
        if (flow.ours === null) {
          problems.push({ field: "found", ours: null, tshark: first(row, "http.request.uri") });
        } else {
          compareField(
            problems,
            "http_method",
            flow.ours.http_method,
            first(row, "http.request.method"),
          );
          compareField(problems, "http_host", flow.ours.http_host, first(row, "http.host"));
          compareField(
            problems,
            "http_path",
            flow.ours.http_path,
            first(row, "http.request.uri")?.slice(0, HTTP_MAX_PATH_BYTES),
          );
          // tshark's field output cannot show an empty string: an empty
          // User-Agent header (http-empty-useragent.pcap) prints as none.
          const agent = flow.ours.http_user_agent === "" ? null : flow.ours.http_user_agent;
          compareField(problems, "http_user_agent", agent, first(row, "http.user_agent"));
        }
        tally.record(`${capture.name}#${flow.frame} ${flow.key}`, problems);
      }
      const isResponse = (m: AppMetadata): m is HttpResponseAppMetadata => "http_status" in m;
      const response = (row: TsharkFrame) => first(row, "http.response.code") !== null;
      for (const flow of perDirection(capture, tally, "http", response, isResponse)) {
        const problems: Problem[] = [];
        compareField(
          problems,
          "http_status",
          flow.ours?.http_status ?? null,
          Number(first(flow.theirs, "http.response.code")),
        );
        tally.record(`${capture.name}#${flow.frame} ${flow.key}`, problems);
      }
    },
  };
}

/** SSH: the identification string of each stream direction. */
function sshCheck(): OracleCheck {
  const tally = new OracleTally("ssh", "flow directions");
  return {
    tally,
    fields: ["ssh.protocol"],
    check(capture) {
      const isSsh = (m: AppMetadata): m is SshAppMetadata => m.app_protocol === "ssh";
      const banner = (row: TsharkFrame) => first(row, "ssh.protocol") !== null;
      for (const flow of perDirection(capture, tally, "ssh", banner, isSsh)) {
        const problems: Problem[] = [];
        compareField(
          problems,
          "ssh_banner",
          flow.ours?.ssh_banner ?? null,
          first(flow.theirs, "ssh.protocol"),
        );
        tally.record(`${capture.name}#${flow.frame} ${flow.key}`, problems);
      }
    },
  };
}

/** DHCP: host name and requested address of every message. */
function dhcpCheck(): OracleCheck {
  const tally = new OracleTally("dhcp", "packets");
  return {
    tally,
    fields: ["dhcp.option.hostname", "dhcp.option.requested_ip_address", "dhcp.option.dhcp"],
    check(capture) {
      const reached = new Set<number>();
      for (const packet of capture.packets as TransportPayload[]) {
        const row = capture.rows.get(packet.frame);
        if (!hasLayer(row, "dhcp") || !reachesSameTransport(packet, row!)) continue;
        reached.add(packet.frame);
        const ours = capture.extracted.get(packet.frame);
        const problems: Problem[] = [];
        if (ours !== undefined && ours.app_protocol !== "dhcp") {
          problems.push({ field: "found", ours: ours.app_protocol, tshark: "dhcp" });
        } else {
          // A message cut before its options (the lab's 128-byte snap
          // length) gives nothing on either side.
          const none = { dhcp_hostname: null, dhcp_requested_ip: null, dhcp_message_type: null };
          const mine = ours ?? none;
          compareField(
            problems,
            "dhcp_hostname",
            mine.dhcp_hostname,
            first(row!, "dhcp.option.hostname"),
          );
          compareField(
            problems,
            "dhcp_requested_ip",
            mine.dhcp_requested_ip,
            first(row!, "dhcp.option.requested_ip_address"),
          );
          const type = first(row!, "dhcp.option.dhcp");
          compareField(
            problems,
            "dhcp_message_type",
            mine.dhcp_message_type,
            type === null ? null : Number(type),
          );
        }
        tally.record(`${capture.name}#${packet.frame}`, problems);
      }
      for (const [frame, row] of capture.rows) {
        if (hasLayer(row, "dhcp") && !reached.has(frame)) tally.unreachable++;
      }
    },
  };
}

/** The checks of the protocols our extractor follows per flow, and DHCP. */
export function flowOracleChecks(): OracleCheck[] {
  return [tlsCheck(), quicCheck(), httpCheck(), sshCheck(), dhcpCheck()];
}
