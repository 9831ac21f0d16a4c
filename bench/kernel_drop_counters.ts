/**
 * Drops the kernel counts before any capture sees a packet: the receiving
 * interface's `rx_dropped` (a veth whose peer could not hand the packet on)
 * and the per-CPU input backlog's drops (`/proc/net/softnet_stat`'s second
 * column: the backlog was full, `net.core.netdev_max_backlog`). A packet
 * dropped there reaches neither tcpdump nor the agent, so neither counts it
 * as a kernel drop: the live bench and the soak read these before and after
 * their traffic, so that what tcpreplay sent and no capture saw is told
 * apart from a loss of ours.
 *
 * @module
 */
import { type BenchMetrics, optionalMetricNumber } from "./bench_metrics.ts";
import { readProcFile } from "./proc_stat.ts";

/** The metric names a script reports these counters' growth under. */
export const BEFORE_CAPTURE_METRICS = {
  interfaceRxDropped: "veth_rx_dropped",
  peerTxDropped: "veth_peer_tx_dropped",
  backlogDropped: "backlog_dropped",
} as const;

/** The counters at one moment; null where the file could not be read. */
export interface KernelDropCounters {
  /** The interface's `rx_dropped`. */
  interfaceRxDropped: number | null;
  /**
   * The sending peer's `tx_dropped`, for a veth whose other end is in a
   * namespace (a veth counts a packet its peer refused there); null when
   * no peer was named.
   */
  peerTxDropped: number | null;
  /** Packets every CPU's input backlog dropped, summed. */
  backlogDropped: number | null;
}

/**
 * The backlog drops of a `/proc/net/softnet_stat` text: the second
 * hexadecimal column of each CPU's line, summed. Null when a line is not
 * such a line.
 */
export function parseSoftnetDropped(text: string): number | null {
  let dropped = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const column = line.trim().split(/\s+/)[1];
    if (column === undefined || !/^[0-9a-f]{1,8}$/i.test(column)) return null;
    dropped += parseInt(column, 16);
  }
  return dropped;
}

/** The veth peer whose `tx_dropped` to read: its namespace and its name there. */
export interface VethPeer {
  namespace: string;
  interfaceName: string;
}

function countOrNull(text: string | null): number | null {
  const count = text === null ? NaN : Number(text.trim());
  return Number.isInteger(count) ? count : null;
}

/**
 * Reads the counters for `interfaceName` (on the host's side, where the
 * capture runs) and, when named, its veth peer's.
 */
export async function readKernelDropCounters(
  interfaceName: string,
  peer?: VethPeer,
): Promise<KernelDropCounters> {
  const rx = await readProcFile(`/sys/class/net/${interfaceName}/statistics/rx_dropped`);
  const peerTx = peer === undefined
    ? null
    : await readProcFile(`/sys/class/net/${peer.interfaceName}/statistics/tx_dropped`, {
      namespace: peer.namespace,
    });
  const softnet = await readProcFile("/proc/net/softnet_stat");
  return {
    interfaceRxDropped: countOrNull(rx),
    peerTxDropped: countOrNull(peerTx),
    backlogDropped: softnet === null ? null : parseSoftnetDropped(softnet),
  };
}

/** All the counters' growth together, or null when none could be read. */
export function kernelDropTotal(counters: KernelDropCounters): number | null {
  const known = [counters.interfaceRxDropped, counters.peerTxDropped, counters.backlogDropped]
    .filter((count): count is number => count !== null);
  return known.length === 0 ? null : known.reduce((sum, count) => sum + count, 0);
}

/**
 * What the counters grew by between two readings; null where either reading
 * is missing. The backlog is shared by the whole machine, so its growth is
 * an upper bound on what the traffic under test lost there.
 */
export function kernelDropsBetween(
  before: KernelDropCounters,
  after: KernelDropCounters,
): KernelDropCounters {
  const delta = (a: number | null, b: number | null) => a === null || b === null ? null : b - a;
  return {
    interfaceRxDropped: delta(before.interfaceRxDropped, after.interfaceRxDropped),
    peerTxDropped: delta(before.peerTxDropped, after.peerTxDropped),
    backlogDropped: delta(before.backlogDropped, after.backlogDropped),
  };
}

/** The two ends of a veth pair, as faults/veth.ts names them. */
export interface VethEnds {
  /** The host's end, where the capture runs. */
  hostIf: string;
  /** The namespace of the other end. */
  ns: string;
  /** The other end, where the traffic is sent from. */
  nsIf: string;
}

/**
 * Reads a veth pair's counters now, before its traffic; the function it
 * returns reads them again and gives what they grew by since.
 */
export async function watchVethDrops(
  veth: VethEnds,
): Promise<() => Promise<KernelDropCounters>> {
  const peer = { namespace: veth.ns, interfaceName: veth.nsIf };
  const before = await readKernelDropCounters(veth.hostIf, peer);
  return async () => kernelDropsBetween(before, await readKernelDropCounters(veth.hostIf, peer));
}

/** The counters' growth for a script's log line: the total, then each ("?" where unread). */
export function describeKernelDrops(counters: KernelDropCounters): string {
  const count = (n: number | null) => n ?? "?";
  return `${count(kernelDropTotal(counters))} (veth rx ${count(counters.interfaceRxDropped)}, ` +
    `veth peer tx ${count(counters.peerTxDropped)}, input backlog ${
      count(counters.backlogDropped)
    })`;
}

/**
 * The counters' growth as a script's metrics, under
 * {@link BEFORE_CAPTURE_METRICS}' names.
 */
export function beforeCaptureMetrics(counters: KernelDropCounters): Record<string, number | null> {
  return {
    [BEFORE_CAPTURE_METRICS.interfaceRxDropped]: counters.interfaceRxDropped,
    [BEFORE_CAPTURE_METRICS.peerTxDropped]: counters.peerTxDropped,
    [BEFORE_CAPTURE_METRICS.backlogDropped]: counters.backlogDropped,
  };
}

/**
 * What a script's metrics say was dropped before any capture, summed, or
 * null when they hold none of the counters (a script from before them).
 */
export function droppedBeforeCapture(metrics: BenchMetrics): number | null {
  return kernelDropTotal({
    interfaceRxDropped: optionalMetricNumber(metrics, BEFORE_CAPTURE_METRICS.interfaceRxDropped),
    peerTxDropped: optionalMetricNumber(metrics, BEFORE_CAPTURE_METRICS.peerTxDropped),
    backlogDropped: optionalMetricNumber(metrics, BEFORE_CAPTURE_METRICS.backlogDropped),
  });
}
