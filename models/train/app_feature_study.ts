/**
 * Do application-layer fields help the model? Issue 14 allows new model
 * features only if they improve the held-out score. This study trains the
 * model twice with the procedure of `deno task train` (same captures, kit,
 * folds and seed, every source scored out of fold): once on the model's own
 * features, once with candidate application-layer features appended, and
 * prints both sets of figures. It writes no model.
 *
 * The candidates are general: which protocol the flow speaks (recognised by
 * content), and whether its first exchange failed (DNS error, HTTP 4xx/5xx),
 * whether a TLS client named a server, whether both SSH banners were seen.
 * No names, fingerprints or software strings: those would teach the model
 * the lab's tools, not attacks.
 *
 * ```sh
 * deno run -A models/train/app_feature_study.ts [--seed N]
 * ```
 *
 * @module
 */

import { FEATURE_NAMES, flowFeatureVector, type FlowRecord } from "@traffic-analyzer/shared/flow";
import { findTeamKit } from "@traffic-analyzer/shared/testing";
import { buildLabelledDataset } from "./build_labelled_dataset.ts";
import { buildKitDataset } from "./kit_dataset.ts";
import {
  DEFAULT_CAPTURES_DIR,
  trainAndEvaluate,
  type TrainingDatasets,
  type TrainingEvaluation,
} from "./run_training.ts";

/** Names of the candidate features, in the order {@linkcode appFeatures} appends them. */
export const APP_FEATURE_NAMES: readonly string[] = Object.freeze([
  "app_dns",
  "app_mdns_llmnr",
  "app_tls",
  "app_quic",
  "app_http",
  "app_ssh",
  "app_dhcp",
  "app_dns_error",
  "app_dns_queries",
  "app_tls_sni",
  "app_http_error",
  "app_ssh_both_banners",
]);

/** The candidate application-layer features of one flow (0 without metadata). */
export function appFeatures(flow: FlowRecord): number[] {
  const app = flow.app ?? null;
  const p = app?.app_protocol ?? null;
  return [
    p === "dns" ? 1 : 0,
    p === "mdns" || p === "llmnr" ? 1 : 0,
    p === "tls" ? 1 : 0,
    p === "quic" ? 1 : 0,
    p === "http" ? 1 : 0,
    p === "ssh" ? 1 : 0,
    p === "dhcp" ? 1 : 0,
    app?.dns_rcode !== null && app?.dns_rcode !== undefined && app.dns_rcode !== 0 ? 1 : 0,
    app?.dns_query_count ?? 0,
    app?.tls_sni ? 1 : 0,
    app?.http_status !== null && app?.http_status !== undefined && app.http_status >= 400 ? 1 : 0,
    app?.ssh_client && app?.ssh_server ? 1 : 0,
  ];
}

/** The model's vector with the candidates appended. */
export function vectorWithAppFeatures(flow: FlowRecord): Float32Array {
  const base = flowFeatureVector(flow, flow.context);
  const extra = appFeatures(flow);
  const out = new Float32Array(base.length + extra.length);
  out.set(base);
  out.set(extra, base.length);
  return out;
}

/** One line of the study's table. */
export interface StudyFigures {
  /** Which feature set. */
  variant: string;
  /** Macro-F1 over lab flows, out of fold. */
  labMacroF1: number;
  /** Decision threshold the procedure chose. */
  threshold: number;
  /** Share of kit in-scope attack flows flagged (never trained on). */
  kitAttackFlagged: number;
  /** Share of them flagged with the right class. */
  kitAttackCorrect: number;
  /** Share of kit benign flows that alert, out of fold. */
  kitBenignAlerting: number;
  /** Worst benign kit capture's alerting share, and its name. */
  worstBenign: { source: string; share: number };
  /** Rows with any non-zero candidate feature (0 for the base variant). */
  rowsWithApp: number;
}

/** The figures of one evaluation. */
export function studyFigures(
  variant: string,
  evaluation: TrainingEvaluation,
  rowsWithApp: number,
): StudyFigures {
  const { card, training } = evaluation;
  const share = (a: number, b: number) => (b === 0 ? 0 : a / b);
  let worstBenign = { source: "-", share: 0 };
  for (const r of card.sources) {
    if (r.kind === "lab" || r.benignFlows === 0) continue;
    const s = share(r.falseAlarms, r.benignFlows);
    if (s > worstBenign.share) worstBenign = { source: r.source, share: s };
  }
  return {
    variant,
    labMacroF1: card.labReport.macroF1,
    threshold: training.calibration.decisionThreshold,
    kitAttackFlagged: share(card.kitAttackTotal.flagged, card.kitAttackTotal.attackFlows),
    kitAttackCorrect: share(card.kitAttackTotal.correct, card.kitAttackTotal.attackFlows),
    kitBenignAlerting: share(card.kitBenignTotal.falseAlarms, card.kitBenignTotal.benignFlows),
    worstBenign,
    rowsWithApp,
  };
}

function countRowsWithApp(datasets: TrainingDatasets, baseWidth: number): number {
  const rows = [
    ...datasets.lab.X,
    ...datasets.kit.flatMap((c) => [...c.benign, ...c.attack]),
  ];
  return rows.filter((x) => x.subarray(baseWidth).some((v) => v !== 0)).length;
}

async function main(args: string[]): Promise<number> {
  const seedAt = args.indexOf("--seed");
  const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 1;
  if (!Number.isInteger(seed)) {
    console.error(`--seed must be an integer: got ${args[seedAt + 1]}`);
    return 2;
  }
  const kitDir = findTeamKit();
  if (kitDir === null) {
    console.error("Cannot find the team kit: set TEAM_KIT_DIR to the folder holding pcaps/");
    return 2;
  }
  const log = (line: string) => console.error(line);
  const read = async (withApp: boolean): Promise<TrainingDatasets> => {
    const options = withApp ? { appMetadata: true, featureVector: vectorWithAppFeatures } : {};
    const lab = await buildLabelledDataset(DEFAULT_CAPTURES_DIR, options);
    const kit = await buildKitDataset(kitDir, options);
    return { lab, kit, kitDir, demo: null, toolVersions: {} };
  };
  const figures: StudyFigures[] = [];
  for (const withApp of [false, true]) {
    const started = performance.now();
    const datasets = await read(withApp);
    const evaluation = await trainAndEvaluate(datasets, { seed, log });
    figures.push(
      studyFigures(
        withApp ? `+ ${APP_FEATURE_NAMES.length} app features` : "model features only",
        evaluation,
        withApp ? countRowsWithApp(datasets, FEATURE_NAMES.length) : 0,
      ),
    );
    log(`${figures.at(-1)!.variant}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  console.log(
    "| variant | lab macro-F1 | threshold | kit attacks flagged | right class | kit benign alerting | worst benign capture | rows with app fields |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
  for (const f of figures) {
    console.log(
      `| ${f.variant} | ${f.labMacroF1.toFixed(4)} | ${f.threshold} | ${
        pct(f.kitAttackFlagged)
      } | ${pct(f.kitAttackCorrect)} | ${pct(f.kitBenignAlerting)} | ${f.worstBenign.source} ${
        pct(f.worstBenign.share)
      } | ${f.rowsWithApp} |`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
