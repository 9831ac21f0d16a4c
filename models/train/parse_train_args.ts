/**
 * The `deno task train` command line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { integerInRange } from "@traffic-analyzer/shared/cli/integer_in_range";

/** What the train command line asks for. */
export interface TrainArgs {
  /** Seed of the held-out choice and of every forest. */
  seed: number;
  /** Path of the model to write (or, with `check`, to compare against). */
  outPath: string;
  /** Folder with the lab captures. */
  capturesDir: string;
  /** The team kit (the folder holding `pcaps/labels.tsv`); null to look it up with `findTeamKit()`. */
  kitDir: string | null;
  /** Train into a temp folder and compare with the files at `outPath` instead of writing them. */
  check: boolean;
  /** Print usage and exit. */
  help: boolean;
}

/** Usage text for `--help` and for argument errors. */
export const TRAIN_USAGE =
  `Usage: deno task train [--seed N] [--out PATH] [--captures DIR] [--kit DIR] [--check]

Builds the labelled flow dataset from the lab captures and the team kit's
public captures, scores every source with forests that never saw it (the
per-capture table is printed), calibrates the score, chooses the decision
threshold, trains the shipped random forest and writes it as ONNX with its
.json sidecar and MODEL_CARD.md beside it.

  --seed N          seed of the held-out choice and the forests (default 1)
  --out PATH        model path, ending in .onnx (default models/flow_classifier.onnx)
  --captures DIR    lab captures (default models/captures)
  --kit DIR         the team kit, the folder holding pcaps/labels.tsv (default:
                    TEAM_KIT_DIR, the kit beside the checkout, or /work/shared)
  --check           train into a temp folder and compare with the model at --out
                    (and its sidecar and card); exit 1 when they differ
  --help            show this text`;

/** Raised for a command line training cannot use. */
export class TrainArgsError extends Error {
  /** Creates the error; `cause` carries the parser's error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "TrainArgsError";
  }
}

/**
 * Parses the train command line, checking values so a typo fails before
 * anything is read or written.
 *
 * @example
 * ```ts
 * parseTrainArgs(["--seed", "3", "--check"]); // { seed: 3, check: true, … }
 * ```
 */
export function parseTrainArgs(args: readonly string[]): TrainArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        out: { type: "string" },
        captures: { type: "string" },
        kit: { type: "string" },
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (cause) {
    throw new TrainArgsError(`Cannot parse the train arguments: ${(cause as Error).message}`, {
      cause,
    });
  }
  const seed = values.seed === undefined
    ? 1
    : integerInRange(values.seed, { min: 0, max: 0x7fffffff });
  if (seed === null) {
    throw new TrainArgsError(
      `Cannot train as '--seed' must be an integer 0..${0x7fffffff}: current value is ${values.seed}`,
    );
  }
  const outPath = values.out ?? "models/flow_classifier.onnx";
  if (!outPath.endsWith(".onnx")) {
    throw new TrainArgsError(
      `Cannot train as '--out' must be a path ending in .onnx: current value is ${outPath}`,
    );
  }
  const capturesDir = values.captures ?? "models/captures";
  if (capturesDir.length === 0) {
    throw new TrainArgsError("Cannot train as '--captures' must not be empty");
  }
  if (values.kit !== undefined && values.kit.length === 0) {
    throw new TrainArgsError("Cannot train as '--kit' must not be empty");
  }
  return {
    seed,
    outPath,
    capturesDir,
    kitDir: values.kit ?? null,
    check: values.check ?? false,
    help: values.help ?? false,
  };
}
