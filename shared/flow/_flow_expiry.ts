/**
 * When a flow ends by time: the timeouts of the flow table's options applied
 * to one flow at one packet time, the same rule for the packet path and for
 * sweeps.
 *
 * @module
 */

import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP } from "../packet/packet_record.ts";
import type { Flow } from "./_flow.ts";
import type { ResolvedFlowTableOptions } from "./_flow_options.ts";
import type { CloseReason } from "./_flow_record.ts";
import { hasBoth, ORIG_FIN, RESP_FIN } from "./_tcp_state.ts";

/**
 * Why `flow` would end at packet time `ts` under the timeouts of `o`, or
 * null. The active timeout is only applied on the packet path
 * (`withActive`), so that sweeps never end a flow the packet path would
 * have continued.
 */
export function expiryReason(
  flow: Flow,
  ts: number,
  withActive: boolean,
  o: ResolvedFlowTableOptions,
): CloseReason | null {
  const gap = ts - flow.lastSeen;
  if (flow.closed) return gap > o.tcpClosedTimeoutSec ? flow.closeReason : null;
  let idle: number;
  if (flow.isTcp) {
    if (hasBoth(flow.bits, ORIG_FIN, RESP_FIN)) {
      return gap > o.tcpClosedTimeoutSec ? "fin" : null;
    }
    idle = flow.acc.packets(false) > 0 ? o.tcpIdleTimeoutSec : o.tcpAttemptTimeoutSec;
  } else if (flow.ipProto === IPPROTO_UDP) {
    idle = o.udpIdleTimeoutSec;
  } else if (flow.ipProto === IPPROTO_ICMP || flow.ipProto === IPPROTO_ICMPV6) {
    idle = o.icmpIdleTimeoutSec;
  } else {
    idle = o.otherIdleTimeoutSec;
  }
  if (gap > idle) return "idle";
  if (withActive && ts - flow.firstSeen > o.activeTimeoutSec) return "active_timeout";
  return null;
}
