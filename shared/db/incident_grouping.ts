/**
 * Which incident each flagged flow of a pass joins: the pure part of
 * incident building (no database), so its rules are tested on their own.
 *
 * A flow is keyed by what the flows of its class have in common: a scan or a
 * brute force comes from one source to many ports or targets, a flood with
 * spoofed sources goes from many sources to one target. So a flow is keyed by
 * its target when more distinct sources of its class reach that target in the
 * pass than its own source reaches distinct targets and ports, else by its
 * source. It joins the open incident of its class with that key (a lone flow
 * may join its target's) when it falls within `windowSec` of the incident's
 * activity, and otherwise opens one.
 *
 * @module
 */

/** A flow flagged by the model (non-benign, scored at least the minimum). */
export interface IncidentFlowInput {
  /** The flow's `flow_uid`. */
  flowUid: string;
  /** Predicted class. */
  label: string;
  /** The flow's score: the calibrated probability of an attack. */
  score: number;
  /** The originator's address, or null when the flow has none. */
  origIp: string | null;
  /** The responder's address, or null when the flow has none. */
  respIp: string | null;
  /** The responder's port, or null for a protocol without ports. */
  respPort: number | null;
  /** Packet time of the flow's first packet, epoch seconds. */
  firstSeen: number;
  /** Packet time of the flow's last packet, epoch seconds. */
  lastSeen: number;
}

/** An open incident a flow may join. */
export interface OpenIncident {
  /** The incident's id. */
  id: number;
  /** The predicted class of its flows. */
  label: string;
  /** Whether its flows share their source or their target. */
  keyKind: IncidentKeyKind;
  /** The address its flows share. */
  keyIp: string;
  /** Packet time of its first flow activity, epoch seconds. */
  firstSeen: number;
  /** Packet time of its last flow activity, epoch seconds. */
  lastSeen: number;
}

/** What an incident's flows share: their originator or their responder. */
export type IncidentKeyKind = "source" | "target";

/** An incident to open: its class and its key. */
export interface NewIncident {
  /** The predicted class of its flows. */
  label: string;
  /** Whether its flows share their source or their target. */
  keyKind: IncidentKeyKind;
  /** The address its flows share. */
  keyIp: string;
}

/** Where each flow goes: an existing incident's id, or an index into `opened`. */
export interface IncidentAssignment {
  /** Incidents to open, in the order their first flow came. */
  opened: NewIncident[];
  /** Flow uid to `{ id }` (existing incident) or `{ opened }` (index into `opened`). */
  flows: Map<string, { id: number } | { opened: number }>;
}

/** Options for {@link assignIncidents}. */
export interface AssignIncidentsOptions {
  /** Incidents still open that the flows may join. */
  open: readonly OpenIncident[];
  /**
   * A flow joins an incident when it starts at most this long after the
   * incident's last activity (or ends at most this long before its first).
   */
  windowSec: number;
}

interface Slot {
  ref: { id: number } | { opened: number };
  firstSeen: number;
  lastSeen: number;
}

/**
 * Values by class, then by address: the flows' own strings as keys, whose
 * hashes V8 keeps, where a key string per flow and use (`label\0kind\0ip`,
 * four or five a flow) had to be built and hashed each time.
 */
class ByClassAndIp<T> {
  readonly #byLabel = new Map<string, Map<string | null, T>>();

  get(label: string, ip: string | null): T | undefined {
    return this.#byLabel.get(label)?.get(ip);
  }

  set(label: string, ip: string | null, value: T): void {
    let byIp = this.#byLabel.get(label);
    if (byIp === undefined) this.#byLabel.set(label, byIp = new Map());
    byIp.set(ip, value);
  }
}

/** Distinct (responder, port) pairs a source reached. */
interface Reach {
  pairs: Map<string | null, Set<number | null>>;
  size: number;
}

/**
 * Assigns flagged flows to incidents. Deterministic: the same flows and open
 * incidents give the same result whatever their order, so a pass that is
 * rerun builds the same incidents. Flows with neither address (ARP) are left
 * out: an incident is keyed by an address.
 */
