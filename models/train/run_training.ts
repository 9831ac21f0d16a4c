/**
 * `deno task train` without the command line: builds the labelled dataset
 * from the lab captures, runs the training procedure, evaluates, and writes
 * the model, its sidecar and the model card. Every number in the sidecar and
 * the card comes from this run, and none depends on the clock, so the same
 * captures and seed give the same three files byte for byte.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import {
  type ClassificationReport,
  classificationReport,
  type FlowModelSidecar,
  predictBatch,
  saveFlowModel,
} from "../ml/mod.ts";
import { MODEL_CARD_NAME } from "./compare_flow_models.ts";
import { buildLabelledDataset, type LabelledDataset } from "./build_labelled_dataset.ts";
import { evaluateWhileActive, type LabelPairs } from "./evaluate_while_active.ts";
import { readLabManifest } from "./read_lab_manifest.ts";
import { type ModelCardInput, renderModelCard } from "./render_model_card.ts";
import { type FlowClassifierTraining, trainFlowClassifier } from "./train_flow_classifier.ts";

/** Default folder of the lab captures. */
export const DEFAULT_CAPTURES_DIR = "models/captures";
/** Default path of the shipped model. */
export const DEFAULT_MODEL_PATH = "models/flow_classifier.onnx";
/** Run id of the demo capture, evaluated but never trained on. */
export const DEMO_RUN_ID = "demo";

/** Options for {@linkcode runTraining}. */
export interface RunTrainingOptions {
  /** Folder with the runs' `.pcap` + `.json` files. @default {"models/captures"} */
  capturesDir?: string;
  /** Where the model goes; the sidecar is the same path ending in `.json`. @default {"models/flow_classifier.onnx"} */
  outPath?: string;
  /** Where the model card goes. @default {MODEL_CARD.md beside `outPath`} */
  cardPath?: string;
  /** Seeds the held-out choice and every forest. @default {1} */
  seed?: number;
  /**
   * Extra capture evaluated with the shipped model and never trained on;
   * `null` to skip. Skipped too when its manifest does not exist.
   * @default {"demo"}
   */
  demoRunId?: string | null;
  /** Receives progress lines. @default {no output} */
  log?: (line: string) => void;
}

