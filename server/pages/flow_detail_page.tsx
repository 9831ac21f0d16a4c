/**
 * The flow detail page `/flows/{id}`: endpoints, counters, state, the
 * prediction, a Download pcap button, a packet timeline (drawn by
 * `charts.js`), the raw packets a page at a time, and every feature.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { FlowDetailView, FlowPacket, FlowPacketPage } from "../flow_detail_view.ts";
import { Layout, type PageContext } from "./layout.tsx";
import { isoTime } from "./flow_table.tsx";
import { FlowAppSection } from "./flow_app_section.tsx";

/** TCP flags as letters, tcpdump's way: `S`, `S.`, `F.`, `R`, `P.`. */
export function tcpFlagLetters(flags: number | null): string {
  if (flags === null) return "";
  let text = "";
  if (flags & 0x02) text += "S";
  if (flags & 0x01) text += "F";
  if (flags & 0x04) text += "R";
  if (flags & 0x08) text += "P";
  if (flags & 0x20) text += "U";
  if (flags & 0x40) text += "E";
  if (flags & 0x80) text += "W";
  if (flags & 0x10) text += ".";
  return text === "" ? "none" : text;
}

const HostLink: FC<{ ip: string | null }> = ({ ip }) =>
  ip === null ? <>–</> : <a href={`/hosts/${encodeURIComponent(ip)}`}>{ip}</a>;

/** What the packet's transport header says, in a few words. */
function transportSummary(p: FlowPacket): string {
  const parts: string[] = [];
  if (p.tcp_flags !== null) {
    parts.push(`[${tcpFlagLetters(p.tcp_flags)}]`);
    if (p.tcp_seq !== null) parts.push(`seq ${p.tcp_seq}`);
    if (p.tcp_ack !== null) parts.push(`ack ${p.tcp_ack}`);
    if (p.tcp_window !== null) parts.push(`win ${p.tcp_window}`);
  }
  if (p.icmp_type !== null) {
    parts.push(`type ${p.icmp_type} code ${p.icmp_code ?? 0}`);
    if (p.icmp_id !== null) parts.push(`id ${p.icmp_id} seq ${p.icmp_seq ?? ""}`);
  }
  if (p.is_fragment) parts.push(`fragment offset ${p.frag_offset ?? 0}`);
  if (p.more_fragments) parts.push("MF");
  if (p.tunnel_type !== null) parts.push(`in ${p.tunnel_type} ${p.tunnel_src_ip ?? ""}`);
  return parts.join(" ");
}

/** Props of {@link FlowDetailPage}. */
export interface FlowDetailPageProps {
  page: PageContext;
  view: FlowDetailView;
  packets: FlowPacketPage;
  /** This page of packets' `after`, null for the first. */
  after: string | null;
}

