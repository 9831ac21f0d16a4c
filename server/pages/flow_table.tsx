/**
 * The table of flows the pages show.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { FlowRow } from "@traffic-analyzer/shared/db";

function isoTime(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().replace("T", " ").replace("Z", "");
}

function endpoint(ip: string | null, port: number | null): string {
  if (ip === null) return "–";
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return port === null ? host : `${host}:${port}`;
}

function tunnel(flow: FlowRow): string {
  if (flow.tunnel_type === null) return "";
  return flow.tunnel_id === null ? flow.tunnel_type : `${flow.tunnel_type} ${flow.tunnel_id}`;
}

/** Flows as a table, attacks highlighted; a note when there are none. */
export const FlowTable: FC<{ flows: FlowRow[] }> = ({ flows }) => {
  if (flows.length === 0) {
    return <p class="muted">No flows yet. The aggregator writes them every pass.</p>;
  }
  return (
    <table>
      <thead>
        <tr>
          <th>Agent</th>
          <th>First seen (UTC)</th>
          <th>Last seen</th>
          <th>Originator</th>
          <th>Responder</th>
          <th>Proto</th>
          <th>VLAN</th>
          <th>Tunnel</th>
          <th>Pkts →/←</th>
          <th>Bytes →/←</th>
          <th>State</th>
          <th>Label</th>
          <th>Score</th>
          <th>Community ID</th>
        </tr>
      </thead>
      <tbody>
        {flows.map((f) => (
          <tr class={f.label && f.label !== "benign" ? "attack" : ""}>
            <td>{f.agent ?? "–"}</td>
            <td>{isoTime(f.first_seen)}</td>
            <td>{isoTime(f.last_seen)}</td>
            <td>{endpoint(f.orig_ip, f.orig_port)}</td>
            <td>{endpoint(f.resp_ip, f.resp_port)}</td>
            <td>{f.protocol}</td>
            <td>{f.vlan ?? ""}</td>
            <td>{tunnel(f)}</td>
            <td class="num">{f.orig_packets} / {f.resp_packets}</td>
            <td class="num">{f.orig_bytes} / {f.resp_bytes}</td>
            <td>{f.state}</td>
            <td>{f.label ?? "–"}</td>
            <td class="num">{f.score === null ? "–" : f.score.toFixed(3)}</td>
            <td>{f.community_id}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};