/** Everything one training run produced. */
export interface TrainingRunResult {
  /** The labelled dataset (every run_* capture). */
  data: LabelledDataset;
  /** The procedure's results, both forests included. */
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
    macroPrecision: round(report.macroPrecision),
    macroRecall: round(report.macroRecall),
    weightedF1: round(report.weightedF1),
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

function sidecarMetrics(input: ModelCardInput): Record<string, unknown> {
  const { training, data } = input;
  const evalSel = training.evaluation.selection;
  const shipSel = training.shipped.selection;
  return {
    evaluation:
      "whole lab runs held out; hyperparameters chosen by leave-one-run-out on the training runs only",
    seed: training.seed,
    heldOutRuns: training.split.heldOut,
    trainRuns: training.split.train,
    heldOut: reportJson(training.evaluation.report),
    heldOutPerRunMacroF1: Object.fromEntries(
      training.evaluation.perRun.map((r) => [r.runId, round(r.report.macroF1)]),
    ),
    evaluationHyperparameters: evalSel.scores[evalSel.bestIndex].candidate,
    shippedModel: "the same procedure on every run: hyperparameters by leave-one-run-out, then " +
      "trained on all runs",
    shippedHyperparameters: shipSel.scores[shipSel.bestIndex].candidate,
    leaveOneRunOutMacroF1: Object.fromEntries(
      shipSel.runs.map((r, i) => [r, round(shipSel.scores[shipSel.bestIndex].foldMacroF1[i])]),
    ),
    demo: input.demo === null
      ? null
      : { runId: input.demo.runId, ...reportJson(input.demo.report) },
    whileActive: {
      passIntervalSec: input.whileActive.passIntervalSec,
      runs: training.split.heldOut,
      firstScore: reportJson(input.whileActive.firstScores),
      everyScore: reportJson(input.whileActive.allScores),
      firstScoredWithoutContext: input.whileActive.firstScoredWithoutContext,
    },
    dataset: {
      rows: data.X.length,
      perClass: Object.fromEntries(
        training.classes.map((c) => [c, data.y.filter((y) => y === c).length]),
      ),
      perRun: Object.fromEntries(data.runs.map((r) => [r.runId, r.labelled])),
      unlabelledFlows: data.runs.reduce((s, r) => s + r.unlabelled, 0),
    },
  };
}

function concat(parts: LabelPairs[]): LabelPairs {
  return {
    truth: parts.flatMap((p) => p.truth),
    predicted: parts.flatMap((p) => p.predicted),
  };
}

/**
 * Trains the flow classifier from the lab captures and writes
 * `outPath` (ONNX), its `.json` sidecar and the model card.
 *
 * @example
 * ```ts
 * const { training } = await runTraining({ seed: 1, log: console.log });
 * training.evaluation.report.macroF1;
 * ```
 */
export async function runTraining(options: RunTrainingOptions = {}): Promise<TrainingRunResult> {
  const capturesDir = options.capturesDir ?? DEFAULT_CAPTURES_DIR;
  const outPath = options.outPath ?? DEFAULT_MODEL_PATH;
  const cardPath = options.cardPath ?? join(dirname(outPath), MODEL_CARD_NAME);
  const demoRunId = options.demoRunId === undefined ? DEMO_RUN_ID : options.demoRunId;
  const log = options.log ?? (() => {});
  if (!outPath.endsWith(".onnx")) {
    throw new RangeError(
      `Cannot train as 'outPath' must end in .onnx: current value is ${outPath}`,
    );
  }

  const data = await buildLabelledDataset(capturesDir);
  log(
    `dataset: ${data.X.length} labelled flows from ${data.runs.length} runs (${
      data.runs.reduce((s, r) => s + r.unlabelled, 0)
    } unlabelled left out)`,
  );
  const training = await trainFlowClassifier(data, { seed: options.seed });
  log(
    `held out ${training.split.heldOut.join(", ")}: macro-F1 ${
      training.evaluation.report.macroF1.toFixed(4)
    }`,
  );

  let demo: ModelCardInput["demo"] = null;
  if (demoRunId !== null) {
    let exists = true;
    try {
      await Deno.stat(join(capturesDir, `${demoRunId}.json`));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      exists = false;
    }
    if (exists) {
      const demoData = await buildLabelledDataset(capturesDir, { runIds: [demoRunId] });
      const predicted = predictBatch(training.shipped.forest, demoData.X).labels;
      demo = {
        runId: demoRunId,
        summary: demoData.runs[0],
        report: classificationReport(demoData.y, predicted, { labels: training.classes }),
      };
      log(`${demoRunId} capture, shipped model: macro-F1 ${demo.report.macroF1.toFixed(4)}`);
    } else {
      log(`no ${demoRunId}.json in ${capturesDir}: skipping the demo evaluation`);
    }
  }

  const active = [];
  const manifests = [];
  for (const runId of training.split.heldOut) {
    const manifest = await readLabManifest(join(capturesDir, `${runId}.json`));
    manifests.push(manifest);
    active.push(
      await evaluateWhileActive(training.evaluation.forest, {
        pcap: join(capturesDir, manifest.pcap),
        manifest,
      }),
    );
  }
  const firstScores = concat(active.map((a) => a.firstScores));
  const allScores = concat(active.map((a) => a.allScores));
  const labels = training.classes;
  const toolVersions = manifests[0]?.toolVersions ?? {};

  const input: ModelCardInput = {
    data,
    training,
    demo,
    whileActive: {
      passIntervalSec: active[0].passIntervalSec,
      firstScores: classificationReport(firstScores.truth, firstScores.predicted, { labels }),
      allScores: classificationReport(allScores.truth, allScores.predicted, { labels }),
      firstScoredWithoutContext: active.reduce((s, a) => s + a.firstScoredWithoutContext, 0),
    },
    toolVersions,
    modelFile: outPath.split("/").at(-1)!,
    onnxBytes: 0,
    sidecar: null,
  };
  const sidecar = await saveFlowModel(outPath, training.shipped.forest, {
    featureNames: FEATURE_NAMES,
    featureVersion: FEATURE_VERSION,
    modelVersion: training.shipped.modelVersion,
    trainingDataSha256: training.shipped.trainingDataSha256,
    metrics: sidecarMetrics(input),
  });
  input.sidecar = sidecar;
  input.onnxBytes = (await Deno.stat(outPath)).size;
  await Deno.writeTextFile(cardPath, renderModelCard(input));
  log(`wrote ${outPath} (${input.onnxBytes} bytes), its .json sidecar and ${cardPath}`);
  return { data, training, card: input, sidecar, outPath, cardPath };
}
