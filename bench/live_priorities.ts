/**
 * Scheduling priorities of the programs around the agent in the live bench
 * cases (bench/live.ts, bench/soak.ts). The agent captures at its
 * `CAPTURE_NICE` (by default ahead of the server, PostgreSQL and the
 * aggregator, whose backlogs are durable). tcpreplay stands for traffic from
 * other machines, which does not slow down when this one is busy, so it runs
 * ahead of the agent: otherwise the agent's priority would throttle the very
 * traffic it is measured on. `tcpdump -w`, the live case's reference, captures
 * at the agent's priority, so that neither capture is favoured.
 *
 * @module
 */
import { configDefault } from "@traffic-analyzer/shared/config";

/** Nice value of tcpreplay: ahead of both captures. */
export const TRAFFIC_SOURCE_NICE = -10;

/** The agent's default `CAPTURE_NICE`, which the reference capture takes too. */
export const AGENT_CAPTURE_NICE: number = configDefault("captureNice");

/** `command args` run at nice value `nice` (through nice(1)). */
export function atNice(nice: number, command: string, args: string[]): [string, string[]] {
  return ["nice", ["-n", String(nice), command, ...args]];
}
