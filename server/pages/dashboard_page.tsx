/**
 * The dashboard at `/`: headline numbers, charts (drawn by `charts.js` with
 * uPlot from `GET /api/dashboard`, which it polls), top talkers and services,
 * and the latest flows. The server renders every number, so the page reads
 * without script too; the script draws the charts and keeps it current.
 *
 * @module
 */
import type { IncidentRow } from "@traffic-analyzer/shared/db";
import { IncidentTable } from "./incident_table.tsx";
import type { FC } from "hono/jsx";
import type { FlowRow } from "@traffic-analyzer/shared/db";
import { DASHBOARD_PERIODS } from "@traffic-analyzer/shared/db";
import type { DashboardView } from "../routes/dashboard.ts";
import { Layout, type PageContext } from "./layout.tsx";
import { FlowTable, isoTime } from "./flow_table.tsx";
import { humanDuration, siNumber } from "./format.ts";

const PERIOD_NAMES: Record<string, string> = {
  "15m": "15 min",
  "1h": "1 hour",
  "24h": "24 hours",
  "7d": "7 days",
};

/** Links to the same page for each period. */
export const PeriodLinks: FC<{ base: string; current: string }> = ({ base, current }) => (
  <p class="periods">
    Period: {Object.keys(DASHBOARD_PERIODS).map((period) => (
      <a
        href={`${base}?period=${period}`}
        aria-current={period === current ? "page" : undefined}
        class={period === current ? "current" : ""}
      >
        {PERIOD_NAMES[period]}
      </a>
    ))}
  </p>
);

/** A sentence on which period the numbers cover. */
export function periodSentence(view: {
  period: string;
  start_sec: number;
  end_sec: number;
  anchor: string;
  newest_flow_sec: number | null;
}, nowSec: number): string {
  const span = `${isoTime(view.start_sec)} to ${isoTime(view.end_sec)} UTC`;
  if (view.anchor === "newest_flow") {
    return `No traffic in the last ${PERIOD_NAMES[view.period]}: showing the ${
      PERIOD_NAMES[view.period]
    } up to the newest flow, seen ${humanDuration(nowSec - view.end_sec)} ago (${span}).`;
  }
  return `Last ${PERIOD_NAMES[view.period]}: ${span}.`;
}

/** One headline number. */
const Headline: FC<{ field: string; label: string; value: string }> = (
  { field, label, value },
) => (
  <div class="card">
    <dt>{label}</dt>
    <dd data-field={field}>{value}</dd>
  </div>
);

