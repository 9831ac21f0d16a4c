/**
 * Renders `models/MODEL_CARD.md` from one training run. The whole card is
 * generated, prose included, so its numbers can never drift from the model
 * they describe: change this template or the data, then run
 * `deno task train`. The output is already in `deno fmt` form (aligned
 * tables, ASCII inside them), so `deno fmt --check` passes on it.
 *
 * @module
 */

import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import type { ClassificationReport, FlowModelSidecar } from "../ml/mod.ts";
import type { LabelledDataset, RunSummary } from "./build_labelled_dataset.ts";
import type { HyperparameterSelection } from "./select_hyperparameters.ts";
import type { FlowClassifierTraining } from "./train_flow_classifier.ts";
import { wrapMarkdown } from "./_wrap_markdown.ts";

/** The repository's `fmt.lineWidth` (deno.json), which `deno fmt` wraps prose at. */
const LINE_WIDTH = 100;

/** Everything the card is rendered from. */
export interface ModelCardInput {
  /** The labelled dataset of every training run. */
  data: LabelledDataset;
  /** The training procedure's results. */
  training: FlowClassifierTraining;
  /** The shipped model on the demo capture, or null when there is none. */
  demo: { runId: string; summary: RunSummary; report: ClassificationReport } | null;
  /** The evaluation model scoring the held-out runs pass by pass, as the aggregator does. */
  whileActive: {
    passIntervalSec: number;
    firstScores: ClassificationReport;
    allScores: ClassificationReport;
    firstScoredWithoutContext: number;
  };
  /** Package versions of the lab's tools, from the manifests. */
  toolVersions: Record<string, string>;
  /** File name of the model, e.g. `flow_classifier.onnx`. */
  modelFile: string;
  /** Size of the model file. */
  onnxBytes: number;
  /** The sidecar written with the model (null before it is written). */
  sidecar: FlowModelSidecar | null;
}

type Align = "left" | "right";

/** A Markdown table in the layout `deno fmt` gives it. Cells must be ASCII. */
function table(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c].length)));
  const cell = (text: string, c: number) =>
    align[c] === "right" ? text.padStart(widths[c]) : text.padEnd(widths[c]);
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = widths.map((w, c) => align[c] === "right" ? "-".repeat(w - 1) + ":" : "-".repeat(w));
  return [line(headers), `| ${rule.join(" | ")} |`, ...rows.map(line)].join("\n");
}

const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);
const code = (s: string) => `\`${s}\``;
const list = (items: string[]) =>
  items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;

function metricsTable(report: ClassificationReport): string {
  const rows = report.perClass.map((m) => [
    m.label,
    f3(m.precision),
    f3(m.recall),
    f3(m.f1),
    String(m.support),
  ]);
  rows.push([
    "macro average",
    f3(report.macroPrecision),
    f3(report.macroRecall),
    f4(report.macroF1),
    String(report.rows),
  ]);
  return table(
    ["class", "precision", "recall", "F1", "flows"],
    rows,
    ["left", "right", "right", "right", "right"],
  );
}

function confusionTable(report: ClassificationReport): string {
  const { labels, matrix } = report.confusion;
  return table(
    ["true \\ predicted", ...labels],
    matrix.map((row, i) => [labels[i], ...row.map(String)]),
    ["left", ...labels.map((): Align => "right")],
  );
}

/** The largest off-diagonal cells, e.g. "254 udp_flood as portscan". */
function topConfusions(report: ClassificationReport, count: number): string[] {
  const { labels, matrix } = report.confusion;
  const cells: { n: number; text: string }[] = [];
  matrix.forEach((row, i) =>
    row.forEach((n, j) => {
      if (i !== j && n > 0) {
        cells.push({ n, text: `${n} ${labels[i]} flow${n === 1 ? "" : "s"} as ${labels[j]}` });
      }
    })
  );
  return cells.sort((a, b) => b.n - a.n).slice(0, count).map((c) => c.text);
}

