/**
 * Folding a pass's new hours before they are written. A pass over a
 * backlog (or the bench's 1.5 M packets, which span 20 hours) fills hours
 * that the fold at its end closes at once: it wrote every host and service
 * row of those hours (108k of the bench's), then deleted all but the
 * biggest into `other` (all but 10k). Folded here instead, those rows are
 * never written.
 *
 * The roll-ups must come out exactly as writing and folding makes them,
 * bit for bit. The fold keeps the rows first by bytes, then by their key
 * as stored (so IPv6 addresses are ranked by their `host()` text, looked
 * up), and adds the rest into `other` in an order that depends on the plan
 * and on where the rows lie: only whole numbers give the same sum in any
 * order, so an hour whose remainder has a fraction (a flow spread over two
 * hours) is not folded ahead. Adding fractions in the fold's ranked order,
 * as PostgreSQL's plan for the bench's host fold does, gave a sum one bit
 * off on PGlite's plan. A table is folded ahead all or nothing, and only
 * when every hour the fold will close is new (no row stored, none of the
 * pass's upserted flows in it): rows left out move the other rows of the
 * table, and with them the order an hour folded the usual way would be
 * summed in. The bench's pass folds its services ahead; one host cell of
 * 1,706 in one of its 18 closed hours has a fraction, so its hosts are
 * written and folded as before.
 *
 * @module
 */
import type { DashboardRollupDeltas, HostCell, ServiceCell } from "./dashboard_rollups.ts";
import type { Sql } from "./open_database.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";

/** What a write leaves out, and the `other` rows it adds instead (see {@link planFoldAhead}). */
export interface FoldAhead {
  /** Cells not written: the fold would have moved them into `other`. */
  dropped: ReadonlySet<HostCell | ServiceCell>;
  /** `other` rows of the hours folded ahead (`ip` is `other`). */
  otherHosts: HostCell[];
  /** `other` rows of the hours folded ahead (`protocol` and `responder` are `other`, port 0). */
  otherServices: ServiceCell[];
}

/** Options for {@link planFoldAhead}. */
export interface FoldAheadOptions {
  /** The name of an hour's remainder row. */
  other: string;
  /** Hosts the fold keeps per hour. */
  hostsKept: number;
  /** Service responders the fold keeps per hour. */
  servicesKept: number;
}

/** Whole numbers whose sum is exact in any order: at most 2^53 in all. */
function wholeSum(values: readonly number[]): number | null {
  let sum = 0;
  let magnitude = 0;
  for (const value of values) {
    if (!Number.isInteger(value)) return null;
    sum += value;
    magnitude += Math.abs(value);
  }
  return magnitude <= Number.MAX_SAFE_INTEGER ? sum : null;
}

/**
 * An IPv4 address as PostgreSQL's `host()` writes it (no leading zeros):
 * stored as it is here. Others (IPv6) are looked up.
 */
const CANONICAL_IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Text order as the fold's `order by` compares these keys: they are ASCII
 * (protocol names, addresses as stored), whose order in the database's
 * collation (C or C.UTF-8) is their code points', as `<` compares here.
 */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The cells past the `kept` first in the fold's order: bytes, then the
 * row's key (`compareKeys`, on the addresses as stored).
 */
function foldedCells<T extends { bytes: number }>(
  cells: T[],
  kept: number,
  compareKeys: (a: T, b: T) => number,
): T[] {
  if (cells.length <= kept) return [];
  return [...cells].sort((a, b) => b.bytes - a.bytes || compareKeys(a, b)).slice(kept);
}

/**
 * Each address of `addresses` as `host()` stores it, or null when two of
 * them are stored as one (the database would add their rows together).
 */
async function storedAddresses(
  tx: Sql,
  addresses: ReadonlySet<string>,
): Promise<Map<string, string> | null> {
  const out = new Map<string, string>();
  const lookup: string[] = [];
  for (const address of addresses) {
    if (CANONICAL_IPV4.test(address)) out.set(address, address);
    else lookup.push(address);
  }
  if (lookup.length > 0) {
    const rows = await tx<{ address: string; stored: string }[]>`
      select a as address, host(a::inet) as stored
      from unnest(${pgArrayLiteral(lookup)}::text::text[]) as a`;
    for (const row of rows) out.set(row.address, row.stored);
  }
  return new Set(out.values()).size === out.size ? out : null;
}

function byHour<T extends { hour: number }>(cells: readonly T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const cell of cells) {
    let list = out.get(cell.hour);
    if (list === undefined) out.set(cell.hour, list = []);
    list.push(cell);
  }
  return out;
}

/**
 * One table's fold ahead over the `due` hours: the cells it leaves out and
 * the `other` row of each hour that folds any (`other` makes it, or gives
 * null when the sum could differ), or null when any hour cannot be folded
 * ahead.
 */