export function assignIncidents(
  flows: readonly IncidentFlowInput[],
  options: AssignIncidentsOptions,
): IncidentAssignment {
  if (!(options.windowSec >= 0)) {
    throw new RangeError(
      `Cannot group incidents as 'windowSec' must be at least 0: current value is ${options.windowSec}`,
    );
  }
  const sorted = [...flows].sort((a, b) =>
    a.firstSeen - b.firstSeen || (a.flowUid < b.flowUid ? -1 : a.flowUid > b.flowUid ? 1 : 0)
  );
  // Distinct sources per (class, target) and distinct target ports per (class, source).
  const sourcesOf = new ByClassAndIp<Set<string>>();
  const reachOf = new ByClassAndIp<Reach>();
  for (const flow of sorted) {
    if (flow.respIp !== null && flow.origIp !== null) {
      let sources = sourcesOf.get(flow.label, flow.respIp);
      if (sources === undefined) sourcesOf.set(flow.label, flow.respIp, sources = new Set());
      sources.add(flow.origIp);
    }
    if (flow.origIp !== null) {
      let reach = reachOf.get(flow.label, flow.origIp);
      if (reach === undefined) {
        reachOf.set(flow.label, flow.origIp, reach = { pairs: new Map(), size: 0 });
      }
      let ports = reach.pairs.get(flow.respIp);
      if (ports === undefined) reach.pairs.set(flow.respIp, ports = new Set());
      if (!ports.has(flow.respPort)) {
        ports.add(flow.respPort);
        reach.size++;
      }
    }
  }

  // The most recent incident per key: the one a new flow may extend.
  const latest = { source: new ByClassAndIp<Slot>(), target: new ByClassAndIp<Slot>() };
  for (const incident of options.open) {
    const byKey = latest[incident.keyKind];
    const known = byKey.get(incident.label, incident.keyIp);
    if (known === undefined || incident.lastSeen > known.lastSeen) {
      byKey.set(incident.label, incident.keyIp, {
        ref: { id: incident.id },
        firstSeen: incident.firstSeen,
        lastSeen: incident.lastSeen,
      });
    }
  }

  const window = options.windowSec;
  const within = (slot: Slot | undefined, flow: IncidentFlowInput): slot is Slot =>
    slot !== undefined && flow.firstSeen <= slot.lastSeen + window &&
    flow.lastSeen >= slot.firstSeen - window;

  const result: IncidentAssignment = { opened: [], flows: new Map() };
  for (const flow of sorted) {
    const { label, origIp, respIp } = flow;
    const sources = respIp === null ? 0 : sourcesOf.get(label, respIp)?.size ?? 0;
    const reach = origIp === null ? 0 : reachOf.get(label, origIp)?.size ?? 0;
    const keyKind: IncidentKeyKind | null = origIp === null
      ? (respIp === null ? null : "target")
      : sources >= 2 && sources > reach
      ? "target"
      : "source";
    if (keyKind === null) continue;
    // Only the key this flow reads as: a scanner's probe to a host that
    // others reached too stays with the scan. A lone flow (its source
    // reaches nothing else in the pass) may join its target's incident
    // instead: a flood whose later pass brings a single source.
    const byTarget = respIp === null ? undefined : latest.target.get(label, respIp);
    const bySource = origIp === null ? undefined : latest.source.get(label, origIp);
    let slot: Slot | undefined;
    if (keyKind === "target") {
      if (within(byTarget, flow)) slot = byTarget;
    } else if (within(bySource, flow)) slot = bySource;
    else if (reach <= 1 && within(byTarget, flow)) slot = byTarget;
    if (slot === undefined) {
      const keyIp = keyKind === "target" ? respIp! : origIp!;
      result.opened.push({ label, keyKind, keyIp });
      slot = {
        ref: { opened: result.opened.length - 1 },
        firstSeen: flow.firstSeen,
        lastSeen: flow.lastSeen,
      };
      latest[keyKind].set(label, keyIp, slot);
    }
    slot.firstSeen = Math.min(slot.firstSeen, flow.firstSeen);
    slot.lastSeen = Math.max(slot.lastSeen, flow.lastSeen);
    result.flows.set(flow.flowUid, slot.ref);
  }
  return result;
}
