/**
 * The table of flows the pages show.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { flowName, type FlowRow } from "@traffic-analyzer/shared/db";

/** `2026-01-31 12:00:00.123`, UTC. */
export function isoTime(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().replace("T", " ").replace("Z", "");
}

/** An endpoint, its address linking to the host's page. */
const Endpoint: FC<{ ip: string | null; port: number | null }> = ({ ip, port }) => {
  if (ip === null) return <>–</>;
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return (
    <>
      <a href={`/hosts/${encodeURIComponent(ip)}`}>{host}</a>
      {port === null ? "" : `:${port}`}
    </>
  );
};

function tunnel(flow: FlowRow): string {
  if (flow.tunnel_type === null) return "";
  return flow.tunnel_id === null ? flow.tunnel_type : `${flow.tunnel_type} ${flow.tunnel_id}`;
}

/** Where an end is: country and AS for a public address, else its scope (`private`, …). */
function whereOf(scope: string | null, country: string | null, asn: number | null): string {
  if (scope === null) return "";
  if (scope !== "public") return scope;
  return [country, asn === null ? null : `AS${asn}`].filter((part) => part !== null).join(" ");
}

/** Flows as a table, attacks highlighted; a note when there are none. */
export const FlowTable: FC<{ flows: FlowRow[] }> = ({ flows }) => {
  if (flows.length === 0) {
    return <p class="muted">No flows yet. The aggregator writes them every pass.</p>;
  }
  return (
    <table class="flows">
      <thead>
        <tr>
          <th>Agent</th>
          <th>First seen (UTC)</th>
          <th>Last seen</th>
          <th>Originator</th>
          <th>Responder</th>
          <th>Proto</th>
          <th>App</th>
          <th>Name</th>
          <th>Responder at</th>
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
            <td>
              <a href={`/flows/${f.id}`} title="Flow details and packets">
                {isoTime(f.first_seen)}
              </a>
            </td>
            <td>{isoTime(f.last_seen)}</td>
            <td>
              <Endpoint ip={f.orig_ip} port={f.orig_port} />
            </td>
            <td>
              <Endpoint ip={f.resp_ip} port={f.resp_port} />
            </td>
            <td>{f.protocol}</td>
            <td>{f.app_protocol ?? ""}</td>
            <td title={f.tls_ja4 ?? f.http_user_agent ?? f.ssh_client ?? undefined}>
              {flowName(f) ?? f.ssh_server ?? ""}
            </td>
            <td title={f.resp_as_org ?? undefined}>
              {whereOf(f.resp_scope, f.resp_country, f.resp_asn)}
            </td>
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
