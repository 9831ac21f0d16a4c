/**
 * The agent's last words: one summary line for a run, and, for `--read`,
 * the exit code and the one-line problem when not everything was delivered.
 *
 * @module
 */
import type { DeliveryTally } from "./delivery_tally.ts";

/** What {@link summarizeRun} needs to know about the run. */
export interface RunFacts {
  /** `read` (a capture file) or `live`. */
  mode: "read" | "live";
  /** The file's name, or the interfaces. */
  source: string;
  /** Packets read or captured in this run (a resumed read skips what was sent before). */
  packets: number;
  /** Where a resumed read started; 0 otherwise. */
  startIndex: number;
  /** Time taken. */
  seconds: number;
  /** What the delivery did. */
  tally: DeliveryTally;
  /** Batches waiting in the outbox now (from this run or before). */
  outboxPending: number;
}

/** The summary and what the process should end with. */
export interface RunOutcome {
  /** One line for stdout. */
  line: string;
  /** 0, 1 (token refused or missing), or 3 (batches wait in the outbox). */
  exitCode: number;
  /** One line for stderr when the exit code is not 0, else null. */
  problem: string | null;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function them(n: number): string {
  return n === 1 ? "it" : "them";
}

/**
 * Builds the summary line (packets read, batches sent, stored in the outbox,
 * dead letters, time taken) and, for a file, the exit code: 1 when the
 * server refused the token (or there was none) so batches were kept back,
 * 3 when batches wait in the outbox because the server failed, else 0.
 *
 * @example
 * ```ts
 * const { line, exitCode, problem } = summarizeRun({ mode: "read", source: "a.pcap", packets: 200, startIndex: 0, seconds: 1.2, tally, outboxPending: 0 });
 * console.log(line); // agent: read 200 packets from a.pcap in 1.2 s: 2 batches sent, …
 * ```
 */
export function summarizeRun(facts: RunFacts): RunOutcome {
  const { tally } = facts;
  const sent = tally.get("sent");
  const stored = tally.get("stored");
  const dead = tally.get("dead_lettered");
  const parts = [
    `${count(sent.batches, "batch", "batches")} sent`,
    `${stored.batches} stored in the outbox`,
    count(dead.batches, "dead letter", "dead letters"),
  ];
  const replayed = tally.get("replayed");
  if (replayed.batches > 0) parts.push(`${replayed.batches} replayed from the outbox`);
  const dropped = tally.get("dropped");
  if (dropped.batches > 0) parts.push(`${dropped.batches} dropped (larger than OUTBOX_MAX_BYTES)`);
  const already = tally.get("already_filed");
  if (already.batches > 0) parts.push(`${already.batches} already sent or stored before`);
  const unfiled = tally.get("unfiled");
  if (unfiled.batches > 0) {
    parts.push(
      `${unfiled.records} packets left for the next run (stopped while the outbox was full)`,
    );
  }
  const verb = facts.mode === "read" ? "read" : "captured";
  const from = facts.mode === "read" ? "from" : "on";
  const resumed = facts.startIndex > 0 ? ` (resumed at packet ${facts.startIndex})` : "";
  const line = `agent: ${verb} ${facts.packets} packets ${from} ${facts.source}${resumed} in ` +
    `${facts.seconds.toFixed(1)} s: ${parts.join(", ")}`;
  if (facts.mode !== "read") return { line, exitCode: 0, problem: null };
  if (tally.refusal !== null && stored.batches > 0) {
    const what = sent.batches + already.batches > 0
      ? `${stored.records} packets were not delivered`
      : "nothing was delivered";
    const why = tally.refusal.startsWith("no token")
      ? `there is no token (${tally.refusal.replace(/^no token: /, "")})`
      : `the server refused the token (${tally.refusal}); set AGENT_TOKEN to one of its INGEST_TOKENS`;
    return {
      line,
      exitCode: 1,
      problem: `${what}: ${why}. The ${count(stored.batches, "batch waits", "batches wait")} ` +
        `in the outbox; \`deno task replay\` sends ${them(stored.batches)} once the token is right`,
    };
  }
  if (stored.batches > 0 && facts.outboxPending > 0) {
    const why = tally.failure === null ? "" : ` (server failing: ${tally.failure})`;
    return {
      line,
      exitCode: 3,
      problem:
        `${
          count(facts.outboxPending, "batch waits", "batches wait")
        } in the outbox${why}; \`deno task replay\` ` +
        `or the next agent run sends ${them(facts.outboxPending)}`,
    };
  }
  return { line, exitCode: 0, problem: null };
}
