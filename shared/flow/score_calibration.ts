/**
 * From the flow classifier's class probabilities to the verdict a user sees:
 * a calibrated score (an estimate of P(attack)) and a label. Training
 * (`models/train`) and the aggregator's scorer both call
 * {@linkcode flowVerdict}, so the trainer's figures and the stored scores
 * agree bit for bit.
 *
 * - The raw score is `1 − P(benign)` as float32: the forest's vote share of
 *   all attack classes together.
 * - The calibrated score is an isotonic (monotone step) function of the raw
 *   score, fitted on sources held out from the forests that scored them, and
 *   stored with the model as a lookup table.
 * - The label is the most probable attack class when the calibrated score
 *   reaches the model's decision threshold, else `benign`. Taking the argmax
 *   over all classes instead would call a scan probe benign whenever its
 *   attack mass is split between two attack classes.
 * - A flow alone in its context ({@linkcode isLoneFlow}) is labelled benign
 *   whatever its score: nothing in it can tell an attack's first probe from
 *   one ordinary connection, refused or not, and the attack shows in the
 *   flows that follow it. Unless the flow is a flood by its own evidence
 *   ({@linkcode isFloodByItself}): a flood from one fixed port to one port is
 *   a single flow, alone in its context, and the attack is in that flow.
 *
 * @module
 */

import { FEATURE_NAMES } from "./feature_vector.ts";

const LONG_ORIG_FLOW_RATE = FEATURE_NAMES.indexOf("long_orig_flow_rate");
const LONG_RESPHOST_ORIGS = FEATURE_NAMES.indexOf("long_resphost_distinct_origs");
/** `long_orig_flow_rate` of an originator with one flow in the 60 s window, as float32. */
const ONE_FLOW_PER_MINUTE = Math.fround(1 / 60);

/**
 * Whether a feature vector is of a flow alone in its context: its originator
 * started no other flow, and its responder host saw no other originator, in
 * the 60 s window before it. (A flow scored before its context exists has
 * zeros there and is not "alone": its context is unknown.)
 */
export function isLoneFlow(features: ArrayLike<number>): boolean {
  return features[LONG_ORIG_FLOW_RATE] === ONE_FLOW_PER_MINUTE &&
    features[LONG_RESPHOST_ORIGS] === 1;
}

const ORIG_PACKETS = FEATURE_NAMES.indexOf("orig_packets");
const ORIG_PACKETS_PER_SEC = FEATURE_NAMES.indexOf("orig_packets_per_sec");
const RESP_PAYLOAD_BYTES = FEATURE_NAMES.indexOf("resp_payload_bytes");
const PROTO_ICMP = FEATURE_NAMES.indexOf("proto_icmp");

/**
 * Packets from the originator, at least, for a flow to be a flood by itself.
 * The lab's floods send 43 to 598 packets a burst spread over many flows; a
 * thousand in one flow, at the rate below, is no conversation a person makes.
 */
export const FLOOD_MIN_PACKETS = 1000;
/** Originator packets per second, at least, for a flow to be a flood by itself. */
export const FLOOD_MIN_PACKETS_PER_SEC = 100;

/**
 * Whether a flow is a flood by its own evidence: at least
 * {@linkcode FLOOD_MIN_PACKETS} packets from the originator at
 * {@linkcode FLOOD_MIN_PACKETS_PER_SEC} or more, one-sided (the responder
 * sent no payload back: SYNs answered by SYN-ACKs or resets, datagrams
 * answered by nothing), or ICMP (echo requests at that rate are a ping
 * flood, whatever the replies carry). A bulk transfer at that rate has data
 * coming back (a download), or is not alone (iperf3's control connection
 * precedes its data).
 */
export function isFloodByItself(features: ArrayLike<number>): boolean {
  return features[ORIG_PACKETS] >= FLOOD_MIN_PACKETS &&
    features[ORIG_PACKETS_PER_SEC] >= FLOOD_MIN_PACKETS_PER_SEC &&
    (features[RESP_PAYLOAD_BYTES] === 0 || features[PROTO_ICMP] === 1);
}

/**
 * Whether a flow is labelled benign whatever its score: alone in its context
 * ({@linkcode isLoneFlow}) and not a flood by itself
 * ({@linkcode isFloodByItself}). Training takes such lab attack flows as
 * benign, for the same reason.
 */
export function isBenignAlone(features: ArrayLike<number>): boolean {
  return isLoneFlow(features) && !isFloodByItself(features);
}

/** The score calibration stored with a model (its sidecar's `calibration`). */
export interface ScoreCalibration {
  /** How the table was fitted, e.g. `isotonic`. */
  method: string;
  /**
   * Ascending float32 raw scores: step `i` covers raw scores from
   * `rawScores[i]` up to (not including) `rawScores[i + 1]`.
   */
  rawScores: number[];
  /** Calibrated score of each step, float32, non-decreasing. */
  scores: number[];
  /** A flow whose calibrated score reaches this gets an attack label. */
  decisionThreshold: number;
}

