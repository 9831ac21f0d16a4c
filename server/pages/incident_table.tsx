/**
 * Incidents as a table: class, key, counts, times, score, state, a link to
 * the flows and, where the page allows, an acknowledge button (a plain form
 * POST; the pages run no inline script). The `/alerts` page uses it, and a
 * dashboard can list the newest incidents with it.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { IncidentRow } from "@traffic-analyzer/shared/db";
import { incidentFlowsUrl } from "../incident_links.ts";

function isoTime(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().replace("T", " ").replace("Z", "");
}

/** Props of {@link IncidentTable}. */
export interface IncidentTableProps {
  /** The incidents, in the order to show. */
  incidents: IncidentRow[];
  /**
   * The page an acknowledgement returns to (`/`, or `/alerts` with its
   * query); null
   * shows no acknowledge buttons.
   */
  back: string | null;
}

/** The incident table (empty `incidents` render an empty table: the caller says "none"). */
export const IncidentTable: FC<IncidentTableProps> = ({ incidents, back }) => (
  <table>
    <thead>
      <tr>
        <th>Class</th>
        <th>From / to</th>
        <th>Flows</th>
        <th>Ports</th>
        <th>Targets</th>
        <th>Sources</th>
        <th>First seen (UTC)</th>
        <th>Last seen</th>
        <th>Max score</th>
        <th>State</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      {incidents.map((incident) => (
        <tr class={back !== null && incident.state === "open" ? "attack" : ""}>
          <td>{incident.label}</td>
          <td>
            {incident.key_kind === "source" ? "from " : "to "}
            {incident.key_ip}
          </td>
          <td>{incident.flow_count}</td>
          <td>{incident.port_count}</td>
          <td>{incident.target_count}</td>
          <td>{incident.source_count}</td>
          <td>{isoTime(incident.first_seen)}</td>
          <td>{isoTime(incident.last_seen)}</td>
          <td>{incident.max_score.toFixed(3)}</td>
          <td>{incident.state}</td>
          <td>
            <a href={incidentFlowsUrl(incident)}>Flows</a>
            {back !== null && incident.state === "open"
              ? (
                <form
                  class="inline"
                  method="post"
                  action={`/alerts/${incident.id}/acknowledge`}
                >
                  <input type="hidden" name="next" value={back} />
                  <button type="submit">Acknowledge</button>
                </form>
              )
              : null}
          </td>
        </tr>
      ))}
    </tbody>
  </table>
);
