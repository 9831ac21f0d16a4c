/**
 * The per-source table `deno task train` prints and the model card shows:
 * for each capture, how many flows raise an alert, what share of its attack
 * flows is flagged and correctly classed, and what share of its benign flows
 * raises a false alarm.
 *
 * @module
 */

/** What a source is. */
export type SourceKind = "lab" | "demo" | "benign" | "attack" | "encap";

/** One flow's truth: `benign`, an attack class, or `attack` for an out-of-scope attack. */
export type FlowTruth = string;

/** A flow's verdict as the scorer gives it. */
export interface ScoredVerdict {
  /** Label (`benign` or an attack class). */
  label: string;
  /** Calibrated score. */
  score: number;
}

/** One row of the table. */
export interface SourceEvaluation {
  /** Lab run id or kit file name. */
  source: string;
  /** What it is. */
  kind: SourceKind;
  /** Kit attack kind (`-` when none). */
  attackKind: string;
  /** Whether its attack flows are of a kind the model has a class for. */
  inScope: boolean;
  /** Flows scored. */
  flows: number;
  /** Flows that raise an alert: label not benign and score at least the alert threshold. */
  alerts: number;
  /** Attack flows. */
  attackFlows: number;
  /** Attack flows that raise an alert. */
  flagged: number;
  /** Attack flows that raise an alert with their own class. */
  correct: number;
  /** Benign flows. */
  benignFlows: number;
  /** Benign flows that raise an alert. */
  falseAlarms: number;
}

/** Does this verdict raise an alert at `alertMinScore`? */
export function isAlert(v: ScoredVerdict, alertMinScore: number): boolean {
  return v.label !== "benign" && v.score >= alertMinScore;
}

/**
 * Builds one table row from a source's verdicts and truths (same order).
 */
export function evaluateSource(
  source: { source: string; kind: SourceKind; attackKind?: string; inScope?: boolean },
  verdicts: readonly ScoredVerdict[],
  truths: readonly FlowTruth[],
  alertMinScore: number,
): SourceEvaluation {
  if (verdicts.length !== truths.length) {
    throw new RangeError(
      `Cannot evaluate ${source.source} as 'truths' must have one entry per verdict: current lengths are ${truths.length} and ${verdicts.length}`,
    );
  }
  const row: SourceEvaluation = {
    source: source.source,
    kind: source.kind,
    attackKind: source.attackKind ?? "-",
    inScope: source.inScope ?? true,
    flows: verdicts.length,
    alerts: 0,
    attackFlows: 0,
    flagged: 0,
    correct: 0,
    benignFlows: 0,
    falseAlarms: 0,
  };
  verdicts.forEach((v, i) => {
    const alert = isAlert(v, alertMinScore);
    if (alert) row.alerts++;
    if (truths[i] === "benign") {
      row.benignFlows++;
      if (alert) row.falseAlarms++;
    } else {
      row.attackFlows++;
      if (alert) row.flagged++;
      if (alert && v.label === truths[i]) row.correct++;
    }
  });
  return row;
}

/** Sums rows (for totals). */
export function sumSources(
  source: string,
  kind: SourceKind,
  rows: readonly SourceEvaluation[],
): SourceEvaluation {
  const sum = (
    k: "flows" | "alerts" | "attackFlows" | "flagged" | "correct" | "benignFlows" | "falseAlarms",
  ) => rows.reduce((s, r) => s + r[k], 0);
  return {
    source,
    kind,
    attackKind: "-",
    inScope: true,
    flows: sum("flows"),
    alerts: sum("alerts"),
    attackFlows: sum("attackFlows"),
    flagged: sum("flagged"),
    correct: sum("correct"),
    benignFlows: sum("benignFlows"),
    falseAlarms: sum("falseAlarms"),
  };
}

/** `n / d` as a percentage with one decimal, or `-` when `d` is 0. */
export function percent(n: number, d: number): string {
  return d === 0 ? "-" : `${(100 * n / d).toFixed(1)} %`;
}

/** Header and cells of a row, as text (for the console and the card). */
export const SOURCE_TABLE_HEADERS: readonly string[] = Object.freeze([
  "capture",
  "kind",
  "attack kind",
  "flows",
  "alerts",
  "attack flows",
  "flagged",
  "correct class",
  "benign flows",
  "false alarms",
]);

/** A row's cells under {@linkcode SOURCE_TABLE_HEADERS}. */
export function sourceCells(r: SourceEvaluation): string[] {
  return [
    r.source,
    r.kind,
    r.inScope || r.attackKind === "-" ? r.attackKind : `${r.attackKind} (out of scope)`,
    String(r.flows),
    String(r.alerts),
    String(r.attackFlows),
    percent(r.flagged, r.attackFlows),
    percent(r.correct, r.attackFlows),
    String(r.benignFlows),
    percent(r.falseAlarms, r.benignFlows),
  ];
}
