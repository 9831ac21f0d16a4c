/**
 * The incidents page at `/alerts`: a filter form (state, class, time), one
 * page of incidents, each with a link to its flows and an acknowledge button
 * (a plain form POST: the pages run no inline script).
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { IncidentRow } from "@traffic-analyzer/shared/db";
import { Layout, type PageContext } from "./layout.tsx";
import { IncidentTable } from "./incident_table.tsx";

/** Props of {@link AlertsPage}. */
export interface AlertsPageProps {
  /** App context. */
  page: PageContext;
  /** The query as the user gave it (shown back in the form, escaped). */
  query: Record<string, string>;
  /** The incidents of this page. */
  incidents: IncidentRow[];
  /** The next page's URL, or null on the last page. */
  nextUrl: string | null;
  /** Why the query was refused, or null. */
  error: string | null;
}

const TEXT_FIELDS: readonly [string, string, string][] = [
  ["label", "Classes", "portscan,syn_flood"],
  ["ip", "Address or CIDR", "10.0.0.0/8"],
  ["from", "Active from", "2026-01-31T12:00:00Z"],
  ["to", "Active to", ""],
];

/** `GET /alerts`: incidents, newest activity first. */
export const AlertsPage: FC<AlertsPageProps> = ({ page, query, incidents, nextUrl, error }) => {
  const firstPage = new URLSearchParams(
    Object.entries(query).filter(([name, value]) => name !== "cursor" && value !== ""),
  ).toString();
  // Where an acknowledgement comes back to: this very view.
  const back = `/alerts${
    Object.keys(query).length > 0 ? `?${new URLSearchParams(query).toString()}` : ""
  }`;
  return (
    <Layout title="Incidents" page={page}>
      <p class="muted">
        One row per incident: the flagged flows of one class from one source (or, for floods, to one
        target) close together in time. Acknowledged incidents take no new flows.
      </p>
      <form class="filters" method="get" action="/alerts">
        <label>
          State
          <select name="state">
            {["", "open", "acknowledged"].map((value) => (
              <option value={value} selected={(query.state ?? "") === value}>
                {value === "" ? "any" : value}
              </option>
            ))}
          </select>
        </label>
        {TEXT_FIELDS.map(([name, label, placeholder]) => (
          <label>
            {label}
            <input name={name} value={query[name] ?? ""} placeholder={placeholder} />
          </label>
        ))}
        <button type="submit">Search</button> <a href="/alerts">Clear</a>
      </form>
      {error === null ? null : <p class="banner error" role="alert">{error}</p>}
      {error !== null
        ? null
        : incidents.length === 0
        ? <p class="muted">No incidents. The aggregator builds them as it scores flows.</p>
        : <IncidentTable incidents={incidents} back={back} />}
      <p class="pager">
        <a href={`/alerts${firstPage ? `?${firstPage}` : ""}`}>First page</a>
        {nextUrl === null ? null : (
          <>
            {" · "}
            <a href={nextUrl}>Next page →</a>
          </>
        )}
        {" · "}
        <a href={`/api/alerts${firstPage ? `?${firstPage}` : ""}`}>JSON</a>
      </p>
    </Layout>
  );
};
