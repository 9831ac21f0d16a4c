/**
 * The host page `/hosts/{ip}`: its traffic over time (drawn by `charts.js`
 * from `GET /api/hosts/{ip}`), peers, services used and offered, its flows
 * newest first under the flow filters, and a link to its incidents.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { FlowRow, HostServiceRow } from "@traffic-analyzer/shared/db";
import type { HostView } from "../routes/hosts.ts";
import { Layout, type PageContext } from "./layout.tsx";
import { FlowTable, isoTime } from "./flow_table.tsx";
import { siNumber } from "./format.ts";
import { PeriodLinks, periodSentence, TopTable } from "./dashboard_page.tsx";
import { IncidentTable } from "./incident_table.tsx";

/** Props of {@link HostPage}. */
export interface HostPageProps {
  page: PageContext;
  view: HostView;
  /** The host's flows under the filters, newest first (first page). */
  flows: FlowRow[];
  /** The flow filters of the URL (without `period`/`end`), kept in the links. */
  filterQuery: string;
  /** Why the filter was refused, or null. */
  error: string | null;
}

function serviceRows(rows: HostServiceRow[], side: "resp" | "orig", ip: string) {
  return rows.map((s) => ({
    cells: [
      {
        href: `/alltraffic_page?${side === "resp" ? "orig_ip" : "resp_ip"}=${
          encodeURIComponent(ip)
        }&protocol=${encodeURIComponent(s.protocol)}&resp_port=${s.port}`,
        text: `${s.port}/${s.protocol}`,
      },
      s.names.join(", "),
      String(s.flows),
      siNumber(s.bytes, "B"),
      String(s.hosts),
      isoTime(s.last_seen),
    ],
    value: s.flows,
  }));
}

/** `GET /hosts/{ip}`. */
export const HostPage: FC<HostPageProps> = ({ page, view, flows, filterQuery, error }) => {
  const ip = view.ip;
  const flowsUrl = `/alltraffic_page?ip=${encodeURIComponent(ip)}${
    filterQuery ? `&${filterQuery}` : ""
  }`;
  return (
    <Layout
      title={`Host ${ip}`}
      page={page}
      scripts={["uPlot.iife.min.js", "charts.js"]}
      styles={["uPlot.min.css"]}
      pageName="host"
    >
      <main
        id="host"
        data-ip={ip}
        data-period={view.activity.period}
        data-end={view.activity.anchor === "requested" ? String(view.activity.end_sec) : ""}
      >
        <h2>Host {ip}</h2>
        <PeriodLinks base={`/hosts/${encodeURIComponent(ip)}`} current={view.activity.period} />
        <p class="muted">{periodSentence(view.activity, Date.now() / 1000)}</p>
        <p>
          {view.flows} flows in this period, {siNumber(view.bytes_sent, "B")} sent,{" "}
          {siNumber(view.bytes_received, "B")} received
          {view.first_seen === null
            ? "."
            : `; seen ${isoTime(view.first_seen)} to ${isoTime(view.last_seen!)} UTC.`}{" "}
          <a href={`/alerts?ip=${encodeURIComponent(ip)}`}>Incidents involving {ip}</a>
          {" · "}
          <a href={`/api/hosts/${encodeURIComponent(ip)}?period=${view.activity.period}`}>JSON</a>
        </p>
        <section class="charts">
          <figure>
            <figcaption>Packets per second, stacked by protocol</figcaption>
            <div class="chart" id="chart-packets"></div>
          </figure>
          <figure>
            <figcaption>Bytes per second, stacked by protocol</figcaption>
            <div class="chart" id="chart-bytes"></div>
          </figure>
        </section>
        <section class="tops">
          <div>
            <h2>Peers</h2>
            <TopTable
              id="peers"
              head={["Host", "Names", "Flows", "Bytes", "Last seen"]}
              rows={view.peers.map((peer) => ({
                cells: [
                  { href: `/hosts/${encodeURIComponent(peer.ip)}`, text: peer.ip },
                  peer.names.join(", "),
                  String(peer.flows),
                  siNumber(peer.bytes, "B"),
                  isoTime(peer.last_seen),
                ],
                value: peer.bytes,
              }))}
            />
          </div>
          <div>
            <h2>Services used</h2>
            <TopTable
              id="services-used"
              head={["Service", "Names", "Flows", "Bytes", "Servers", "Last seen"]}
              rows={serviceRows(view.services_used, "resp", ip)}
            />
          </div>
          <div>
            <h2>Services offered</h2>
            <TopTable
              id="services-offered"
              head={["Service", "Names", "Flows", "Bytes", "Clients", "Last seen"]}
              rows={serviceRows(view.services_offered, "orig", ip)}
            />
          </div>
        </section>
        <section id="host-incidents">
          <h2>Incidents involving {ip}</h2>
          {view.incidents.length === 0
            ? <p class="muted">None: no incident has {ip} as its key or at an end of its flows.</p>
            : <IncidentTable incidents={view.incidents} back={null} />}
          {view.incidents_more
            ? (
              <p class="pager">
                <a href={`/alerts?ip=${encodeURIComponent(ip)}`}>All incidents involving {ip} →</a>
              </p>
            )
            : null}
        </section>
        <h2>Flows, newest first</h2>
        <form class="filters" method="get" action={`/hosts/${encodeURIComponent(ip)}`}>
          <input type="hidden" name="period" value={view.activity.period} />
          <label>
            Port <input name="port" value={new URLSearchParams(filterQuery).get("port") ?? ""} />
          </label>
          <label>
            Protocol{" "}
            <input name="protocol" value={new URLSearchParams(filterQuery).get("protocol") ?? ""} />
          </label>
          <label>
            Labels{" "}
            <input name="label" value={new URLSearchParams(filterQuery).get("label") ?? ""} />
          </label>
          <label>
            Min score{" "}
            <input
              name="min_score"
              value={new URLSearchParams(filterQuery).get("min_score") ?? ""}
            />
          </label>
          <button type="submit">Filter</button>
        </form>
        {error === null ? null : <p class="banner error" role="alert">{error}</p>}
        {error === null ? <FlowTable flows={flows} /> : null}
        <p class="pager">
          <a href={flowsUrl}>All flows of {ip}, with every filter →</a>
        </p>
      </main>
    </Layout>
  );
};
