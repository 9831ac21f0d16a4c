/**
 * Layout of one flow's statistics (see `flow_features.ts`): a fixed run of
 * doubles, a block per direction (originator first, responder after it) then
 * a flow-wide block. The accumulator writes them packet by packet; the
 * derivation of the features, the packed copy and the statistics pool read
 * or size them from this one table.
 *
 * Hot code takes these as its own constants (`const { D_PACKETS } = layout`)
 * rather than as imported bindings, which V8 does not fold (see
 * `flow_features.ts`).
 *
 * @module
 */

import {
  TCP_FLAG_ACK,
  TCP_FLAG_CWR,
  TCP_FLAG_ECE,
  TCP_FLAG_FIN,
  TCP_FLAG_PSH,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
  TCP_FLAG_URG,
} from "../packet/packet_record.ts";

// Per-direction block layout (orig block first, resp block after it).
export const D_PACKETS = 0;
export const D_BYTES = 1;
export const D_PAYLOAD = 2;
export const D_HEADER = 3;
export const D_DATA_PACKETS = 4;
export const D_LEN_MIN = 5;
export const D_LEN_MAX = 6;
export const D_LEN_MEAN = 7;
export const D_LEN_M2 = 8;
export const D_IAT_N = 9;
export const D_IAT_MIN = 10;
export const D_IAT_MAX = 11;
export const D_IAT_MEAN = 12;
export const D_IAT_M2 = 13;
export const D_LAST_TS = 14;
export const D_FLAGS = 15; // 8 counters in TCP flag bit order: FIN SYN RST PSH ACK URG ECE CWR
export const D_INIT_WINDOW = 23;
export const DIR_SIZE = 24;

export const ORIG = 0;
export const RESP = DIR_SIZE;

// Flow-wide block.
const F = 2 * DIR_SIZE;
export const F_LEN_MIN = F + 0;
export const F_LEN_MAX = F + 1;
export const F_LEN_MEAN = F + 2;
export const F_LEN_M2 = F + 3;
export const F_IAT_N = F + 4;
export const F_IAT_MIN = F + 5;
export const F_IAT_MAX = F + 6;
export const F_IAT_MEAN = F + 7;
export const F_IAT_M2 = F + 8;
export const F_LAST_TS = F + 9;
export const F_ACTIVE_START = F + 10;
export const F_ACTIVE_END = F + 11;
export const F_ACTIVE_N = F + 12;
export const F_ACTIVE_MIN = F + 13;
export const F_ACTIVE_MAX = F + 14;
export const F_ACTIVE_MEAN = F + 15;
export const F_ACTIVE_M2 = F + 16;
export const F_IDLE_N = F + 17;
export const F_IDLE_MIN = F + 18;
export const F_IDLE_MAX = F + 19;
export const F_IDLE_MEAN = F + 20;
export const F_IDLE_M2 = F + 21;
export const F_PACKETS = F + 22;
export const STATS_SIZE = F + 23;

/** Flag order of the per-direction flag counters. */
export const FLAG_BITS = [
  TCP_FLAG_FIN,
  TCP_FLAG_SYN,
  TCP_FLAG_RST,
  TCP_FLAG_PSH,
  TCP_FLAG_ACK,
  TCP_FLAG_URG,
  TCP_FLAG_ECE,
  TCP_FLAG_CWR,
];

/** Writes an empty accumulator's statistics at `s[o]`. */
export function initStats(s: Float64Array, o: number): void {
  s.fill(0, o, o + STATS_SIZE);
  s[o + ORIG + D_INIT_WINDOW] = -1;
  s[o + RESP + D_INIT_WINDOW] = -1;
}
