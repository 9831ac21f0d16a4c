/**
 * The outbox's replay-queue messages: what one carries, how it is sent in
 * the atomic write that (re)schedules its batch, and how a received one is
 * recognised. A message names a batch and its queue token only; the token
 * changes whenever the batch is rescheduled, so a stale duplicate does
 * nothing.
 *
 * @module
 */
import { PENDING_LOST } from "./outbox_keys.ts";
import type { StoredBatchInfo } from "./outbox_types.ts";

/** Messages of stores older than targets carried no target; their batches were re-enqueued. */
const MESSAGE_TYPE = "traffic-analyzer/outbox-replay/2";

/** KV's own redelivery schedule when our handler throws (a KV error, not a failed upload). */
const QUEUE_BACKOFF_MS = [1_000, 5_000, 30_000];

/** A replay due: the batch `["pending", target, key]`, if its token is still `token`. */
export interface ReplayMessage {
  /** Marks the agent's own messages. */
  type: typeof MESSAGE_TYPE;
  /** The key part of the batch's target (see `outbox_keys.ts`). */
  target: string;
  /** The batch's key. */
  key: string;
  /** The batch's queue token when the message was sent. */
  token: string;
}

/** Whether a queue message is one of {@link ReplayMessage}'s (not one of an older store). */
export function isReplayMessage(value: unknown): value is ReplayMessage {
  const message = value as ReplayMessage | null;
  return typeof message === "object" && message !== null && message.type === MESSAGE_TYPE &&
    typeof message.target === "string" && typeof message.key === "string" &&
    typeof message.token === "string";
}

/** The queue message that replays `info` (stored under `target`) when due. */
export function enqueueReplay(
  op: Deno.AtomicOperation,
  target: string,
  info: Pick<StoredBatchInfo, "key" | "queueToken">,
  delayMs: number,
): void {
  const message: ReplayMessage = {
    type: MESSAGE_TYPE,
    target,
    key: info.key,
    token: info.queueToken,
  };
  op.enqueue(message, {
    delay: Math.max(0, Math.round(delayMs)),
    keysIfUndelivered: [[PENDING_LOST, target, info.key]],
    backoffSchedule: QUEUE_BACKOFF_MS,
  });
}
