/**
 * Runs one file-rate measurement for a case and turns it into a reference
 * (or the reason there is none), printing what it found. Private to the
 * bench cases.
 *
 * @module
 */
import { COMMAND_NOT_FOUND, CommandFailedError } from "./command_timing.ts";
import type { FileRate } from "./file_rate.ts";
import type { BenchReference } from "./bench_row.ts";
import { formatRate } from "./bench_summary.ts";

/** A reference rate, or why it could not be measured. */
export interface ReferenceRate {
  /** The measured reference; null when it failed. */
  reference: BenchReference | null;
  /** Why it failed, or null. */
  problem: string | null;
}

/** Measures, prints and names a rate; a failure becomes `problem` instead of an error. */
export async function referenceRate(
  name: string,
  measure: () => Promise<FileRate>,
): Promise<ReferenceRate> {
  try {
    const rate = await measure();
    console.log(
      `  ${name}: ${formatRate(rate.packetsPerSec)} packets/s ` +
        `(${rate.cpuSec.toFixed(2)} s CPU, ${rate.startupCpuSec.toFixed(2)} s of it start-up; ` +
        `${rate.wallSec.toFixed(2)} s wall)`,
    );
    return { reference: { name, value: rate.packetsPerSec }, problem: null };
  } catch (error) {
    const problem = error instanceof CommandFailedError && error.code === COMMAND_NOT_FOUND
      ? `${name.split(" ")[0]} is not installed`
      : (error as Error).message.split("\n")[0];
    console.log(`  ${name}: failed: ${problem}`);
    return { reference: null, problem };
  }
}