function foldTable<T extends { bytes: number }>(
  due: readonly number[],
  cellsByHour: ReadonlyMap<number, T[]>,
  kept: number,
  compareKeys: (a: T, b: T) => number,
  other: (hour: number, folded: readonly T[]) => T | null,
): { dropped: T[]; others: T[] } | null {
  const dropped: T[] = [];
  const others: T[] = [];
  for (const hour of due) {
    const folded = foldedCells(cellsByHour.get(hour) ?? [], kept, compareKeys);
    if (folded.length === 0) continue;
    const row = other(hour, folded);
    if (row === null) return null;
    for (const cell of folded) dropped.push(cell);
    others.push(row);
  }
  return dropped.length === 0 ? null : { dropped, others };
}

/**
 * Decides whether writing `deltas` (the pass's new flows) can leave out the
 * rows its fold would fold away, and if so what to write instead. `others`
 * are the pass's other deltas, written after these (the upserted flows).
 * Null writes and folds as usual.
 */
export async function planFoldAhead(
  tx: Sql,
  deltas: DashboardRollupDeltas,
  others: readonly DashboardRollupDeltas[],
  options: FoldAheadOptions,
): Promise<FoldAhead | null> {
  const hosts = byHour(deltas.hosts());
  const services = byHour(deltas.services());
  const passHours = new Set<number>([...hosts.keys(), ...services.keys()]);
  const otherHours = new Set<number>();
  for (const other of others) {
    for (const cell of other.hosts()) otherHours.add(cell.hour);
    for (const cell of other.services()) otherHours.add(cell.hour);
  }
  if (passHours.size === 0) return null;
  let latest = -Infinity;
  for (const hour of [...passHours, ...otherHours]) latest = Math.max(latest, hour);
  // Hours before the last but one are certainly due: the open hours stored
  // can only raise the last. Those stored (and any hour with rows) are
  // checked below.
  const due = [...passHours].filter((hour) => hour < latest - 1);
  if (due.length === 0) return null;
  if (due.some((hour) => otherHours.has(hour))) return null;
  const [{ written }] = await tx<{ written: boolean }[]>`
    with open as (
      select hour from dashboard_open_hour
      union select unnest(${pgArrayLiteral([...passHours, ...otherHours])}::text::int8[])
    ),
    due as (select hour from open where hour < (select max(hour) - 1 from open))
    select exists (
      select 1 from due
      where not (due.hour = any(${pgArrayLiteral(due)}::text::int8[]))
        or exists (select 1 from dashboard_host_hour h where h.hour = due.hour)
        or exists (select 1 from dashboard_service_hour s where s.hour = due.hour)
    ) as written`;
  if (written) return null;

  const addresses = new Set<string>();
  for (const hour of due) {
    for (const cell of hosts.get(hour) ?? []) addresses.add(cell.ip);
    for (const cell of services.get(hour) ?? []) addresses.add(cell.responder);
  }
  const stored = await storedAddresses(tx, addresses);
  if (stored === null) return null;
  const hostOrder = (a: HostCell, b: HostCell) => compareText(stored.get(a.ip)!, stored.get(b.ip)!);
  const serviceOrder = (a: ServiceCell, b: ServiceCell) =>
    compareText(a.protocol, b.protocol) || a.port - b.port ||
    compareText(stored.get(a.responder)!, stored.get(b.responder)!);

  const dropped = new Set<HostCell | ServiceCell>();
  const otherHosts: HostCell[] = [];
  const otherServices: ServiceCell[] = [];
  // Each table all or nothing: the hosts' rows and fold do not touch the
  // services' table, nor the other way round.
  const hostPlan = foldTable(due, hosts, options.hostsKept, hostOrder, (hour, folded) => {
    const bytes = wholeSum(folded.map((cell) => cell.bytes));
    const packets = wholeSum(folded.map((cell) => cell.packets));
    const flows = wholeSum(folded.map((cell) => cell.flows));
    if (bytes === null || packets === null || flows === null) return null;
    return { hour, ip: options.other, bytes, packets, flows };
  });
  const servicePlan = foldTable(
    due,
    services,
    options.servicesKept,
    serviceOrder,
    (hour, folded) => {
      const bytes = wholeSum(folded.map((cell) => cell.bytes));
      const flows = wholeSum(folded.map((cell) => cell.flows));
      if (bytes === null || flows === null) return null;
      return { hour, protocol: options.other, port: 0, responder: options.other, bytes, flows };
    },
  );
  if (hostPlan !== null) {
    for (const cell of hostPlan.dropped) dropped.add(cell);
    otherHosts.push(...hostPlan.others);
  }
  if (servicePlan !== null) {
    for (const cell of servicePlan.dropped) dropped.add(cell);
    otherServices.push(...servicePlan.others);
  }
  return dropped.size === 0 ? null : { dropped, otherHosts, otherServices };
}
