/**
 * `deno task train` without the command line: builds the labelled lab dataset
 * and the kit's flows, runs the training procedure, evaluates every source out
 * of fold, and writes the model, its sidecar and the model card. Every number
 * in the sidecar and the card comes from this run, and none depends on the
 * clock, so the same captures and seed give the same three files byte for
 * byte.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { FEATURE_NAMES, FEATURE_VERSION, isBenignAlone } from "@traffic-analyzer/shared/flow";
import {
  type ClassificationReport,
  classificationReport,
  type FlowModelSidecar,
  predictBatch,
  saveFlowModel,
} from "../ml/mod.ts";
import { MODEL_CARD_NAME } from "./compare_flow_models.ts";
import {
  buildLabelledDataset,
  DatasetError,
  type LabelledDataset,
} from "./build_labelled_dataset.ts";
import { evaluateSource, type SourceEvaluation, sumSources } from "./evaluate_sources.ts";
import { findTeamKit } from "@traffic-analyzer/shared/testing";
import { buildKitDataset, type KitCapture, kitSourceOf, kitTruths } from "./kit_dataset.ts";
import { readLabManifest } from "./read_lab_manifest.ts";
import { readLiveCheckRecord } from "./live_check_record.ts";
import { type ModelCardInput, renderModelCard } from "./render_model_card.ts";
import {
  type FlowClassifierTraining,
  TARGET_FALSE_ALARM_RATE,
  trainFlowClassifier,
  type TrainingRows,
  verdictsOf,
} from "./train_flow_classifier.ts";

/** Default folder of the lab captures. */
export const DEFAULT_CAPTURES_DIR = "models/captures";
/** Default path of the shipped model. */
export const DEFAULT_MODEL_PATH = "models/flow_classifier.onnx";
/** Run id of the demo capture, evaluated but never trained on. */
export const DEMO_RUN_ID = "demo";

/** The datasets one training reads; a caller that trains twice can build them once. */
export interface TrainingDatasets {
  /** Labelled flows of every lab run. */
  lab: LabelledDataset;
  /** Every kit capture's flows. */
  kit: KitCapture[];
  /** The kit folder they came from. */
  kitDir: string;
  /** The demo capture's labelled flows, or null when there is none. */
  demo: LabelledDataset | null;
  /** Package versions of the lab's tools, from the first run's manifest. */
  toolVersions: Record<string, string>;
}

/** Options for {@linkcode runTraining} and {@linkcode buildTrainingDatasets}. */
export interface RunTrainingOptions {
  /** Folder with the runs' `.pcap` + `.json` files. @default {"models/captures"} */
  capturesDir?: string;
  /**
   * The team kit: the folder holding `pcaps/labels.tsv`.
   * @default {`findTeamKit()`: TEAM_KIT_DIR, the kit beside the checkout, or /work/shared}
   */
  kitDir?: string;
  /** Already built datasets (then `capturesDir` and `kitDir` are not read). */
  datasets?: TrainingDatasets;
  /** Where the model goes; the sidecar is the same path ending in `.json`. @default {"models/flow_classifier.onnx"} */
  outPath?: string;
  /** Where the model card goes. @default {MODEL_CARD.md beside `outPath`} */
  cardPath?: string;
  /** Seeds the folds and every forest. @default {1} */
  seed?: number;
  /**
   * Extra lab capture evaluated with the shipped model and never trained on;
   * `null` to skip. Skipped too when its manifest does not exist.
   * @default {"demo"}
   */
  demoRunId?: string | null;
  /** Receives progress lines. @default {no output} */
  log?: (line: string) => void;
}

