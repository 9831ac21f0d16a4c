/**
 * Links from an incident to its flows, shared by the API (`flows_url`), the
 * `/alerts` page and any page that lists incidents (the dashboard).
 *
 * @module
 */
import type { IncidentRow } from "@traffic-analyzer/shared/db";

/**
 * The flow-search query that shows an incident's flows: its class, its key
 * (originator or responder), its time span and its minimum score. The same
 * parameters work on `/alltraffic_page`, `/api/alltraffic` and `/api/pcap`.
 */
export function incidentFlowsQuery(incident: IncidentRow): string {
  const params = new URLSearchParams();
  params.set("label", incident.label);
  params.set(incident.key_kind === "source" ? "orig_ip" : "resp_ip", incident.key_ip);
  params.set("from", String(incident.first_seen));
  params.set("to", String(incident.last_seen));
  params.set("min_score", String(incident.min_score));
  return params.toString();
}

/** `/alltraffic_page?…`: the page of an incident's flows. */
export function incidentFlowsUrl(incident: IncidentRow): string {
  return `/alltraffic_page?${incidentFlowsQuery(incident)}`;
}