function candidateText(c: object): string {
  return Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ");
}

/** The chosen candidate's weakest fold and what it got wrong, as a sentence. */
function weakestFoldText(selection: HyperparameterSelection): string {
  const chosen = selection.scores[selection.bestIndex];
  let worst = 0;
  chosen.foldMacroF1.forEach((v, i) => {
    if (v < chosen.foldMacroF1[worst]) worst = i;
  });
  const confusions = topConfusions(chosen.foldReports[worst], 3);
  return `The chosen candidate's weakest fold is ${selection.runs[worst]} (macro-F1 ${
    f4(chosen.foldMacroF1[worst])
  })${confusions.length > 0 ? `: ${confusions.join("; ")}` : ""}.`;
}

/** Flood rates and sizes across the runs, from the segments' `count` and `intervalUs`. */
function floodRangeText(data: LabelledDataset): string {
  const floods = data.runs.flatMap((r) => r.segments).filter((s) =>
    typeof s.params.intervalUs === "number" && typeof s.params.count === "number" &&
    (s.params.intervalUs as number) > 0
  );
  if (floods.length === 0) return "";
  const rates = floods.map((s) => 1e6 / (s.params.intervalUs as number));
  const counts = floods.map((s) => s.params.count as number);
  return ` Floods sent ${Math.min(...counts)} to ${Math.max(...counts)} packets per burst at ${
    Math.round(Math.min(...rates))
  } to ${Math.round(Math.max(...rates))} packets/s.`;
}

function selectionTable(selection: HyperparameterSelection): string {
  return table(
    ["candidate", ...selection.runs, "mean", "chosen"],
    selection.scores.map((s, i) => [
      candidateText(s.candidate),
      ...s.foldMacroF1.map(f3),
      f4(s.meanMacroF1),
      i === selection.bestIndex ? "yes" : "",
    ]),
    ["left", ...selection.runs.map((): Align => "right"), "right", "left"],
  );
}

function datasetTables(data: LabelledDataset, classes: string[]): string {
  const runRows = data.runs.map((r) => [
    r.runId,
    String(r.seed),
    String(r.packets),
    String(r.flows),
    String(r.unlabelled),
    ...classes.map((c) => String(r.perClass[c as keyof RunSummary["perClass"]] ?? 0)),
  ]);
  const sum = (pick: (r: RunSummary) => number) =>
    String(data.runs.reduce((s, r) => s + pick(r), 0));
  runRows.push([
    "all runs",
    "",
    sum((r) => r.packets),
    sum((r) => r.flows),
    sum((r) => r.unlabelled),
    ...classes.map((c) => sum((r) => r.perClass[c as keyof RunSummary["perClass"]] ?? 0)),
  ]);
  const byRun = table(
    ["run", "seed", "packets", "flows", "unlabelled", ...classes],
    runRows,
    ["left", "right", "right", "right", "right", ...classes.map((): Align => "right")],
  );
  const protocols = [...new Set(data.flows.map((f) => f.protocol))].sort();
  const byProtocol = table(
    ["protocol", ...classes],
    protocols.map((p) => [
      p,
      ...classes.map((c) =>
        String(data.flows.filter((f) => f.protocol === p && f.label === c).length)
      ),
    ]),
    ["left", ...classes.map((): Align => "right")],
  );
  return `${byRun}\n\nLabelled flows by protocol:\n\n${byProtocol}`;
}

/** One short cell per attack segment: its scalar settings. */
function attackSettingsTable(data: LabelledDataset): string {
  const scenarios = [
    ...new Set(
      data.runs.flatMap((r) =>
        r.segments.filter((s) => s.label !== "benign").map((s) => s.scenario)
      ),
    ),
  ].sort();
  const short = (params: Record<string, unknown>) =>
    Object.entries(params)
      .filter(([, v]) => typeof v === "number" || typeof v === "string" || typeof v === "boolean")
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    for (const run of data.runs) {
      const segs = run.segments.filter((s) => s.scenario === scenario);
      rows.push([scenario, run.runId, segs.map((s) => short(s.params)).join("; ")]);
    }
  }
  return table(["scenario", "run", "settings (from the manifest)"], rows);
}

