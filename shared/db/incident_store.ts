/**
 * Builds incidents inside an aggregation pass's transaction, after the pass
 * has written its flows to `traffic_data`: so incidents and flows commit
 * together or not at all, and a pass that is killed and rerun builds the same
 * incidents.
 *
 * Membership is kept per flow (`incident_flows`, keyed by `flow_uid`), and an
 * incident's counts are recomputed from its member flows as stored now: a
 * flow written again by a later pass (a live flow grows) is never counted
 * twice, and a flow rescored benign or below the minimum leaves its incident
 * (an incident left with no flow is deleted).
 *
 * @module
 */
import {
  assignIncidents,
  type IncidentFlowInput,
  type IncidentKeyKind,
  type OpenIncident,
} from "./incident_grouping.ts";
import type { PGlite } from "@electric-sql/pglite";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyBinaryRows } from "./copy_binary_rows.ts";
import { openCopyIn } from "./copy_in.ts";
import type { Sql } from "./open_database.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";
import { copyFromBytesOnPglite } from "./pglite_blob_copy.ts";
import { StatementPipeline } from "./statement_pipeline.ts";

/** An open incident as `incidents` stores it (its key address as text). */
interface OpenIncidentRow {
  id: number;
  label: string;
  key_kind: IncidentKeyKind;
  key_ip: string;
  first_seen: number;
  last_seen: number;
}

/** Options for {@link recordIncidents}. */
export interface RecordIncidentsOptions {
  /** The pass's flows with a non-benign label, whatever their score, once each. */
  flagged: readonly IncidentFlowInput[];
  /**
   * More flagged flows, taken as coming before `flagged`: ones first stored
   * in this transaction, as if their uids were in `newUids`, without a
   * look-up each (a pass's COPY: 303k of them in the bench's pass). None
   * of them may be in `flagged` too. @default none
   */
  newFlagged?: readonly IncidentFlowInput[];
  /** The pass's benign flows that may have been flagged before (stored already). */
  clearedUids: readonly string[];
  /** Flows scored below this join no incident (ALERT_MIN_SCORE). */
  minScore: number;
  /** See `AssignIncidentsOptions.windowSec`. */
  windowSec: number;
  /**
   * Uids of flagged flows first stored in this transaction (a pass's COPY):
   * no incident can hold them yet, and no other transaction can see them,
   * so they are neither looked up in `incident_flows` nor inserted with
   * conflict handling. @default none
   */
  newUids?: ReadonlySet<string>;
  /**
   * The embedded PGlite behind `tx` (`embeddedPglite()` of its handle), so
   * new members go in by its own `COPY FROM '/dev/blob'`; null on
   * PostgreSQL, where they go by `COPY FROM STDIN` on `tx` (which PGlite's
   * socket does not carry: give it on PGlite whenever `newFlagged` or
   * `newUids` is given). @default null
   */
  pglite?: PGlite | null;
}

/** What {@link recordIncidents} did. */
export interface RecordIncidentsResult {
  /** Incidents opened. */
  opened: number;
  /** Incidents whose flows changed (opened ones included). */
  touched: number;
}

/** Uids per statement: bounded parameters, as in `upsertFlows`. */
const CHUNK = 5000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** An incident's numbers, as the recompute in {@link recordIncidents} derives them from its flows. */
interface IncidentNumbers {
  flows: number;
  ports: number;
  targets: number;
  sources: number;
  firstSeen: number;
  lastSeen: number;
  maxScore: number;
}

/**
 * The numbers of an incident whose flows are all `flows`, exactly as the
 * recompute over `traffic_data` gives them for flows stored as they are
 * here (a pass's COPY): distinct counts skip nulls, and a score is stored as
 * `real`, so its maximum is taken over the float32 values.
 */
function incidentNumbers(flows: readonly IncidentFlowInput[]): IncidentNumbers {
  const ports = new Set<number>();
  const targets = new Set<string>();
  const sources = new Set<string>();
  let firstSeen = Infinity;
  let lastSeen = -Infinity;
  let maxScore = -Infinity;
  for (const flow of flows) {
    if (flow.respPort !== null) ports.add(flow.respPort);
    if (flow.respIp !== null) targets.add(flow.respIp);
    if (flow.origIp !== null) sources.add(flow.origIp);
    firstSeen = Math.min(firstSeen, flow.firstSeen);
    lastSeen = Math.max(lastSeen, flow.lastSeen);
    maxScore = Math.max(maxScore, Math.fround(flow.score));
  }
  return {
    flows: flows.length,
    ports: ports.size,
    targets: targets.size,
    sources: sources.size,
    firstSeen,
    lastSeen,
    maxScore,
  };
}