/** Everything one training run produced. */
export interface TrainingRunResult {
  /** The datasets read. */
  datasets: TrainingDatasets;
  /** The training rows (lab flows and kit benign flows). */
  rows: TrainingRows;
  /** The procedure's results. */
  training: FlowClassifierTraining;
  /** The card's inputs (also the source of the sidecar's metrics). */
  card: ModelCardInput;
  /** The sidecar as written. */
  sidecar: FlowModelSidecar;
  /** Path of the written model. */
  outPath: string;
  /** Path of the written card. */
  cardPath: string;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function reportJson(report: ClassificationReport): Record<string, unknown> {
  return {
    rows: report.rows,
    macroF1: round(report.macroF1),
    accuracy: round(report.accuracy),
    perClass: Object.fromEntries(
      report.perClass.map((m) => [m.label, {
        precision: round(m.precision),
        recall: round(m.recall),
        f1: round(m.f1),
        support: m.support,
      }]),
    ),
    confusion: report.confusion,
  };
}

function sourceJson(r: SourceEvaluation): Record<string, unknown> {
  return {
    kind: r.kind,
    attackKind: r.attackKind,
    inScope: r.inScope,
    flows: r.flows,
    alerts: r.alerts,
    attackFlows: r.attackFlows,
    flagged: r.flagged,
    correct: r.correct,
    benignFlows: r.benignFlows,
    falseAlarms: r.falseAlarms,
  };
}

function sidecarMetrics(input: ModelCardInput): Record<string, unknown> {
  const { training } = input;
  const t = training.thresholdChoice;
  return {
    evaluation: "every source (lab run, kit capture) scored out of fold, by a forest trained on " +
      "the other folds; kit attack flows are never trained on",
    seed: training.seed,
    folds: training.foldCount,
    foldOf: Object.fromEntries([...training.foldOf].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    threshold: {
      decisionThreshold: t.threshold,
      targetFalseAlarmRate: input.targetFalseAlarmRate,
      heldOutBenignFalseAlarmRate: round(t.benignFalseAlarmRate),
      heldOutKitBenignFalseAlarmRate: round(t.kitBenignFalseAlarmRate),
      heldOutLabAttackFlaggedRate: round(t.labAttackFlaggedRate),
      metTarget: t.metTarget,
    },
    heldOut: reportJson(input.labReport),
    kitInScopeAttacks: sourceJson(input.kitAttackTotal),
    kitBenign: sourceJson(input.kitBenignTotal),
    perSource: Object.fromEntries(input.sources.map((r) => [r.source, sourceJson(r)])),
    demo: input.demo === null ? null : sourceJson(input.demo),
    dataset: {
      rows: input.rows.X.length,
      perClass: Object.fromEntries(
        training.classes.map((c) => [c, input.rows.y.filter((y) => y === c).length]),
      ),
      labRuns: input.data.runs.map((r) => r.runId),
      kitSources: [...input.rows.kitSources].sort(),
    },
  };
}

/**
 * Reads the lab runs and the kit captures.
 *
 * @throws {DatasetError} when the kit cannot be found or a capture cannot be read.
 */
export async function buildTrainingDatasets(
  options: RunTrainingOptions = {},
): Promise<TrainingDatasets> {
  if (options.datasets) return options.datasets;
  const lab = await buildLabelledDataset(options.capturesDir ?? DEFAULT_CAPTURES_DIR);
  const kitDir = options.kitDir ?? findTeamKit();
  if (kitDir === null) {
    throw new DatasetError(
      "Cannot find the team kit (a folder with pcaps/labels.tsv beside the checkout or at /work/shared): pass it with --kit DIR or TEAM_KIT_DIR",
    );
  }
  const kit = await buildKitDataset(kitDir);
  const capturesDir = options.capturesDir ?? DEFAULT_CAPTURES_DIR;
  const demoRunId = options.demoRunId === undefined ? DEMO_RUN_ID : options.demoRunId;
  let demo: LabelledDataset | null = null;
  if (demoRunId !== null) {
    try {
      await Deno.stat(join(capturesDir, `${demoRunId}.json`));
      demo = await buildLabelledDataset(capturesDir, { runIds: [demoRunId] });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const toolVersions = lab.runs.length > 0
    ? (await readLabManifest(join(capturesDir, `${lab.runs[0].runId}.json`))).toolVersions
    : {};
  return { lab, kit, kitDir, demo, toolVersions };
}

/**
 * Training rows: every lab flow, plus the kit's benign flows with their
 * capture as the source. Lab attack flows alone in their context and no
 * flood by themselves ({@linkcode isBenignAlone}) are trained on as benign, so that one ordinary
 * connection, refused or not, never looks like an attack; they are still
 * counted as attack flows (and as misses) in the evaluation.
 */
export function trainingRowsOf(datasets: TrainingDatasets): TrainingRows {
  const kitSources = new Set<string>();
  const rows: TrainingRows = {
    X: [...datasets.lab.X],
    y: datasets.lab.y.map((
      y,
      i,
    ) => (y !== "benign" && isBenignAlone(datasets.lab.X[i]) ? "benign" : y)),
    groups: [...datasets.lab.groups],
    kitSources,
  };
  for (const c of datasets.kit) {
    if (c.benign.length === 0) continue;
    kitSources.add(c.label.file);
    for (const x of c.benign) {
      rows.X.push(x);
      rows.y.push("benign");
      rows.groups.push(c.label.file);
    }
  }
  return rows;
}

/** What {@linkcode trainAndEvaluate} measured, before anything is written. */
export interface TrainingEvaluation {
  /** The training rows (lab flows and kit benign flows). */
  rows: TrainingRows;
  /** The procedure's results. */
  training: FlowClassifierTraining;
  /** The card's inputs, without the written model's size and sidecar. */
  card: ModelCardInput;
}

/** Options for {@linkcode trainAndEvaluate}. */
export interface TrainAndEvaluateOptions {
  /** Seeds the folds and every forest. @default {1} */
  seed?: number;
  /** Model file name the card names. @default {"flow_classifier.onnx"} */
  modelFile?: string;
  /** Receives progress lines. @default {no output} */
  log?: (line: string) => void;
}

/**
 * Runs the training procedure on already built datasets and evaluates every
 * source out of fold, writing nothing: what `deno task train` and feature
 * studies (`app_feature_study.ts`) share. The datasets' vectors may be wider
 * than `FEATURE_NAMES` (a study appends candidate features after them).
 */
export async function trainAndEvaluate(
  datasets: TrainingDatasets,
  options: TrainAndEvaluateOptions = {},
): Promise<TrainingEvaluation> {
  const log = options.log ?? (() => {});
  const { lab, kit } = datasets;
  const rows = trainingRowsOf(datasets);
  const validation = kit.filter((c) => c.attack.length > 0).map((c) => ({
    source: c.label.file,
    X: c.attack,
  }));
  log(
    `dataset: ${lab.X.length} lab flows from ${lab.runs.length} runs, ${
      rows.X.length - lab.X.length
    } kit benign flows from ${rows.kitSources.size} captures, ${
      validation.reduce((s, v) => s + v.X.length, 0)
    } kit attack flows for validation`,
  );
  const training = await trainFlowClassifier(rows, validation, { seed: options.seed });
  const { forest } = training.shipped;
  const { calibration } = training;
  const threshold = calibration.decisionThreshold;
  const oof = verdictsOf(training.oofProbabilities, forest.classes, calibration, rows.X);

  const rowsBySource = new Map<string, number[]>();
  rows.groups.forEach((g, i) => {
    const list = rowsBySource.get(g);
    if (list) list.push(i);
    else rowsBySource.set(g, [i]);
  });
  const sources: SourceEvaluation[] = [];
  for (const run of lab.runs) {
    const idx = rowsBySource.get(run.runId) ?? [];
    sources.push(
      evaluateSource(
        { source: run.runId, kind: "lab" },
        idx.map((i) => oof[i]),
        idx.map((i) => lab.y[i]),
        threshold,
      ),
    );
  }
  for (const c of kit) {
    if (c.use === "excluded") continue;
    const idx = rowsBySource.get(c.label.file) ?? [];
    const attack = verdictsOf(
      training.validationProbabilities.get(c.label.file) ?? [],
      forest.classes,
      calibration,
      c.attack,
    );
    sources.push(
      evaluateSource(
        kitSourceOf(c),
        [...idx.map((i) => oof[i]), ...attack],
        kitTruths(c),
        threshold,
      ),
    );
  }
  const kitAttackTotal = sumSources(
    "kit in-scope attack captures",
    "attack",
    sources.filter((r) => r.kind === "attack" && r.inScope),
  );
  const kitBenignTotal = sumSources(
    "kit benign and encap captures",
    "benign",
    sources.filter((r) => r.kind === "benign" || r.kind === "encap"),
  );
  const labIdx = rows.groups.flatMap((g, i) => (rows.kitSources.has(g) ? [] : [i]));
  const labReport = classificationReport(
    labIdx.map((i) => lab.y[i]),
    labIdx.map((i) => oof[i].label),
    { labels: training.classes },
  );
  log(
    `threshold ${threshold}: held-out benign false alarms ${
      (100 * training.thresholdChoice.benignFalseAlarmRate).toFixed(2)
    } %, kit in-scope attack flows flagged ${
      (100 * kitAttackTotal.flagged / Math.max(1, kitAttackTotal.attackFlows)).toFixed(1)
    } %`,
  );

  let demo: SourceEvaluation | null = null;
  if (datasets.demo !== null) {
    const verdicts = verdictsOf(
      predictBatch(forest, datasets.demo.X).probabilities,
      forest.classes,
      calibration,
      datasets.demo.X,
    );
    demo = evaluateSource(
      { source: datasets.demo.runs[0].runId, kind: "demo" },
      verdicts,
      datasets.demo.y,
      threshold,
    );
  }

  const input: ModelCardInput = {
    data: lab,
    rows,
    loneAttackFlows: lab.y.filter((y, i) => y !== rows.y[i]).length,
    training,
    sources,
    kitAttackTotal,
    kitBenignTotal,
    labReport,
    demo,
    kit,
    targetFalseAlarmRate: TARGET_FALSE_ALARM_RATE,
    toolVersions: datasets.toolVersions,
    modelFile: options.modelFile ?? "flow_classifier.onnx",
    onnxBytes: 0,
    sidecar: null,
    // The committed record, also when training into another folder (--check).
    liveCheck: await readLiveCheckRecord(new URL("../live_check.json", import.meta.url)),
  };
  return { rows, training, card: input };
}

/**
 * Trains the flow classifier from the lab captures and the kit and writes
 * `outPath` (ONNX), its `.json` sidecar and the model card.
 *
 * @example
 * ```ts
 * const { card } = await runTraining({ seed: 1, log: console.log });
 * card.kitAttackTotal.flagged / card.kitAttackTotal.attackFlows;
 * ```
 */
export async function runTraining(options: RunTrainingOptions = {}): Promise<TrainingRunResult> {
  const outPath = options.outPath ?? DEFAULT_MODEL_PATH;
  const cardPath = options.cardPath ?? join(dirname(outPath), MODEL_CARD_NAME);
  const log = options.log ?? (() => {});
  if (!outPath.endsWith(".onnx")) {
    throw new RangeError(
      `Cannot train as 'outPath' must end in .onnx: current value is ${outPath}`,
    );
  }

  const datasets = await buildTrainingDatasets(options);
  const { rows, training, card: input } = await trainAndEvaluate(datasets, {
    seed: options.seed,
    modelFile: outPath.split("/").at(-1)!,
    log,
  });
  const { forest } = training.shipped;
  const { calibration } = training;
  const sidecar = await saveFlowModel(outPath, forest, {
    featureNames: FEATURE_NAMES,
    featureVersion: FEATURE_VERSION,
    modelVersion: training.shipped.modelVersion,
    trainingDataSha256: training.shipped.trainingDataSha256,
    metrics: sidecarMetrics(input),
    calibration,
  });
  input.sidecar = sidecar;
  input.onnxBytes = (await Deno.stat(outPath)).size;
  await Deno.writeTextFile(cardPath, renderModelCard(input));
  log(`wrote ${outPath} (${input.onnxBytes} bytes), its .json sidecar and ${cardPath}`);
  return { datasets, rows, training, card: input, sidecar, outPath, cardPath };
}