function importanceTable(sidecar: FlowModelSidecar, count: number): string {
  const top = Object.entries(sidecar.featureImportances).sort((a, b) => b[1] - a[1]).slice(
    0,
    count,
  );
  return table(
    ["feature", "importance"],
    top.map(([name, v]) => [name, f3(v)]),
    ["left", "right"],
  );
}

/**
 * Renders the model card as Markdown.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("models/MODEL_CARD.md", renderModelCard(input));
 * ```
 */
export function renderModelCard(input: ModelCardInput): string {
  const { data, training, demo, whileActive, sidecar } = input;
  if (sidecar === null) {
    throw new RangeError("Cannot render the model card as 'sidecar' is null: save the model first");
  }
  const { classes, split, evaluation, shipped } = training;
  const report = evaluation.report;
  const evalSel = evaluation.selection;
  const shipSel = shipped.selection;
  const shipCandidate = shipSel.scores[shipSel.bestIndex];
  const opts = sidecar.training.options;
  const runIds = data.runs.map((r) => r.runId);
  const perClassTotal = (c: string) => data.y.filter((y) => y === c).length;
  const rarest = [...classes].sort((a, b) => perClassTotal(a) - perClassTotal(b))[0];
  const unlabelled = data.runs.reduce((s, r) => s + r.unlabelled, 0);
  const unlabelledByProtocol: Record<string, number> = {};
  for (const r of data.runs) {
    for (const [p, n] of Object.entries(r.unlabelledByProtocol)) {
      unlabelledByProtocol[p] = (unlabelledByProtocol[p] ?? 0) + n;
    }
  }
  const looFolds = shipSel.runs.map((run, i) => ({
    run,
    report: shipCandidate.foldReports[i],
  }));
  const looRows = looFolds.map(({ run, report: r }) => [
    run,
    f4(r.macroF1),
    topConfusions(r, 2).join("; ") || "none",
  ]);
  const looMean = shipCandidate.meanMacroF1;
  const weakest = [...looFolds].sort((a, b) => a.report.macroF1 - b.report.macroF1)[0];
  const toolList = Object.entries(input.toolVersions).map(([k, v]) => `${k} ${v}`);
  const wa = whileActive;

  const md = `# Model card: flow classifier

<!-- Generated by \`deno task train\` (models/train/render_model_card.ts). Do not edit by hand:
change the template or the data, retrain, and commit the three files together. -->

${
    table(["", ""], [
      ["Model version", code(sidecar.modelVersion)],
      [
        "Files",
        `${code(`models/${input.modelFile}`)} (${input.onnxBytes} bytes) + ${
          code(`models/${input.modelFile.replace(/\.onnx$/, ".json")}`)
        } sidecar`,
      ],
      ["Model", `random forest, ${opts.treeCount} trees, ${sidecar.training.nodes} nodes`],
      [
        "Input",
        `${FEATURE_NAMES.length} float32 flow features, feature version ${FEATURE_VERSION}`,
      ],
      ["Classes", classes.join(", ")],
      ["Held-out macro-F1", `${f4(report.macroF1)} on whole runs ${split.heldOut.join(", ")}`],
      ["Training data SHA-256", code(sidecar.trainingDataSha256)],
      ["ONNX SHA-256", code(sidecar.onnxSha256)],
    ])
  }

## What it does

The aggregator builds bidirectional flows from captured packets (\`shared/flow\`), turns each one into
the ${FEATURE_NAMES.length}-value vector of \`flowFeatureVector(flow, flow.context)\` (documented in
\`models/FEATURES.md\`) and asks this model which of ${classes.length} classes the flow belongs to. It
stores two things per flow:

- \`label\`: the most probable class.
- \`score\` = 1 - P(benign), in [0, 1]: the probability mass the model puts on all attack classes
  together. It is one number to sort and threshold every flow by, whatever attack it resembles;
  \`label\` says which. A flow labelled \`benign\` can still score up to 1 - 1/${classes.length}
  when the attack classes share the rest.

The probabilities are the forest's vote shares (each tree's leaf class distribution, averaged over
${opts.treeCount} trees). They rank flows well but are not calibrated: a score of 0.7 does not mean
that 70 % of such flows are attacks, and scores of different model versions are not comparable. The
model version is stored with every scored flow.

## Data

All data comes from the traffic lab (\`models/lab/\`, \`deno task lab\`): six network namespaces on one
bridge (a server, three benign clients, two attackers; 10.77.0.0/24 and fd77::/64), real Debian tools
run against real services (busybox httpd, python http.server, dnsmasq, sshd, iperf3), captured
with tcpdump on the bridge at a 128-byte snap length. Each run first has a benign phase (HTTP, DNS,
SSH and iperf3 clients), then the attacks one at a time in a seeded order while a third client keeps
making benign HTTP and DNS requests. The seed sets every rate, count, port range, payload size and
the attack order. Tool versions: ${list(toolList)}.

Flows are built exactly as the aggregator builds them, with the same code: every packet of a run
decoded by \`decodePacket\` (with the agent's default \`PAYLOAD_CAPTURE\`), merged in capture-time
order into one \`FlowTable\` with default options, then \`drain()\`; every final flow with its context
is one row. A flow's label comes from the run's manifest (\`lookupLabel\`): the segment that lists
one of the flow's two addresses as a source and whose time window holds the flow's first packet.
Replies, RSTs and ICMP errors therefore share the class of the host that caused them, and traffic a
tool sends besides its probes (nmap's ARP and neighbour discovery) takes the tool's class. Flows no
segment generated are left out: ${unlabelled} here${
    Object.keys(unlabelledByProtocol).length > 0
      ? ` (${Object.entries(unlabelledByProtocol).sort().map(([p, n]) => `${p} ${n}`).join(", ")})`
      : ""
  }. A flow that two classes could claim would stop training with an error; there were none.

${data.runs.length} runs (${list(runIds)}), ${data.X.length} labelled flows:

${datasetTables(data, classes)}

The classes are very unbalanced (${rarest} has ${perClassTotal(rarest)} flows in all), so every
tree weighs each class by \`rows / (classes * rows_of_class)\` ("balanced" class weights) and the
results below are reported per class, with the unweighted macro average as the headline.

<details>
<summary>Attack settings of each run</summary>

${attackSettingsTable(data)}

</details>

## Classes

${
    table(["class", "lab scenarios", "what its flows look like"], [
      ["benign", "http, dns, ssh, iperf, background", "complete TCP sessions, DNS queries"],
      [
        "portscan",
        "nmap_syn, nmap_connect, nmap_udp",
        "one or two packets per port, many ports per host",
      ],
      ["syn_flood", "syn_flood (hping3 -S)", "single SYNs to one port, half-open"],
      ["udp_flood", "udp_flood (hping3 --udp)", "one datagram per source port to one port"],
      ["icmp_flood", "icmp_flood (hping3 --icmp)", "bursts of echo requests, one flow per burst"],
      ["bruteforce", "bruteforce (hydra ssh / http-get)", "short complete logins, one per guess"],
      [
        "slow_dos",
        "slow_dos (slowhttptest -H/-B/-X)",
        "long HTTP connections that trickle data",
      ],
    ])
  }

## Evaluation

Whole runs are held out, never a random share of one run's flows: flows of one run share hosts,
timing, ports and tool settings, and a random split would let the model recognise the run instead
of the attack. Of the ${split.allSets} ways to hold out ${split.heldOut.length} of the ${runIds.length} runs, ${split.validSets} leave every class on both
sides; seed ${training.seed} picked **${
    split.heldOut.join(", ")
  }** (\`chooseHeldOutRuns\`). The model evaluated here was trained on
${list(split.train)} only.

Hyperparameters were chosen before looking at the held-out runs, by leave-one-run-out
cross-validation over the training runs (train on all but one, macro-F1 on that one, mean over the
runs; a tie goes to the earlier candidate):

${selectionTable(evalSel)}

${weakestFoldText(evalSel)}

### Results on the held-out runs

${metricsTable(report)}

Accuracy ${f4(report.accuracy)}, support-weighted F1 ${f4(report.weightedF1)}. Per held-out run:
${evaluation.perRun.map((r) => `${r.runId} macro-F1 ${f4(r.report.macroF1)}`).join(", ")}.

Confusion matrix (rows: true class, columns: predicted class):

${confusionTable(report)}

### How much the figure depends on the split

Two held-out runs are a small sample. With the shipped model's settings (below), leaving each run
out in turn and training on the other ${runIds.length - 1} gives a mean macro-F1 of ${
    f4(looMean)
  }; the
weakest run is ${weakest.run} at ${f4(weakest.report.macroF1)}:

${table(["left-out run", "macro-F1", "largest confusions"], looRows, ["left", "right", "left"])}

These runs also chose the settings, so the table is slightly optimistic; it is here to show the
spread between runs, not to replace the held-out figure. A run whose attack settings lie outside
the other runs' range (see "Attack settings of each run") is where the model fails: it has learnt
the lab's settings as much as the attacks.
${
    demo === null ? "" : `
### The demo capture

\`${demo.runId}.pcap\` (seed ${demo.summary.seed}, the lab's demo profile: about a quarter of the counts,
no connect or UDP scan) was never used for training or selection. The shipped model on its
${demo.report.rows} labelled flows: macro-F1 ${f4(demo.report.macroF1)}, accuracy ${
      f4(demo.report.accuracy)
    }${
      topConfusions(demo.report, 3).length > 0
        ? `; errors: ${topConfusions(demo.report, 3).join("; ")}`
        : "; no errors"
    }.

${metricsTable(demo.report)}
`
  }
