import type { LabNetwork } from "./lab_network.ts";
import type { SegmentRecord } from "./manifest.ts";
import { runCommand } from "./run_command.ts";
import type { PlannedSegment } from "./scenario_plan.ts";
import { sleep } from "./_sleep.ts";

/** Options for {@link runSegment}. */
export interface RunSegmentOptions {
  /** Network the segment's host belongs to. */
  network: LabNetwork;
  /** Aborting kills the running command and ends the segment. */
  signal?: AbortSignal;
  /** Checked before each command; true ends the segment early (background traffic). */
  shouldStop?: () => boolean;
  /** Called with one line per finished command that failed or timed out. */
  log?: (line: string) => void;
  /** The clock, epoch milliseconds. @default {Date.now} */
  nowMs?: () => number;
}

/**
 * Runs a planned segment's commands one after the other on its host and
 * records when the segment ran: the window starts just before the first
 * command and ends just after the last one, which is what labelling by host
 * and time needs.
 */
export async function runSegment(
  segment: PlannedSegment,
  options: RunSegmentOptions,
): Promise<SegmentRecord> {
  const nowMs = options.nowMs ?? Date.now;
  const log = options.log ?? (() => {});
  const ns = options.network.hosts[segment.host].namespace;
  const commands: string[][] = [];
  const exitCodes: (number | null)[] = [];
  let timedOut = false;
  const start = nowMs() / 1000;
  // The window ends when the last command ends, not after its pause.
  let end = start;
  for (const c of segment.commands) {
    if (options.signal?.aborted || options.shouldStop?.()) break;
    const result = await runCommand(c.argv, {
      netns: ns,
      timeoutMs: c.timeoutMs,
      cwd: c.cwd,
      signal: options.signal,
    });
    end = nowMs() / 1000;
    commands.push(c.argv);
    exitCodes.push(result.code);
    timedOut ||= result.timedOut;
    if (result.timedOut) {
      log(
        `${segment.scenario}: '${c.argv.join(" ")}' hit its ${c.timeoutMs} ms limit and was killed`,
      );
    } else if (result.code !== 0 && !result.aborted) {
      log(
        `${segment.scenario}: '${c.argv[0]}' exited with ${result.code}: ${
          lastLine(result.stderr || result.stdout)
        }`,
      );
    }
    if (c.pauseAfterMs > 0) await sleep(c.pauseAfterMs, options.signal);
  }
  return {
    label: segment.label,
    scenario: segment.scenario,
    host: segment.host,
    sourceAddresses: segment.sourceAddresses,
    ...(segment.labelTargets ? { labelTargets: segment.labelTargets } : {}),
    target: segment.target,
    start,
    end,
    commands,
    exitCodes,
    timedOut,
    params: segment.params,
  };
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}