/**
 * Inserts the incidents a pass opens, in two statements whatever their
 * number: ids are drawn from the sequence first, in the order the incidents
 * were opened (as one insert each did), then every row goes in at once. A
 * 1.5 M-packet pass of the bench capture opens 208 incidents: 208 round
 * trips before, each waiting its turn on the loaded 2-core machine (the
 * opening step, grouping included, took 0.9 to 3.8 s there). Each row
 * carries its final numbers (`numbers`, computed from its flows); the
 * caller recomputes those it could not compute. Returns the ids in `opened`
 * order.
 */
async function openIncidents(
  tx: Sql,
  opened: readonly Pick<OpenIncident, "label" | "keyKind" | "keyIp">[],
  numbers: readonly IncidentNumbers[],
  minScore: number,
): Promise<number[]> {
  if (opened.length === 0) return [];
  const ids = (await tx<{ id: number }[]>`
    select nextval(pg_get_serial_sequence('incidents', 'id')) as id
    from generate_series(1, ${opened.length}::int)`).map((row) => row.id);
  const col = (pick: (n: IncidentNumbers) => number) => pgArrayLiteral(numbers.map(pick));
  await tx`
    insert into incidents (id, label, key_kind, key_ip, flow_count, port_count, target_count,
      source_count, first_seen, last_seen, max_score, min_score)
    select u.*, ${minScore}::real from unnest(
      ${pgArrayLiteral(ids)}::text::int8[],
      ${pgArrayLiteral(opened.map((incident) => incident.label))}::text::text[],
      ${pgArrayLiteral(opened.map((incident) => incident.keyKind))}::text::text[],
      ${pgArrayLiteral(opened.map((incident) => incident.keyIp))}::text::inet[],
      ${col((n) => n.flows)}::text::int8[], ${col((n) => n.ports)}::text::int8[],
      ${col((n) => n.targets)}::text::int8[], ${col((n) => n.sources)}::text::int8[],
      ${col((n) => n.firstSeen)}::text::float8[], ${col((n) => n.lastSeen)}::text::float8[],
      ${col((n) => n.maxScore)}::text::real[]) as u`;
  return ids;
}

/**
 * Inserts incident members. Flows first stored in this transaction go in
 * without conflict handling (EXPLAIN ANALYZE of 303k rows: 3.9-4.1 s, where
 * the upsert took 4.1-5.9 s), in one statement that sorts them by uid
 * first: the primary key's B-tree then takes them in order, which saved
 * PostgreSQL about 0.2 s of the 1.4 s the bench's 303k members took in
 * 5,000-row statements (sorting them in JavaScript cost the pass as much as
 * it saved). The rest move to their incident if they are in one already,
 * in pipelined statements of 5,000.
 */
async function insertMembers(
  tx: Sql,
  members: readonly [string, number][],
  mayExist: boolean,
  pglite: PGlite | null,
): Promise<void> {
  if (members.length === 0) return;
  if (!mayExist) return await copyNewMembers(tx, members, pglite);
  // Pipelined: the next chunk's arrays are encoded while PostgreSQL inserts this one.
  const pipeline = new StatementPipeline();
  for (let i = 0; i < members.length; i += CHUNK) {
    const part = members.slice(i, i + CHUNK);
    pipeline.send(tx`
      insert into incident_flows (flow_uid, incident_id)
      select * from unnest(${pgArrayLiteral(part.map((member) => member[0]))}::text[],
        ${pgArrayLiteral(part.map((member) => member[1]))}::int8[])
      on conflict (flow_uid) do update set incident_id = excluded.incident_id`);
  }
  await pipeline.drain();
}

/** Bytes of COPY data handed to the socket at a time (as `openFlowCopy` does). */
const MEMBER_COPY_CHUNK_BYTES = 64 * 1024;

/**
 * Members no row holds yet (flows first stored in this transaction), by
 * binary COPY in `flow_uid` order. The 303k members of the bench's 1.5 M-
 * packet pass took 2.3 s as one `insert ... select from unnest()` of two
 * array literals (building and parsing the literals, then the insert); in
 * psql, 303k such rows took 1.41 s by that insert, 0.37 s by a binary COPY in
 * key order and 1.79 s by one in random order (the primary key's B-tree is
 * filled left to right), so they are sorted here, as the insert sorted them.
 * Flow uids are ASCII, where JavaScript's string order is the "C" collation's
 * byte order; any other text would only cost speed, not correctness. The
 * uids are sorted alone, by the built-in order, and their incidents looked
 * up after: sorting the pairs with a comparator took twice as long (335 against
 * 165 ms for 303k uids).
 */
