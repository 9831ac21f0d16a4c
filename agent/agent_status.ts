/**
 * Text of `deno task agent --status`: what the outbox holds and what the
 * agent has counted.
 *
 * @module
 */
import type { OutboxStatus } from "./outbox.ts";
import { unaccountedRecords } from "./agent_counters.ts";

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Formats the outbox status for people: queue depth, stored bytes against
 * the cap, every dead letter with its reason, and the counters.
 *
 * @example
 * ```ts
 * console.log(formatAgentStatus(await outbox.status(), "./data/agent.kv"));
 * ```
 */
export function formatAgentStatus(status: OutboxStatus, kvPath: string): string {
  const lines = [
    `Outbox ${kvPath}`,
    `  queue depth:   ${status.pendingBatches} batches, ${status.pendingRecords} records`,
    `  stored bytes:  ${status.pendingBytes} (${formatBytes(status.pendingBytes)} of ${
      formatBytes(status.maxBytes)
    } OUTBOX_MAX_BYTES)`,
    ...status.targets.map((holding) =>
      `    ${holding.batches} batches, ${holding.records} records for ${
        holding.target ?? "(an older agent: no server recorded; replay --untargeted)"
      }`
    ),
    `  oldest made:   ${
      status.oldestCreatedAtMs === null ? "-" : new Date(status.oldestCreatedAtMs).toISOString()
    }`,
    `  dead letters:  ${status.deadLetters.length} batches, ${
      status.deadLetters.reduce((sum, d) => sum + d.records, 0)
    } records, ${status.deadLetterBytes} bytes`,
  ];
  for (const dead of status.deadLetters) {
    lines.push(
      `    ${dead.key} (${dead.records} records, ${
        new Date(dead.deadAtMs).toISOString()
      }): ${dead.reason}`,
    );
  }
  lines.push("Counters (packet records)");
  for (const [name, value] of Object.entries(status.counters)) {
    lines.push(`  ${name.padEnd(15)}${value}`);
  }
  const off = unaccountedRecords(status.counters);
  lines.push(
    off === 0
      ? "  captured = sent + stored + dropped + dead_lettered"
      : `  captured is ${off} off sent + stored + dropped + dead_lettered ` +
        "(counted by an agent older than this store's counters?)",
  );
  return lines.join("\n");
}