### While flows are still active

The figures above score each flow once, complete. The aggregator scores a flow on every pass that
changes it (every ${wa.passIntervalSec} s by default), starting with its first packets, when its
statistics are partial and, for its first 2 s of packet time, its context features are still 0.
Replaying the held-out runs in ${wa.passIntervalSec}-second passes through the evaluation model:
the first score of each flow reaches macro-F1 ${
    f4(wa.firstScores.macroF1)
  } (${wa.firstScoredWithoutContext} of ${wa.firstScores.rows} flows were first scored before
their context existed), and all ${wa.allScores.rows} scores written reach ${
    f4(wa.allScores.macroF1)
  }. Recall of the first score per class: ${
    wa.firstScores.perClass.map((m) => `${m.label} ${f3(m.recall)}`).join(", ")
  }. A flow's score settles once it ends; slow attacks such as slow_dos look benign until they
have been held open for a while.

## Shipped model

The shipped \`${input.modelFile}\` is the same procedure run on all ${runIds.length} runs:
hyperparameters chosen by leave-one-run-out over every run (${
    candidateText(shipCandidate.candidate)
  }),
then one forest trained on all ${data.X.length} flows. Apart from the demo capture, its accuracy on
new data is unmeasured: the held-out figures above estimate it, and it has seen more settings than
the evaluated model.

${selectionTable(shipSel)}

A random forest (CART trees, Gini impurity, bootstrap samples, a random subset of features per
split), because it is the standard baseline of flow-based intrusion detection (the CIC-IDS2017 and
CSE-CIC-IDS2018 papers and most work on them), needs no feature scaling, copes with features of
very different ranges and with constant ones, trains in seconds, and its trees are exported exactly
to one ONNX \`TreeEnsembleClassifier\` node (\`models/ml/onnx_export.ts\`), so onnxruntime in the
aggregator computes the same labels and probabilities, bit for bit, as the trainer
(\`models/train/committed_model_test.ts\` checks this on the held-out runs). Training is seeded and
deterministic.

${
    table(["setting", "value"], [
      ["trees", String(opts.treeCount)],
      ["max depth", String(opts.maxDepth)],
      ["min rows per leaf", String(opts.minSamplesLeaf)],
      ["min rows to split", String(opts.minSamplesSplit)],
      ["features per split", `${opts.maxFeatures} of ${FEATURE_NAMES.length}`],
      ["quantile bins per feature", String(opts.maxBins)],
      ["bootstrap", `${opts.bootstrap}, ${opts.maxSamplesFraction} x rows`],
      [
        "class weights",
        classes.map((c) => {
          const i = sidecar.classes.indexOf(c);
          return `${c} ${opts.classWeights[i].toFixed(2)}`;
        }).join(", "),
      ],
      ["seed", String(opts.seed)],
    ], ["left", "left"])
  }

Most important features (mean decrease in impurity):

${importanceTable(sidecar, 12)}

## Reproduce

\`\`\`sh
deno task train            # rebuilds models/flow_classifier.onnx, .json and MODEL_CARD.md
deno task train --check    # trains into a temp folder and compares with the committed files
\`\`\`

Options: \`--seed N\` (default 1), \`--out PATH\` (default \`models/flow_classifier.onnx\`; the
sidecar and the card go beside it), \`--captures DIR\` (default \`models/captures\`). The same
captures, code and seed give the same three files byte for byte; \`--check\` fails when they differ
(it accepts an ONNX file with different bytes only if it gives identical labels and probabilities
on every flow). Retrain whenever \`FEATURE_VERSION\`, the flow table, the captures or this procedure
change: the scorer refuses a model whose feature names or version differ from the code's, and
\`models/train/committed_model_test.ts\` fails CI until the committed model is rebuilt.

## Limits

- **A lab model is not a model of the internet.** ${data.runs.length} runs, one topology (one
  bridge, six hosts, no routing, no NAT, no loss, sub-millisecond RTTs), one server with a handful
  of services, benign traffic from scripted curl, dig, ssh and iperf3 clients, and attacks from one
  version of each tool with the settings listed above.${
    floodRangeText(data)
  } Real networks have other protocols, other
  clients, other timing and background noise it has never seen; expect false positives on unusual
  but harmless traffic (e.g. many short connections, monitoring probes, DNS-heavy hosts) and
  misses on attacks made with other tools or rates. Use the score to rank flows for a human, not to
  block traffic.
- **It learns the lab's settings.** Where a held-out run's settings fall outside the training runs'
  range, the model fails on them (see the leave-one-run-out table): for example a UDP flood with
  payloads unlike the training floods can be taken for a UDP scan, and an HTTP brute force for a
  slow HTTP attack, both short HTTP connections to one server.
- **Classes that look alike per flow.** A single SYN is a single SYN: a SYN scan probe and a SYN
  flood packet differ only in context (distinct ports per originator, half-open share per service),
  which the context features carry; flows scored before their context exists (the first 2 s) lose
  that. The first flows of any flood or scan, and attacks from many forged sources (each source
  sends few packets), have weak context.
- **Partial flows.** Flows are scored while still active, and a partial flow's features differ from
  the final flow's the model was trained on (see "While flows are still active"). Training on
  final flows only is a simplification.
- **Labels are by host and time window,** so anything an attacker host sent during its attack
  window is labelled as that attack (nmap's ARP and neighbour discovery are "portscan"), and the
  benign hosts never attack. Mixed hosts (an infected workstation that also browses) are not
  represented.
- **Not calibrated, not adversarially tested.** Scores are vote shares; an attacker who knows the
  features can shape traffic to look benign (pad packets, slow down, spread over time and hosts).
`;
  return wrapMarkdown(md, LINE_WIDTH);
}
