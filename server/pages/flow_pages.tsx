/**
 * The flow search at `/alltraffic_page`, whose filter lives in the URL (shareable, bookmarkable)
 * and is written by a plain GET form.
 *
 * @module
 */
import { APP_PROTOCOLS } from "@traffic-analyzer/shared/app_layer";
import type { FC } from "hono/jsx";
import type { FlowRow } from "@traffic-analyzer/shared/db";
import { Layout, type PageContext } from "./layout.tsx";
import { FlowTable } from "./flow_table.tsx";

/** The filter fields of the form, in order: query name, label, placeholder. */
const FILTER_FIELDS: readonly [string, string, string][] = [
  ["ip", "IP or CIDR (either end)", "10.0.0.0/8"],
  ["orig_ip", "Originator", ""],
  ["resp_ip", "Responder", ""],
  ["port", "Port (either end)", ""],
  ["resp_port", "Responder port", ""],
  ["protocol", "Protocol", "TCP"],
  ["label", "Labels", "portscan,syn_flood"],
  ["min_score", "Min score", "0.5"],
  ["community_id", "Community ID", ""],
  ["agent", "Agent", "sensor-1"],
  ["from", "Last seen from", "2026-01-31T12:00:00Z"],
  ["to", "Last seen to", ""],
  ["host", "Host (SNI, HTTP, DNS)", "*.example.com"],
  ["ja4", "JA4", "t13d1516h2_8daaf6152771_e5627efa2ab1"],
  ["country", "Country", "US"],
  ["asn", "ASN", "AS15169"],
];

const SELECT_FIELDS: readonly [string, string, readonly string[]][] = [
  ["state", "State", ["", "active", "closed"]],
  ["app", "App", ["", ...APP_PROTOCOLS]],
  ["sort", "Sort by", ["last_seen", "bytes", "packets", "score", "duration"]],
  ["order", "Order", ["desc", "asc"]],
  ["limit", "Per page", ["25", "100", "500", "1000"]],
];

/** Props of {@link FlowSearchPage}. */
export interface FlowSearchPageProps {
  /** App context. */
  page: PageContext;
  /** The query as the user gave it (shown back in the form, escaped). */
  query: Record<string, string>;
  /** The flows of this page. */
  flows: FlowRow[];
  /** The next page's URL, or null on the last page. */
  nextUrl: string | null;
  /** Why the query was refused, or null. */
  error: string | null;
}

/** `GET /alltraffic_page`: the filter form, one page of flows, links to the first and next page. */
export const FlowSearchPage: FC<FlowSearchPageProps> = ({ page, query, flows, nextUrl, error }) => {
  const firstPage = new URLSearchParams(
    Object.entries(query).filter(([name, value]) => name !== "cursor" && value !== ""),
  ).toString();
  return (
    <Layout title="Flows" page={page}>
      <form class="filters" method="get" action="/alltraffic_page">
        {FILTER_FIELDS.map(([name, label, placeholder]) => (
          <label>
            {label}
            <input name={name} value={query[name] ?? ""} placeholder={placeholder} />
          </label>
        ))}
        {SELECT_FIELDS.map(([name, label, values]) => (
          <label>
            {label}
            <select name={name}>
              {values.map((value) => (
                <option value={value} selected={(query[name] ?? values[0]) === value}>
                  {value === "" ? "any" : value}
                </option>
              ))}
            </select>
          </label>
        ))}
        <button type="submit">Search</button> <a href="/alltraffic_page">Clear</a>
      </form>
      {error === null ? null : <p class="banner error" role="alert">{error}</p>}
      {error === null ? <FlowTable flows={flows} /> : null}
      <p class="pager">
        <a href={`/alltraffic_page${firstPage ? `?${firstPage}` : ""}`}>First page</a>
        {nextUrl === null ? null : (
          <>
            {" · "}
            <a href={nextUrl}>Next page →</a>
          </>
        )}
        {" · "}
        <a href={`/api/alltraffic.csv${firstPage ? `?${firstPage}` : ""}`}>CSV</a>
      </p>
    </Layout>
  );
};