async function copyNewMembers(
  tx: Sql,
  members: readonly [string, number][],
  pglite: PGlite | null,
): Promise<void> {
  // A uid is a member once (the caller's members come from a map by uid).
  const incidentOf = new Map(members);
  const uids = [...incidentOf.keys()].sort();
  const rows = new CopyBinaryRows(2 * MEMBER_COPY_CHUNK_BYTES);
  rows.raw(COPY_BINARY_HEADER);
  if (pglite) {
    // PGlite reads the parts in place: one COPY of them all, as packets go in.
    const parts: Uint8Array[] = [];
    for (const uid of uids) {
      writeMember(rows, uid, incidentOf.get(uid)!);
      if (rows.byteLength >= MEMBER_COPY_CHUNK_BYTES) parts.push(rows.take());
    }
    rows.raw(COPY_BINARY_TRAILER);
    parts.push(rows.take());
    return await copyFromBytesOnPglite(
      pglite,
      `copy incident_flows (flow_uid, incident_id) from '/dev/blob' with (format binary)`,
      parts,
    );
  }
  const copy = await openCopyIn(
    tx`copy incident_flows (flow_uid, incident_id) from stdin (format binary)`,
  );
  const sent: Promise<void>[] = [];
  try {
    for (const uid of uids) {
      writeMember(rows, uid, incidentOf.get(uid)!);
      if (rows.byteLength >= MEMBER_COPY_CHUNK_BYTES) sent.push(copy.write(rows.take()));
    }
    rows.raw(COPY_BINARY_TRAILER);
    sent.push(copy.write(rows.take()));
  } catch (error) {
    // A half-written row must not reach the server, nor the COPY stay open.
    for (const sending of sent) sending.catch(() => {});
    await copy.abort(error as Error);
    throw error;
  }
  await Promise.all(sent);
  await copy.end();
}

function writeMember(rows: CopyBinaryRows, uid: string, incidentId: number): void {
  rows.row(2);
  rows.text(uid);
  rows.int8(incidentId);
}

/**
 * Adds a pass's flagged flows to incidents (opening new ones), takes cleared
 * flows out, and recomputes the counts of every incident that changed. Runs
 * on the pass's transaction `tx`, after its flows are written.
 */