/** Top lists as tables with a bar per row (a `<meter>`: no script, no inline style). */
export const TopTable: FC<{
  id: string;
  head: string[];
  rows: { cells: (string | { href: string; text: string })[]; value: number }[];
}> = ({ id, head, rows }) => {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <table class="top" id={id}>
      <thead>
        <tr>
          {head.map((h) => <th key={h}>{h}</th>)}
          <th></th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0
          ? (
            <tr>
              <td colspan={head.length + 1} class="muted">No traffic in this period.</td>
            </tr>
          )
          : rows.map((row) => (
            <tr>
              {row.cells.map((cell, i) =>
                typeof cell === "string" ? <td key={i}>{cell}</td> : (
                  <td key={i}>
                    <a href={cell.href}>{cell.text}</a>
                  </td>
                )
              )}
              <td class="bar">
                <meter min="0" max={String(max)} value={String(row.value)}></meter>
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  );
};

/** Rows of the top talkers table. */
export function talkerRows(view: Pick<DashboardView, "top_talkers">) {
  return view.top_talkers.map((t) => ({
    cells: [
      { href: `/hosts/${encodeURIComponent(t.ip)}`, text: t.ip },
      t.names.join(", "),
      siNumber(t.bytes, "B"),
      siNumber(t.packets),
      String(t.flows),
    ],
    value: t.bytes,
  }));
}

/** Rows of the top services table. */
export function serviceRows(view: Pick<DashboardView, "top_services">) {
  return view.top_services.map((s) => ({
    cells: [
      {
        href: `/alltraffic_page?protocol=${encodeURIComponent(s.protocol)}&resp_port=${s.port}`,
        text: `${s.port}/${s.protocol}`,
      },
      s.names.join(", "),
      siNumber(s.bytes, "B"),
      String(s.flows),
      String(s.responders),
    ],
    value: s.bytes,
  }));
}

/** Props of {@link DashboardPage}. */
export interface DashboardPageProps {
  page: PageContext;
  view: DashboardView;
  latest: FlowRow[];
  /** The newest incidents, newest activity first. */
  incidents: IncidentRow[];
  /** The `end` the page was asked for, kept by the script's polls; null: follow now. */
  end: number | null;
}

/** `GET /`: the dashboard. */
export const DashboardPage: FC<DashboardPageProps> = ({ page, view, latest, incidents, end }) => {
  const h = view.headline;
  return (
    <Layout
      title="Dashboard"
      page={page}
      scripts={["uPlot.iife.min.js", "charts.js"]}
      styles={["uPlot.min.css"]}
      pageName="dashboard"
    >
      <main
        id="dashboard"
        data-period={view.period}
        data-end={end === null ? "" : String(end)}
      >
        <PeriodLinks base="/" current={view.period} />
        <p id="period-sentence" class="muted">{periodSentence(view, view.generated_sec)}</p>
        {/* Filled by the script when a poll finds the pipeline in trouble. */}
        <p id="pipeline-warning" role="status" hidden></p>
        <p id="freshness" class="muted">
          Updated {isoTime(view.generated_sec)} UTC
          {view.aggregator.last_pass_at === null
            ? "; no aggregation pass has run yet."
            : `; last aggregation pass ${view.aggregator.last_pass_at}.`}
        </p>
        <dl class="headline">
          <Headline
            field="packets_per_sec"
            label="Packets/s (last 60 s)"
            value={siNumber(h.packets_per_sec)}
          />
          <Headline
            field="bytes_per_sec"
            label="Bytes/s (last 60 s)"
            value={siNumber(h.bytes_per_sec, "B")}
          />
          <Headline field="active_flows" label="Active flows" value={String(h.active_flows)} />
          <Headline field="flows_seen" label="Flows seen" value={String(h.flows_seen)} />
          {view.open_incidents === null ? null : (
            <Headline
              field="open_incidents"
              label="Open incidents"
              value={String(view.open_incidents)}
            />
          )}
          <Headline
            field="agents_reporting"
            label="Agents reporting"
            value={String(view.agents_reporting)}
          />
          <Headline
            field="aggregator_lag"
            label="Aggregator lag"
            value={view.aggregator.lag_packets === 0
              ? "none"
              : `${view.aggregator.lag_packets} packets, ${humanDuration(view.aggregator.lag_sec)}`}
          />
        </dl>
        <section class="charts">
          <figure>
            <figcaption>Packets per second, stacked by protocol</figcaption>
            <div class="chart" id="chart-packets"></div>
          </figure>
          <figure>
            <figcaption>Bytes per second, stacked by protocol</figcaption>
            <div class="chart" id="chart-bytes"></div>
          </figure>
          <figure>
            <figcaption>Flows started, by predicted class</figcaption>
            <div class="chart" id="chart-classes"></div>
          </figure>
        </section>
        <section class="tops">
          <div>
            <h2>Top talkers</h2>
            <TopTable
              id="top-talkers"
              head={["Host", "Names", "Bytes", "Packets", "Flows"]}
              rows={talkerRows(view)}
            />
          </div>
          <div>
            <h2>Top services</h2>
            <TopTable
              id="top-services"
              head={["Service", "Names", "Bytes", "Flows", "Servers"]}
              rows={serviceRows(view)}
            />
          </div>
        </section>
        <h2>
          Newest incidents <a href="/alerts">(all)</a>
        </h2>
        {incidents.length === 0
          ? <p class="muted">No incident.</p>
          : <IncidentTable incidents={incidents} back="/" />}
        <h2>Latest flows</h2>
        <div id="latest-flows">
          <FlowTable flows={latest} />
        </div>
      </main>
    </Layout>
  );
};
