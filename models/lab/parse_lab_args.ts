import { parseArgs } from "node:util";
import { integerInRange } from "@traffic-analyzer/shared/cli/integer_in_range";

/** What the lab command line asks for. */
export interface LabArgs {
  /** First seed (run i uses seed + i), or null when not given: runs then start at 1, the demo uses its own fixed seed. */
  seed: number | null;
  /** Number of runs. */
  runs: number;
  /** Output directory, or null for the default (`models/captures`). */
  outDir: string | null;
  /** Make the small demo capture (`demo.pcap` + `demo.json`) instead of training runs. */
  demo: boolean;
  /** Capture snap length in bytes. */
  snaplen: number;
  /** Print usage and exit. */
  help: boolean;
}

/** Usage text for `--help` and for argument errors. */
export const LAB_USAGE =
  `Usage: deno task lab [--seed N] [--runs K] [--out DIR] [--snaplen BYTES] [--demo]

Builds a throwaway namespace network, runs benign and attack tools in it,
and writes labelled captures (<run>.pcap + <run>.json) to models/captures/.
Must run as root.

  --seed N         first seed (default 1, demo 900); run i uses seed N+i
  --runs K         number of runs, 1..50 (default 7)
  --out DIR        output directory (default models/captures)
  --snaplen BYTES  capture snap length, 64..65535 (default 128)
  --demo           write one small mixed capture, demo.pcap + demo.json
  --help           show this text`;

/** Raised for a command line the lab cannot use. */
export class LabArgsError extends Error {
  /** Creates the error; `cause` carries the parser's error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "LabArgsError";
  }
}

/**
 * Parses the lab's command line. Numbers are checked here, with messages
 * naming the flag and the value, so a typo fails before any namespace exists.
 *
 * @example
 * ```ts
 * parseLabArgs(["--seed", "10", "--runs", "3"]); // { seed: 10, runs: 3, … }
 * ```
 */
export function parseLabArgs(args: readonly string[]): LabArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        runs: { type: "string" },
        out: { type: "string" },
        snaplen: { type: "string" },
        demo: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (cause) {
    throw new LabArgsError(`Cannot parse the lab arguments: ${(cause as Error).message}`, {
      cause,
    });
  }
  const int = (
    name: string,
    raw: string | undefined,
    fallback: number,
    min: number,
    max: number,
  ) => {
    if (raw === undefined) return fallback;
    const n = integerInRange(raw, { min, max });
    if (n === null) {
      throw new LabArgsError(
        `Cannot run the lab as '--${name}' must be an integer ${min}..${max}: current value is ${raw}`,
      );
    }
    return n;
  };
  const runs = int("runs", values.runs, 7, 1, 50);
  const seed = values.seed === undefined ? null : int("seed", values.seed, 1, 0, 0xffffffff - 50);
  return {
    seed,
    runs,
    outDir: values.out ?? null,
    demo: values.demo ?? false,
    snaplen: int("snaplen", values.snaplen, 128, 64, 65535),
    help: values.help ?? false,
  };
}