/** What {@linkcode flowVerdict} gives for one flow. */
export interface FlowVerdict {
  /** Attack class, or the benign label. */
  label: string;
  /** Calibrated score in [0, 1] (the raw score when there is no calibration). */
  score: number;
  /** `1 − P(benign)`, float32. */
  rawScore: number;
}

/**
 * Checks a calibration table; returns a reason, or null when it is usable.
 */
export function calibrationProblem(c: ScoreCalibration): string | null {
  if (c.rawScores.length === 0 || c.rawScores.length !== c.scores.length) {
    return "rawScores and scores must be non-empty and of equal length";
  }
  for (let i = 0; i < c.rawScores.length; i++) {
    const raw = c.rawScores[i];
    const score = c.scores[i];
    if (!(raw >= 0 && raw <= 1) || !(score >= 0 && score <= 1)) {
      return `step ${i} is outside [0, 1]`;
    }
    if (i > 0 && !(raw > c.rawScores[i - 1] && score >= c.scores[i - 1])) {
      return `step ${i} does not follow step ${i - 1} in order`;
    }
  }
  if (!(c.decisionThreshold > 0 && c.decisionThreshold <= 1)) {
    return `decisionThreshold must be in (0, 1]: it is ${c.decisionThreshold}`;
  }
  return null;
}

/** The calibrated score of a raw score: the value of the last step starting at or below it. */
export function calibrateScore(calibration: ScoreCalibration, rawScore: number): number {
  const raw = calibration.rawScores;
  let lo = 0;
  let hi = raw.length - 1;
  if (rawScore < raw[0]) return calibration.scores[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (raw[mid] <= rawScore) lo = mid;
    else hi = mid - 1;
  }
  return calibration.scores[lo];
}

/**
 * The verdict on one flow from its class probabilities (ordered like
 * `classes`). Without a calibration the score is the raw score and the label
 * the most probable class overall, as models before calibration had it.
 *
 * @example
 * ```ts
 * const v = flowVerdict(probabilities, { classes, benignIndex: 0, calibration });
 * if (v.label !== "benign" && v.score >= alertMinScore) raiseAlert();
 * ```
 */
export function flowVerdict(
  probabilities: ArrayLike<number>,
  options: {
    classes: readonly string[];
    benignIndex: number;
    calibration: ScoreCalibration | null;
    /** The flow's feature vector; a lone flow ({@linkcode isBenignAlone}) is labelled benign. */
    features?: ArrayLike<number>;
  },
): FlowVerdict {
  const { classes, benignIndex, calibration } = options;
  const rawScore = Math.fround(1 - probabilities[benignIndex]);
  let best = -1;
  for (let c = 0; c < classes.length; c++) {
    if (calibration !== null && c === benignIndex) continue;
    if (best < 0 || probabilities[c] > probabilities[best]) best = c;
  }
  if (calibration === null) return { label: classes[best], score: rawScore, rawScore };
  const score = calibrateScore(calibration, rawScore);
  const lone = options.features !== undefined && isBenignAlone(options.features);
  const label = score >= calibration.decisionThreshold && !lone
    ? classes[best]
    : classes[benignIndex];
  return { label, score, rawScore };
}

/**
 * Fits an isotonic (non-decreasing) step function from raw scores to the
 * share of positives, by pool-adjacent-violators, as a table for
 * {@linkcode calibrateScore}. Rows with equal raw scores form one step.
 */
export function fitIsotonicCalibration(
  rawScores: readonly number[],
  positive: readonly boolean[],
  decisionThreshold: number,
): ScoreCalibration {
  if (rawScores.length === 0 || rawScores.length !== positive.length) {
    throw new RangeError(
      `Cannot fit a calibration as 'rawScores' and 'positive' must be non-empty and of equal length: current lengths are ${rawScores.length} and ${positive.length}`,
    );
  }
  const order = [...rawScores.keys()].sort((a, b) => rawScores[a] - rawScores[b] || a - b);
  // Rows with one raw score first, so that a raw score never straddles two steps.
  const groups: { raw: number; pos: number; n: number }[] = [];
  for (const i of order) {
    const raw = Math.fround(rawScores[i]);
    const last = groups[groups.length - 1];
    if (last !== undefined && last.raw === raw) {
      last.pos += positive[i] ? 1 : 0;
      last.n++;
    } else {
      groups.push({ raw, pos: positive[i] ? 1 : 0, n: 1 });
    }
  }
  // Blocks: first raw score, positives, rows.
  const from: number[] = [];
  const pos: number[] = [];
  const n: number[] = [];
  for (const g of groups) {
    from.push(g.raw);
    pos.push(g.pos);
    n.push(g.n);
    // Pool while the last block's mean is not above its predecessor's.
    while (
      from.length > 1 &&
      pos[pos.length - 1] * n[n.length - 2] <= pos[pos.length - 2] * n[n.length - 1]
    ) {
      pos[pos.length - 2] += pos.pop()!;
      n[n.length - 2] += n.pop()!;
      from.pop();
    }
  }
  return {
    method: "isotonic",
    rawScores: from,
    scores: pos.map((p, i) => Math.fround(p / n[i])),
    decisionThreshold,
  };
}