export async function recordIncidents(
  tx: Sql,
  options: RecordIncidentsOptions,
): Promise<RecordIncidentsResult> {
  const { minScore } = options;
  if (!(minScore >= 0 && minScore <= 1)) {
    throw new RangeError(
      `Cannot record incidents as 'minScore' must be 0..1: current value is ${minScore}`,
    );
  }
  const touched = new Set<number>();
  /** Opened incidents whose numbers were computed from the pass's flows (not recomputed). */
  const computed = new Set<number>();

  // Flows that leave their incident: benign now, below the minimum, or of another class now.
  const leaving: string[] = [...options.clearedUids];
  // Flows to add to an incident, the new ones first.
  const fresh: IncidentFlowInput[] = [];
  for (const flow of options.newFlagged ?? []) {
    if (flow.score >= minScore) fresh.push(flow);
    else leaving.push(flow.flowUid);
  }
  const qualifying: IncidentFlowInput[] = [];
  for (const flow of options.flagged) {
    if (flow.score >= minScore) qualifying.push(flow);
    else leaving.push(flow.flowUid);
  }
  for (const uids of chunks(leaving)) {
    const rows = await tx<{ incident_id: number }[]>`
      delete from incident_flows where flow_uid = any(${pgArrayLiteral(uids)}::text[])
      returning incident_id`;
    for (const row of rows) touched.add(row.incident_id);
  }
  const newUids = options.newUids ?? null;
  const known: IncidentFlowInput[] = [];
  for (const flow of qualifying) {
    if (newUids !== null && newUids.has(flow.flowUid)) fresh.push(flow);
    else known.push(flow);
  }
  // The flows of `fresh` that are not new: those of `known` it takes. Few
  // where a pass's COPY brings most, so testing this set is cheaper than
  // testing every flow against the new ones.
  const storedBefore = new Set<string>();
  for (const part of chunks(known)) {
    const members = await tx<{ flow_uid: string; incident_id: number; label: string }[]>`
      select f.flow_uid, f.incident_id, i.label
      from incident_flows f join incidents i on i.id = f.incident_id
      where f.flow_uid = any(${pgArrayLiteral(part.map((f) => f.flowUid))}::text[])`;
    const memberOf = new Map(members.map((m) => [m.flow_uid, m]));
    const relabelled: string[] = [];
    for (const flow of part) {
      const member = memberOf.get(flow.flowUid);
      if (member === undefined) {
        fresh.push(flow);
        storedBefore.add(flow.flowUid);
      } else {
        // Its numbers may have changed either way.
        touched.add(member.incident_id);
        if (member.label !== flow.label) {
          relabelled.push(flow.flowUid);
          fresh.push(flow);
          storedBefore.add(flow.flowUid);
        }
      }
    }
    if (relabelled.length > 0) {
      await tx`delete from incident_flows where flow_uid = any(${
        pgArrayLiteral(relabelled)
      }::text[])`;
    }
  }

  let opened = 0;
  if (fresh.length > 0) {
    const labels = [...new Set(fresh.map((f) => f.label))];
    let earliest = Infinity;
    for (const flow of fresh) earliest = Math.min(earliest, flow.firstSeen);
    // Locked: an acknowledgement waits for this pass rather than racing it.
    const openRows = await tx<OpenIncidentRow[]>`
      select id, label, key_kind, host(key_ip) as key_ip, first_seen, last_seen
      from incidents
      where state = 'open' and label = any(${pgArrayLiteral(labels)}::text[])
        and last_seen >= ${earliest - options.windowSec}::float8
      for update`;
    const open = openRows.map((row): OpenIncident => ({
      id: row.id,
      label: row.label,
      keyKind: row.key_kind,
      keyIp: row.key_ip,
      firstSeen: row.first_seen,
      lastSeen: row.last_seen,
    }));
    const assignment = assignIncidents(fresh, { open, windowSec: options.windowSec });
    // An opened incident whose flows were all first stored by this pass holds
    // them exactly as `fresh` has them: its numbers are computed here, not
    // recomputed by joining its flows back to traffic_data (a 1.5 M-packet
    // pass of the bench capture opens 208 incidents of 270k flows between
    // them, and that join was most of its incident step).
    const members = new Map<number, IncidentFlowInput[]>();
    const recompute = new Set<number>();
    for (const flow of fresh) {
      const ref = assignment.flows.get(flow.flowUid);
      if (ref === undefined || !("opened" in ref)) continue;
      let list = members.get(ref.opened);
      if (list === undefined) members.set(ref.opened, list = []);
      list.push(flow);
      if (storedBefore.has(flow.flowUid)) recompute.add(ref.opened);
    }
    const numbers = assignment.opened.map((_, index) => incidentNumbers(members.get(index)!));
    const openedIds = await openIncidents(tx, assignment.opened, numbers, minScore);
    opened = openedIds.length;
    const added: [string, number][] = [];
    const moved: [string, number][] = [];
    for (const [uid, ref] of assignment.flows) {
      const id = "id" in ref ? ref.id : openedIds[ref.opened];
      (storedBefore.has(uid) ? moved : added).push([uid, id]);
      if ("id" in ref || recompute.has(ref.opened)) touched.add(id);
      else computed.add(id);
    }
    await insertMembers(tx, added, false, options.pglite ?? null);
    await insertMembers(tx, moved, true, null);
  }

  if (touched.size > 0) {
    const ids = pgArrayLiteral([...touched].sort((a, b) => a - b));
    await tx`
      update incidents i set
        flow_count = a.flows, port_count = a.ports, target_count = a.targets,
        source_count = a.sources, first_seen = a.first_seen, last_seen = a.last_seen,
        max_score = a.max_score, updated_at = now()
      from (
        select f.incident_id, count(*) as flows, count(distinct t.resp_port) as ports,
          count(distinct t.resp_ip) as targets, count(distinct t.orig_ip) as sources,
          min(t.first_seen) as first_seen, max(t.last_seen) as last_seen,
          max(t.score) as max_score
        from incident_flows f join traffic_data t on t.flow_uid = f.flow_uid
        where f.incident_id = any(${ids}::int8[])
        group by f.incident_id
      ) a
      where i.id = a.incident_id`;
    await tx`
      delete from incidents i
      where i.id = any(${ids}::int8[])
        and not exists (select 1 from incident_flows f where f.incident_id = i.id)`;
  }
  return { opened, touched: touched.size + computed.size };
}
