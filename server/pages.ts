/**
 * Server-rendered HTML pages. Every value goes through Hono's `html` template,
 * which escapes it, so a field holding `<script>` shows as text.
 *
 * @module
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { FlowRow } from "@traffic-analyzer/shared/db";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fafbfc}
h1{font-size:1.3rem;margin:0 0 .2rem}nav a{margin-right:1rem}
table{border-collapse:collapse;width:100%;margin-top:1rem;background:#fff}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;white-space:nowrap}
th{background:#f0f3f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.attack td{background:#fff1f0}.muted{color:#57606a}.pager{margin-top:1rem}
`;

function layout(title: string, body: Html, refreshSec?: number): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    ${refreshSec ? html`<meta http-equiv="refresh" content="${refreshSec}">` : ""}
    <title>${title} · Traffic Analyzer</title>
    <style>${STYLE}</style>
      </head>
      <body>
    <h1>Traffic Analyzer</h1>
    <nav><a href="/">Latest flows</a><a href="/alltraffic_page">All flows</a><a href="/api/last10">JSON</a><a href="/health">Health</a><a href="/metrics">Metrics</a><a href="/openapi.json">OpenAPI</a></nav>
    ${body}
      </body>
    </html>
  `;
}

function isoTime(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().replace("T", " ").replace(
    "Z",
    "",
  );
}

function endpoint(ip: string | null, port: number | null): string {
  if (ip === null) return "–";
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return port === null ? host : `${host}:${port}`;
}

function flowTable(flows: FlowRow[]): Html {
  if (flows.length === 0) {
    return html`<p class="muted">No flows yet. The aggregator writes them every pass.</p>`;
  }
  return html`
    <table>
      <thead>
        <tr>
          <th>First seen (UTC)</th>
          <th>Last seen</th>
          <th>Originator</th>
          <th>Responder</th>
          <th>Proto</th>
          <th>VLAN</th>
          <th>Pkts →/←</th>
          <th>Bytes →/←</th>
          <th>State</th>
          <th>Label</th>
          <th>Score</th>
          <th>Community ID</th>
        </tr>
      </thead>
      <tbody>
    ${flows.map((f) =>
      html`
        <tr class="${f.label && f.label !== "benign" ? "attack" : ""}">
          <td>${isoTime(f.first_seen)}</td>
          <td>${isoTime(f.last_seen)}</td>
          <td>${endpoint(f.orig_ip, f.orig_port)}</td>
          <td>${endpoint(f.resp_ip, f.resp_port)}</td>
          <td>${f.protocol}</td>
          <td>${f.vlan ?? ""}</td>
          <td class="num">${f.orig_packets} / ${f.resp_packets}</td>
          <td class="num">${f.orig_bytes} / ${f.resp_bytes}</td>
          <td>${f.state}</td>
          <td>${f.label ?? "–"}</td>
          <td class="num">${f.score === null ? "–" : f.score.toFixed(3)}</td>
          <td>${f.community_id}</td>
        </tr>
      `
    )}
      </tbody>
    </table>
  `;
}

/** `GET /`: the ten most recent flows, refreshed every 15 s. */
export function latestFlowsPage(flows: FlowRow[]): Html {
  return layout(
    "Latest flows",
    html`
      <p
        class="muted">The 10 most recently active flows. This page refreshes every 15 s.</p>${flowTable(
          flows,
        )}
    `,
    15,
  );
}

/** `GET /alltraffic_page`: one page of all flows with a link to the next. */
export function allFlowsPage(
  flows: FlowRow[],
  nextCursor: number | null,
  limit: number,
): Html {
  return layout(
    "All flows",
    html`
      ${flowTable(flows)}<p
        class="pager"><a href="/alltraffic_page?limit=${limit}">First page</a>${nextCursor ===
            null
          ? ""
          : html`
            · <a
              href="/alltraffic_page?limit=${limit}&amp;cursor=${nextCursor}">Next page →</a>
          `}</p>
    `,
  );
}
