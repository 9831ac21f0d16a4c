/**
 * The line an agent run logs at start when its outbox holds batches made for
 * other servers (a `deno task start` whose bundled agent delivered to its
 * own server, then a `deno task agent` pointed elsewhere): they are not sent
 * here, they stay stored, and the line says how to send them where they
 * belong.
 *
 * @module
 */
import type { TargetHolding } from "./outbox_types.ts";

function batchCount(holding: TargetHolding): string {
  const batches = holding.batches === 1 ? "1 batch" : `${holding.batches} batches`;
  return `${batches} (${holding.records} records, ${holding.bytes} bytes)`;
}

/**
 * One line naming the batches the outbox keeps for other ingest URLs, how
 * many for each, and the command that sends them; null when there are none.
 * Batches stored by an older agent, which did not record their server, are
 * named apart: only `--untargeted` files them for the SERVER_URL given and sends them.
 *
 * @example
 * ```ts
 * const line = describeOtherTargets(await outbox.otherTargets(), outbox.target);
 * if (line !== null) log.warn(line);
 * ```
 */
export function describeOtherTargets(
  others: readonly TargetHolding[],
  current: string | null,
): string | null {
  if (others.length === 0) return null;
  const parts = others.map((holding) =>
    holding.target === null
      ? `${batchCount(holding)} stored by an older agent that did not record its server ` +
        "(`deno task replay --untargeted --server-url <url>` files them for <url> and sends them)"
      : `${batchCount(holding)} for ${holding.target} ` +
        `(\`deno task replay --server-url ${holding.target}\` sends them)`
  );
  return `The outbox keeps batches made for other servers, which are not sent to ${
    current ?? "this server"
  } and stay stored (counting against OUTBOX_MAX_BYTES): ${parts.join("; ")}`;
}
