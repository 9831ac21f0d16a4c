/**
 * Command-line arguments of `deno task bench`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { integerInRange } from "@traffic-analyzer/shared/cli/integer_in_range";

/** The bench cases, in the order they run and appear in the summary. */
export const BENCH_CASES = [
  "ingest",
  "e2e",
  "live",
  "decode",
  "capture",
  "flows",
  "aggregation",
  "enrich",
  "dashboard",
  "soak",
] as const;

/**
 * The cases a plain `deno task bench` runs: the speed cases. The soak (ten
 * minutes of steady traffic, watching memory) runs only when `--only` names it.
 */
export const DEFAULT_BENCH_CASES: readonly BenchCaseName[] = BENCH_CASES.filter((name) =>
  name !== "soak"
);

/** Name of one bench case, as `--only` takes it. */
export type BenchCaseName = typeof BENCH_CASES[number];

/** What `deno task bench` was asked to do. */
export interface BenchArgs {
  /** Cases to run, in {@linkcode BENCH_CASES} order. */
  cases: BenchCaseName[];
  /** Smaller inputs and fewer repetitions, for a smoke run. */
  quick: boolean;
  /** A capture to use instead of the one built from the lab captures, or null. */
  file: string | null;
  /** Flow model for the scoring and aggregation cases. */
  modelPath: string;
  /** Also print the summary rows as one JSON line at the end. */
  json: boolean;
  /** Length of the live case in seconds; null: its default (60, --quick 15). */
  seconds: number | null;
  /** Length of the soak in minutes; null: its default (10, --quick 2). */
  minutes: number | null;
  /** Packets/s the soak offers; null: its default (100,000). */
  soakPps: number | null;
  /** Print the usage and exit. */
  help: boolean;
}

/** Raised for arguments `deno task bench` cannot run with. */
export class BenchArgsError extends Error {
  /** @param message what is wrong, naming the flag and its value */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "BenchArgsError";
  }
}

/** The model the aggregator loads by default (`MODEL_PATH`). */
export const DEFAULT_MODEL_PATH = "./models/flow_classifier.onnx";

/** Usage text for `--help`. */
export const BENCH_USAGE =
  `Usage: deno task bench [--only CASES] [--quick] [--file CAPTURE] [--model PATH] [--json]
                       [--seconds N] [--minutes N] [--soak-pps N]

  --only CASES    comma-separated cases to run: ${BENCH_CASES.join(", ")}
                  (default: all but soak, which takes 10 minutes: --only soak)
  --quick         smaller inputs for a smoke run (ratios only indicative)
  --file CAPTURE  a pcap/pcapng to decode, assemble and aggregate instead of the one
                  built from models/captures (it should hold real traffic)
  --model PATH    flow model for scoring and aggregation (default ${DEFAULT_MODEL_PATH})
  --json          also print the summary rows as one JSON line
  --seconds N     length of the live case (default 60; --quick 15)
  --minutes N     length of the soak, at least 2 (default 10; --quick 2)
  --soak-pps N    packets/s the soak offers (default 100000)
`;

function isCaseName(name: string): name is BenchCaseName {
  return (BENCH_CASES as readonly string[]).includes(name);
}

/**
 * Parses `deno task bench` arguments.
 *
 * @throws {BenchArgsError} on an unknown flag, an unknown case name, an empty
 * `--only` or a flag missing its value.
 *
 * @example
 * ```ts
 * parseBenchArgs(["--only", "decode,ingest", "--quick"]);
 * // { cases: ["ingest", "decode"], quick: true, file: null, ... }
 * ```
 */
export function parseBenchArgs(args: readonly string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        only: { type: "string", multiple: true },
        quick: { type: "boolean", default: false },
        file: { type: "string" },
        model: { type: "string" },
        json: { type: "boolean", default: false },
        seconds: { type: "string" },
        minutes: { type: "string" },
        "soak-pps": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (cause) {
    throw new BenchArgsError(`Cannot run the bench: ${(cause as Error).message}`, { cause });
  }
  let cases: BenchCaseName[] = [...DEFAULT_BENCH_CASES];
  if (values.only !== undefined) {
    const asked = values.only.flatMap((list) => list.split(",")).map((name) => name.trim());
    const unknown = asked.filter((name) => name !== "" && !isCaseName(name));
    if (unknown.length > 0) {
      throw new BenchArgsError(
        `Cannot run the bench as '--only' names unknown case ${
          unknown.map((name) => JSON.stringify(name)).join(", ")
        }: the cases are ${BENCH_CASES.join(", ")}`,
      );
    }
    const wanted = new Set(asked.filter(isCaseName));
    if (wanted.size === 0) {
      throw new BenchArgsError(
        `Cannot run the bench as '--only' must name at least one case: current value is ${
          JSON.stringify(values.only.join(","))
        }`,
      );
    }
    cases = BENCH_CASES.filter((name) => wanted.has(name));
  }
  if (values.file === "") {
    throw new BenchArgsError(
      "Cannot run the bench as '--file' must be a path: current value is empty",
    );
  }
  if (values.model !== undefined && !values.model.endsWith(".onnx")) {
    throw new BenchArgsError(
      `Cannot run the bench as '--model' must end in .onnx: current value is ${values.model}`,
    );
  }
  const whole = (flag: string, text: string | undefined, least: number): number | null => {
    if (text === undefined) return null;
    const value = integerInRange(text, { min: least, max: Number.MAX_SAFE_INTEGER });
    if (value === null) {
      throw new BenchArgsError(
        `Cannot run the bench as '--${flag}' must be a whole number of at least ${least}: ` +
          `current value is ${JSON.stringify(text)}`,
      );
    }
    return value;
  };
  return {
    cases,
    quick: values.quick,
    seconds: whole("seconds", values.seconds, 5),
    minutes: whole("minutes", values.minutes, 2),
    soakPps: whole("soak-pps", values["soak-pps"], 1),
    file: values.file ?? null,
    modelPath: values.model ?? DEFAULT_MODEL_PATH,
    json: values.json,
    help: values.help,
  };
}
