/**
 * Options of the flow table, their defaults and their checks.
 *
 * @module
 */

import type { ContextOptions } from "./context_options.ts";
import { DEFAULT_ACTIVITY_TIMEOUT_SEC } from "./flow_features.ts";

/** Options of {@linkcode FlowTable}; all times in packet-time seconds. */
export interface FlowTableOptions {
  /**
   * TCP idle timeout once the responder has answered (Zeek's
   * `tcp_inactivity_timeout`).
   * @default {300}
   */
  tcpIdleTimeoutSec?: number;
  /**
   * TCP idle timeout while the responder has sent nothing (connection
   * attempts, scans); covers SYN retransmissions up to a 32 s back-off.
   * @default {60}
   */
  tcpAttemptTimeoutSec?: number;
  /**
   * How long a closed TCP flow (FIN+FIN, RST) keeps collecting teardown
   * packets after its last one (Zeek's `tcp_close_delay`).
   * @default {5}
   */
  tcpClosedTimeoutSec?: number;
  /**
   * UDP idle timeout (Zeek's `udp_inactivity_timeout`).
   * @default {60}
   */
  udpIdleTimeoutSec?: number;
  /**
   * ICMP/ICMPv6 idle timeout (Zeek's `icmp_inactivity_timeout`).
   * @default {60}
   */
  icmpIdleTimeoutSec?: number;
  /**
   * Idle timeout of every other protocol (SCTP, GRE, ARP, L2, ...).
   * @default {60}
   */
  otherIdleTimeoutSec?: number;
  /**
   * A flow older than this is split at its next packet (NetFlow's default
   * active timeout), so very long flows are reported and scored.
   * @default {1800}
   */
  activeTimeoutSec?: number;
  /**
   * How long a first fragment's flow is remembered for its later fragments
   * (Linux `ipfrag_time`).
   * @default {30}
   */
  fragmentTimeoutSec?: number;
  /**
   * Gap that starts a new active period in the activity/idle features
   * (CICFlowMeter's activity timeout).
   * @default {5}
   */
  activityTimeoutSec?: number;
  /**
   * Packet time between the sweeps `merge()` runs for idle flows; sweeps
   * only change when an ended flow is reported, never its content.
   * @default {5}
   */
  sweepIntervalSec?: number;
  /**
   * Packet time the other agents may move on past an agent's last packet
   * before that agent's clock follows theirs (keeping the lag it had), so
   * that the flows of an agent that stopped sending end while others go on.
   * Agents whose deliveries interleave within this much packet time get
   * exactly the flows each would get alone.
   * @default {120}
   */
  agentFollowAfterSec?: number;
  /**
   * Community ID seed.
   * @default {0}
   */
  communityIdSeed?: number;
  /**
   * Context windows; see {@linkcode ContextOptions}.
   * @default {{}}
   */
  context?: ContextOptions;
}

/** {@linkcode FlowTableOptions} with every default filled in. */
export type ResolvedFlowTableOptions =
  & Required<Omit<FlowTableOptions, "context">>
  & { context: Required<ContextOptions> };

/** Fills in the defaults of `options`; throws RangeError naming a bad option. */
export function resolveOptions(
  options: FlowTableOptions,
  context: Required<ContextOptions>,
): ResolvedFlowTableOptions {
  const resolved: ResolvedFlowTableOptions = {
    tcpIdleTimeoutSec: options.tcpIdleTimeoutSec ?? 300,
    tcpAttemptTimeoutSec: options.tcpAttemptTimeoutSec ?? 60,
    tcpClosedTimeoutSec: options.tcpClosedTimeoutSec ?? 5,
    udpIdleTimeoutSec: options.udpIdleTimeoutSec ?? 60,
    icmpIdleTimeoutSec: options.icmpIdleTimeoutSec ?? 60,
    otherIdleTimeoutSec: options.otherIdleTimeoutSec ?? 60,
    activeTimeoutSec: options.activeTimeoutSec ?? 1800,
    fragmentTimeoutSec: options.fragmentTimeoutSec ?? 30,
    activityTimeoutSec: options.activityTimeoutSec ?? DEFAULT_ACTIVITY_TIMEOUT_SEC,
    sweepIntervalSec: options.sweepIntervalSec ?? 5,
    agentFollowAfterSec: options.agentFollowAfterSec ?? 120,
    communityIdSeed: options.communityIdSeed ?? 0,
    context,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (name === "context") continue;
    if (name === "communityIdSeed") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff) {
        throw new RangeError(
          `Cannot create flow table as 'communityIdSeed' must be an integer 0..65535: current value is ${value}`,
        );
      }
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(
        `Cannot create flow table as '${name}' must be a positive number of seconds: current value is ${value}`,
      );
    }
  }
  return resolved;
}
