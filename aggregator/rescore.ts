/**
 * Rescoring stored flows with the current model, from the feature vectors
 * stored with them: a new model can be tried on last week's traffic before
 * it goes live (dry run), or take over the stored verdicts without a
 * recapture.
 *
 * Flows are read a page at a time in id order (keyset pagination), scored,
 * explained when they reach ALERT_MIN_SCORE, and written back (label, score,
 * model version, explanation) unless it is a dry run. A flow whose stored
 * vector has another feature version or length than the model reads is
 * skipped and counted: its features cannot be fed to this model. So is a
 * flow with no stored vector. Incidents follow the new verdicts, page by page
 * in the transaction that writes them, as an aggregation pass builds them
 * (`recordRescoredIncidents`): a flow that is an alert now joins or opens
 * one, a flow that is not leaves its own.
 *
 * @module
 */
import {
  type FlowVerdictUpdate,
  readStoredFlowVerdicts,
  recordRescoredIncidents,
  type Sql,
  updateFlowVerdicts,
} from "@traffic-analyzer/shared/db";
import type { OnnxFlowScorer } from "./scorer/mod.ts";
import { INCIDENT_WINDOW_SEC } from "./pass_incidents.ts";

/** The scorer rescoring needs (the ONNX scorer in production). */
export type RescoreScorer = Pick<
  OnnxFlowScorer,
  "modelVersion" | "featureVersion" | "featureNames" | "benignLabel" | "score"
>;

/** Options for {@linkcode rescoreFlows}. */
export interface RescoreOptions {
  /** The current model. */
  scorer: RescoreScorer;
  /** ALERT_MIN_SCORE: what counts as an alert, and which flows are explained. */
  alertMinScore: number;
  /** Only flows whose last packet is at or after this (epoch seconds); null for all. @default null */
  sinceSec?: number | null;
  /** Count what would change and write nothing. @default false */
  dryRun?: boolean;
  /** Flows per page (read, scored and written together). @default 2000 */
  batchSize?: number;
  /** See `AssignIncidentsOptions.windowSec`. @default INCIDENT_WINDOW_SEC */
  incidentWindowSec?: number;
  /** Called after each page with the totals so far. @default none */
  onProgress?: (report: RescoreReport) => void;
}

/** What a rescore did (or, in a dry run, would do). */
export interface RescoreReport {
  /** Whether anything was written. */
  dryRun: boolean;
  /** The model version written (or that would be). */
  modelVersion: string;
  /** Flows read. */
  scanned: number;
  /** Flows scored with the model (and written unless a dry run). */
  rescored: number;
  /** Scored flows whose label or score differ from the stored ones. */
  changed: number;
  /** Flows skipped as their vector has another feature version or length than the model's. */
  skippedFeatureMismatch: number;
  /** Flows skipped as they have no stored feature vector. */
  skippedNoFeatures: number;
  /** Scored flows by `old label → new label` (the old label "unscored" when none was stored). */
  transitions: Record<string, number>;
  /** Flows that were no alert and are one now (label not benign, score ≥ ALERT_MIN_SCORE). */
  alertsAppeared: number;
  /** Flows that were an alert and are not now. */
  alertsDisappeared: number;
  /** Incidents opened for the rescored flows (none in a dry run). */
  incidentsOpened: number;
}

function isAlert(
  label: string | null,
  score: number | null,
  benign: string,
  minScore: number,
): boolean {
  return label !== null && label !== benign && score !== null && score >= minScore;
}

/**
 * Rescores stored flows with `options.scorer`; returns what changed.
 *
 * @example
 * ```ts
 * const report = await rescoreFlows(sql, { scorer, alertMinScore: 0.5, dryRun: true });
 * console.log(report.transitions, report.alertsAppeared, report.alertsDisappeared);
 * ```
 */