/** `GET /flows/{id}`. */
export const FlowDetailPage: FC<FlowDetailPageProps> = ({ page, view, packets, after }) => {
  const f = view.flow;
  const p = view.prediction;
  const rebuilt = packets.packets.some((packet) => !packet.has_bytes);
  return (
    <Layout
      title={`Flow ${f.id}`}
      page={page}
      scripts={["uPlot.iife.min.js", "charts.js"]}
      styles={["uPlot.min.css"]}
      pageName="flow"
    >
      <main id="flow" data-flow-id={String(f.id)} data-orig-ip={f.orig_ip ?? ""}>
        <h2>
          Flow {f.id}: {f.protocol} <HostLink ip={f.orig_ip} />
          {f.orig_port === null ? "" : `:${f.orig_port}`} → <HostLink ip={f.resp_ip} />
          {f.resp_port === null ? "" : `:${f.resp_port}`}
        </h2>
        <p>
          <a class="button" id="download-pcap" href={`/api/flows/${f.id}/pcap`} download>
            Download pcap
          </a>{" "}
          <a href={`/api/flows/${f.id}`}>JSON</a>
        </p>
        <section class="detail-grid">
          <dl class="facts">
            <dt>Originator</dt>
            <dd>
              <HostLink ip={f.orig_ip} /> port {f.orig_port ?? "–"}
            </dd>
            <dt>Responder</dt>
            <dd>
              <HostLink ip={f.resp_ip} /> port {f.resp_port ?? "–"}
            </dd>
            <dt>Protocol</dt>
            <dd>
              {f.protocol}
              {f.ip_proto === null ? "" : ` (IP protocol ${f.ip_proto})`}
            </dd>
            <dt>VLAN</dt>
            <dd>
              {f.vlan ?? "none"}
              {f.vlan_inner === null ? "" : ` / inner ${f.vlan_inner}`}
            </dd>
            <dt>Tunnel</dt>
            <dd>{f.tunnel_type === null ? "none" : `${f.tunnel_type} ${f.tunnel_id ?? ""}`}</dd>
            <dt>Agent</dt>
            <dd>
              {f.agent === null
                ? "–"
                : <a href={`/alltraffic_page?agent=${encodeURIComponent(f.agent)}`}>{f.agent}</a>}
            </dd>
            <dt>Interface</dt>
            <dd>{f.interface ?? "–"}</dd>
            <dt>First seen</dt>
            <dd>{isoTime(f.first_seen)} UTC</dd>
            <dt>Last seen</dt>
            <dd>{isoTime(f.last_seen)} UTC</dd>
            <dt>Duration</dt>
            <dd>{f.duration.toFixed(3)} s</dd>
            <dt>Packets → / ←</dt>
            <dd>
              {f.orig_packets} / {f.resp_packets}
            </dd>
            <dt>Bytes → / ←</dt>
            <dd>
              {f.orig_bytes} / {f.resp_bytes}
            </dd>
            <dt>State</dt>
            <dd>
              {f.state}
              {f.close_reason === null ? "" : ` (${f.close_reason})`}
              {f.conn_state === null ? "" : `, connection state ${f.conn_state}`}
            </dd>
            <dt>Community ID</dt>
            <dd>
              {f.community_id === null
                ? "–"
                : (
                  <a href={`/alltraffic_page?community_id=${encodeURIComponent(f.community_id)}`}>
                    {f.community_id}
                  </a>
                )}
            </dd>
            <dt>Flow UID</dt>
            <dd>{f.flow_uid}</dd>
          </dl>
          <dl class="facts prediction">
            <dt>Predicted class</dt>
            <dd class={p.label !== null && p.label !== "benign" ? "attack" : ""}>
              {p.label ?? "not scored yet"}
            </dd>
            <dt>Score (calibrated P(attack))</dt>
            <dd>{p.score === null ? "–" : p.score.toFixed(4)}</dd>
            <dt>Model version</dt>
            <dd>{p.model_version ?? "–"}</dd>
            <dt>Class probabilities</dt>
            <dd class="muted">
              Not stored: the aggregator keeps the class and the score only.
            </dd>
          </dl>
        </section>

        <FlowAppSection app={view.app} packets={packets.packets} />
        <h2 id="why">Why this score</h2>
        {p.explanation === null
          ? (
            <p class="muted" id="explanation-none">
              No explanation stored: flows are explained when they score at least ALERT_MIN_SCORE.
            </p>
          )
          : (
            <table class="explanation" id="explanation">
              <caption>
                The five features that moved the score most (exact TreeSHAP of the raw forest score,
                before calibration); positive pushes toward an attack.
              </caption>
              <thead>
                <tr>
                  <th>Feature</th>
                  <th>Value</th>
                  <th>Contribution</th>
                </tr>
              </thead>
              <tbody>
                {p.explanation.map((c) => (
                  <tr>
                    <td>
                      <code>{c.feature}</code>
                    </td>
                    <td class="num">
                      {c.value === null ? "–" : String(Number(c.value.toPrecision(7)))}
                    </td>
                    <td class="num">
                      {(c.contribution >= 0 ? "+" : "−") + Math.abs(c.contribution).toFixed(4)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

        <h2>Packet timeline</h2>
        <figure>
          <figcaption>
            Each packet by time and size: originator → responder above the line, responder →
            originator below.
          </figcaption>
          <div class="chart" id="chart-timeline"></div>
        </figure>

        <h2 id="packets">Raw packets</h2>
        {packets.state.note === null
          ? null
          : <p class="banner" role="status" id="packets-note">{packets.state.note}</p>}
        {rebuilt
          ? (
            <p class="muted">
              Some packets were stored without their bytes (PAYLOAD_CAPTURE): the pcap rebuilds them
              from their decoded headers, without payload.
            </p>
          )
          : null}
        {packets.packets.length === 0 ? null : (
          <table class="packets">
            <thead>
              <tr>
                <th>Time (UTC)</th>
                <th>Dir</th>
                <th>Source</th>
                <th>Destination</th>
                <th>Length</th>
                <th>Payload</th>
                <th>TTL</th>
                <th>IP id</th>
                <th>Transport</th>
                <th>Bytes stored</th>
                <th>Note</th>
              </tr>
            </thead>
            <tbody>
              {packets.packets.map((packet) => (
                <tr>
                  <td>{isoTime(packet.timestamp)}</td>
                  <td>{packet.direction === "orig" ? "→" : "←"}</td>
                  <td>
                    {packet.src_ip ?? packet.eth_src ?? "–"}
                    {packet.src_port === null ? "" : `:${packet.src_port}`}
                  </td>
                  <td>
                    {packet.dst_ip ?? packet.eth_dst ?? "–"}
                    {packet.dst_port === null ? "" : `:${packet.dst_port}`}
                  </td>
                  <td class="num">{packet.length}</td>
                  <td class="num">{packet.payload_length}</td>
                  <td class="num">{packet.ttl ?? ""}</td>
                  <td class="num">{packet.ip_id ?? ""}</td>
                  <td>{transportSummary(packet)}</td>
                  <td>{packet.has_bytes ? `${packet.caplen} B` : "no"}</td>
                  <td>{packet.malformed ? `malformed: ${packet.malformed_reason ?? ""}` : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="pager">
          {after === null ? null : <a href={`/flows/${f.id}#packets`}>First packets</a>}
          {after !== null && packets.next_cursor !== null ? " · " : null}
          {packets.next_cursor === null
            ? null
            : (
              <a href={`/flows/${f.id}?after=${encodeURIComponent(packets.next_cursor)}#packets`}>
                Next packets →
              </a>
            )}
        </p>

        <h2>Features</h2>
        {view.features_note === null ? null : <p class="muted">{view.features_note}</p>}
        {view.features === null ? null : (
          <table class="features">
            <thead>
              <tr>
                <th>#</th>
                <th>Feature</th>
                <th>Value</th>
                <th>Unit</th>
                <th>Definition</th>
              </tr>
            </thead>
            <tbody>
              {view.features.map((feature) => (
                <tr>
                  <td class="num">{feature.index}</td>
                  <td>
                    <code>{feature.name}</code>
                  </td>
                  <td class="num">
                    {feature.value === null ? "–" : String(Number(feature.value.toPrecision(7)))}
                  </td>
                  <td>{feature.unit}</td>
                  <td class="definition">{feature.definition}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </main>
    </Layout>
  );
};
