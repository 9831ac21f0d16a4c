/**
 * The flow page's "Application" block: the names and details the agent
 * extracted from the flow's packets (DNS, TLS/QUIC, HTTP, SSH, DHCP). DNS
 * TTL and CNAMEs are kept per packet, so they come from the flow's stored
 * packets on the page, when retention still has them.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { FlowAppDetail } from "@traffic-analyzer/shared/db";
import type { FlowPacket } from "../flow_detail_view.ts";

/** DNS query types by number, the common ones. */
const DNS_TYPES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  65: "HTTPS",
  255: "ANY",
};

/** DNS response codes by number. */
const DNS_RCODES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

const named = (table: Record<number, string>, value: number | null) =>
  value === null ? "–" : table[value] ? `${table[value]} (${value})` : String(value);

const Row: FC<{ term: string; value: string | number | null; id?: string }> = (
  { term, value, id },
) =>
  value === null || value === "" ? null : (
    <>
      <dt>{term}</dt>
      <dd id={id}>{String(value)}</dd>
    </>
  );

/** Props of {@link FlowAppSection}. */
export interface FlowAppSectionProps {
  app: FlowAppDetail;
  /** The page of packets shown, for the DNS TTL and CNAMEs. */
  packets: FlowPacket[];
}

/** The Application block; nothing when the flow carries no application metadata. */
export const FlowAppSection: FC<FlowAppSectionProps> = ({ app, packets }) => {
  const { dns, tls, http, ssh, dhcp } = app;
  if (app.app_protocol === null && !dns && !tls && !http && !ssh && !dhcp) return null;
  const ttl = packets.find((p) => p.dns_ttl !== null)?.dns_ttl ?? null;
  const cnames = packets.find((p) => p.dns_cnames !== null)?.dns_cnames ?? null;
  return (
    <section id="flow-app">
      <h2>Application</h2>
      <dl class="facts">
        <Row term="Application protocol" value={app.app_protocol} />
        {dns
          ? (
            <>
              <Row term="DNS query" value={dns.query} id="dns-query" />
              <Row
                term="Query type"
                value={dns.qtype === null ? null : named(DNS_TYPES, dns.qtype)}
              />
              <Row
                term="Response code"
                value={dns.rcode === null ? null : named(DNS_RCODES, dns.rcode)}
              />
              <dt>Answers</dt>
              <dd id="dns-answers">
                {dns.answers.length === 0
                  ? "none seen"
                  : `${dns.answers.length}: ${dns.answers.join(", ")}`}
              </dd>
              <Row term="TTL of the first answer" value={ttl === null ? null : `${ttl} s`} />
              <Row term="CNAMEs" value={cnames === null ? null : cnames.split(",").join(", ")} />
              <Row term="Queries in the flow" value={dns.query_count} />
              <Row term="Names" value={dns.names.join(", ")} />
            </>
          )
          : null}
        {tls
          ? (
            <>
              <Row term="Server name (SNI)" value={tls.sni} id="tls-sni" />
              <Row term="ALPN" value={tls.alpn} />
              <Row term="JA4" value={tls.ja4} />
              <Row term="JA3" value={tls.ja3} />
            </>
          )
          : null}
        {http
          ? (
            <>
              <Row term="HTTP request" value={[http.method, http.path].filter(Boolean).join(" ")} />
              <Row term="HTTP Host" value={http.host} id="http-host" />
              <Row term="User agent" value={http.user_agent} />
              <Row term="HTTP status" value={http.status} />
            </>
          )
          : null}
        {ssh
          ? (
            <>
              <Row term="SSH client" value={ssh.client} />
              <Row term="SSH server" value={ssh.server} />
            </>
          )
          : null}
        {dhcp ? <Row term="DHCP host name" value={dhcp.hostname} /> : null}
      </dl>
    </section>
  );
};
