/**
 * libmaxminddb's own lookup rate, the reference of the bench's `enrich`
 * case: `mmdblookup --ip-file FILE` looks up every address of a file (one per
 * line) in a MaxMind DB, decodes each entry found, and prints how many
 * lookups a second it made by its own CPU clock (`clock()`), start-up and the
 * database's opening left out. libmaxminddb is the reader Zeek, Suricata and
 * ntopng link for GeoIP; Debian ships `mmdblookup` in `mmdb-bin`.
 *
 * @module
 */
import { COMMAND_NOT_FOUND, CommandFailedError } from "./command_timing.ts";
import { type MmdblookupRate, parseMmdblookupRate } from "./mmdblookup_report.ts";

export type { MmdblookupRate } from "./mmdblookup_report.ts";

/** Options for {@linkcode measureMmdblookupRate}. */
export interface MmdblookupRateOptions {
  /** The MaxMind DB file. */
  mmdbPath: string;
  /** The addresses, one per line. */
  addressesPath: string;
  /** CPU to pin it to with `taskset`; null leaves it unpinned. */
  cpu: number | null;
  /** Runs; the best is kept. @default {1} */
  repeats?: number;
}

/**
 * Runs `mmdblookup --file DB --ip-file ADDRESSES` (pinned when `cpu` is
 * set) `repeats` times and returns its best reported rate.
 *
 * @throws {CommandFailedError} when it fails or reports no rate; code 127
 * ({@linkcode COMMAND_NOT_FOUND}) when `mmdblookup` is not installed.
 */
export async function measureMmdblookupRate(
  options: MmdblookupRateOptions,
): Promise<MmdblookupRate> {
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(
      `Cannot run mmdblookup as 'repeats' must be an integer >= 1: current value is ${repeats}`,
    );
  }
  const argv = ["mmdblookup", "--file", options.mmdbPath, "--ip-file", options.addressesPath];
  const command = options.cpu === null ? argv : ["taskset", "-c", String(options.cpu), ...argv];
  let best: MmdblookupRate | null = null;
  for (let run = 0; run < repeats; run++) {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(command[0], {
        args: command.slice(1),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new CommandFailedError(`${command[0]} is not installed`, {
          code: COMMAND_NOT_FOUND,
          cause: error,
        });
      }
      throw error;
    }
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr).trim();
    // taskset exits 127 when it cannot find the program it runs.
    if (!output.success) {
      throw new CommandFailedError(
        `${command.join(" ")} exited with code ${output.code}${
          stderr ? `: ${stderr.slice(-300)}` : ""
        }`,
        { code: output.code },
      );
    }
    const rate = parseMmdblookupRate(stdout);
    if (rate === null) {
      throw new CommandFailedError(
        `${command.join(" ")} printed no rate: ${stdout.trim().slice(-300)}`,
        { code: 0 },
      );
    }
    if (best === null || rate.lookupsPerSec > best.lookupsPerSec) best = rate;
  }
  return best!;
}
