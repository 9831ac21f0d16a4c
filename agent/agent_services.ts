/**
 * Builds the agent's delivery side from configuration: the KV store at
 * `DATA_DIR/agent.kv`, the outbox, the token, the uploader and the delivery.
 * Shared by `main.ts` and `replay_main.ts`; nothing opens until it is called.
 *
 * @module
 */
import type { Config } from "@traffic-analyzer/shared";
import { AgentToken } from "./agent_token.ts";
import { Delivery, type DeliveryOptions } from "./delivery.ts";
import { Outbox } from "./outbox.ts";
import { Uploader } from "./uploader.ts";

/** File name of the agent's KV store inside DATA_DIR. */
export const AGENT_KV_FILE_NAME = "agent.kv";

/** The open delivery side of an agent. */
export interface AgentServices {
  /** The KV store (outbox, dead letters, counters). */
  kv: Deno.Kv;
  /** The outbox over `kv`. */
  outbox: Outbox;
  /** The uploader. */
  uploader: Uploader;
  /** The delivery, ready to take batches and replays. */
  delivery: Delivery;
  /** Path of the KV file. */
  kvPath: string;
  /**
   * Finishes deliveries (waiting up to `graceMs`, then storing the rest),
   * stops the outbox and closes the KV store.
   */
  close(graceMs: number): Promise<void>;
}

/** Options for {@link openAgentServices}. */
export interface OpenAgentServicesOptions {
  /** Validated configuration. */
  config: Config;
  /** Agent id (AGENT_ID or the host name). */
  agentId: string;
  /** How the delivery treats a full queue; see {@link DeliveryOptions.overflow}. @default "store" */
  overflow?: DeliveryOptions["overflow"];
  /** HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Opens `DATA_DIR/agent.kv` and wires outbox, uploader and delivery to it. */
export async function openAgentServices(
  options: OpenAgentServicesOptions,
): Promise<AgentServices> {
  const { config, agentId } = options;
  await Deno.mkdir(config.dataDir, { recursive: true });
  const kvPath = `${config.dataDir}/${AGENT_KV_FILE_NAME}`;
  const kv = await Deno.openKv(kvPath);
  const outbox = new Outbox({
    kv,
    maxBytes: config.outboxMaxBytes,
    replayDelayMs: Math.max(config.retryDelayMs, 100),
  });
  const uploader = new Uploader({
    serverUrl: config.serverUrl,
    agentId,
    token: new AgentToken({ configured: config.agentToken, dataDir: config.dataDir }),
    maxRetries: config.maxRetries,
    retryDelayMs: config.retryDelayMs,
    fetch: options.fetch,
  });
  const delivery = new Delivery({ uploader, outbox, overflow: options.overflow });
  let closed = false;
  return {
    kv,
    outbox,
    uploader,
    delivery,
    kvPath,
    async close(graceMs: number) {
      if (closed) return;
      closed = true;
      try {
        await delivery.close({ graceMs });
        await outbox.stop();
      } finally {
        kv.close();
        await outbox.listening.catch(() => {});
      }
    },
  };
}