export async function rescoreFlows(sql: Sql, options: RescoreOptions): Promise<RescoreReport> {
  const { scorer, alertMinScore } = options;
  const batchSize = options.batchSize ?? 2000;
  const sinceSec = options.sinceSec ?? null;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot rescore as 'batchSize' must be an integer >= 1: current value is ${batchSize}`,
    );
  }
  if (!(alertMinScore >= 0 && alertMinScore <= 1)) {
    throw new RangeError(
      `Cannot rescore as 'alertMinScore' must be in [0, 1]: current value is ${alertMinScore}`,
    );
  }
  if (sinceSec !== null && !Number.isFinite(sinceSec)) {
    throw new RangeError(
      `Cannot rescore as 'sinceSec' must be a finite number or null: current value is ${sinceSec}`,
    );
  }
  const benign = scorer.benignLabel;
  const width = scorer.featureNames.length;
  const report: RescoreReport = {
    dryRun: options.dryRun ?? false,
    modelVersion: scorer.modelVersion,
    scanned: 0,
    rescored: 0,
    changed: 0,
    skippedFeatureMismatch: 0,
    skippedNoFeatures: 0,
    transitions: {},
    alertsAppeared: 0,
    alertsDisappeared: 0,
    incidentsOpened: 0,
  };
  let afterId = 0;
  for (;;) {
    const rows = await readStoredFlowVerdicts(sql, { afterId, sinceSec, limit: batchSize });
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1].id;
    report.scanned += rows.length;
    const usable = rows.filter((r) => {
      if (r.features === null) {
        report.skippedNoFeatures++;
        return false;
      }
      if (r.feature_version !== scorer.featureVersion || r.features.length !== width) {
        report.skippedFeatureMismatch++;
        return false;
      }
      return true;
    });
    const scored = await scorer.score(usable.map((r) => r.features!), {
      explainMinScore: alertMinScore,
    });
    const updates: FlowVerdictUpdate[] = usable.map((row, i) => {
      const { label, score, explanation } = scored[i];
      const key = `${row.label ?? "unscored"} → ${label}`;
      report.transitions[key] = (report.transitions[key] ?? 0) + 1;
      if (row.label !== label || row.score !== score) report.changed++;
      const before = isAlert(row.label, row.score, benign, alertMinScore);
      const after = isAlert(label, score, benign, alertMinScore);
      if (after && !before) report.alertsAppeared++;
      if (before && !after) report.alertsDisappeared++;
      return { id: row.id, label, score, explanation };
    });
    if (!report.dryRun) {
      await sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        await updateFlowVerdicts(tx, scorer.modelVersion, updates);
        report.incidentsOpened += (await recordRescoredIncidents(tx, {
          ids: updates.map((u) => u.id),
          benignLabel: benign,
          minScore: alertMinScore,
          windowSec: options.incidentWindowSec ?? INCIDENT_WINDOW_SEC,
        })).opened;
      });
    }
    report.rescored += updates.length;
    options.onProgress?.(report);
    if (rows.length < batchSize) break;
  }
  return report;
}

/** The report as lines for people, transitions most frequent first. */
export function formatRescoreReport(report: RescoreReport): string[] {
  const verb = report.dryRun ? "would rescore" : "rescored";
  const lines = [
    `${verb} ${report.rescored} of ${report.scanned} flows with model ${report.modelVersion}` +
    (report.dryRun ? " (dry run: nothing written)" : ""),
    `  label or score changed: ${report.changed}`,
    `  alerts appearing: ${report.alertsAppeared}, disappearing: ${report.alertsDisappeared}`,
    `  incidents opened: ${report.incidentsOpened}`,
    `  skipped, feature version or length differs from the model's: ${report.skippedFeatureMismatch}`,
    `  skipped, no stored feature vector: ${report.skippedNoFeatures}`,
  ];
  const transitions = Object.entries(report.transitions).sort((a, b) =>
    b[1] - a[1] || a[0].localeCompare(b[0])
  );
  if (transitions.length > 0) lines.push("  old label → new label:");
  for (const [key, count] of transitions) lines.push(`    ${key}: ${count}`);
  return lines;
}
