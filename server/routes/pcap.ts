/**
 * pcap export: `GET /api/flows/{id}/pcap` (one flow's stored packets) and
 * `GET /api/pcap` (every packet of a time range, narrowed by the flow
 * filters), both streamed as classic pcap, oldest packet first.
 *
 * Packets stored with their bytes are written as captured (the same bytes
 * tcpdump would show, cut to what the agent's payload setting kept); packets
 * stored without bytes are rebuilt from their decoded headers
 * (`record_frame.ts`), and `X-Pcap-Rebuilt` counts them.
 *
 * @module
 */
import type { Context } from "hono";
import { createRoute, z } from "@hono/zod-openapi";
import {
  countRangeFlows,
  type ExportPacketRow,
  type FlowKeyRow,
  oldestStoredPacketDay,
  type PacketSelection,
  PCAP_EXPORT_MAX_FLOWS,
  readFlowKey,
  selectedPackets,
  selectionStats,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { canRebuildLinkType, recordFrame } from "@traffic-analyzer/shared/packet/record_frame";
import { LINKTYPE_ETHERNET } from "@traffic-analyzer/shared/packet";
import { type PcapByteWriter, PcapWriter } from "@traffic-analyzer/shared/pcap";
import { HttpError } from "../http_errors.ts";
import { type HeavyReadLimiter, streamingBody } from "../heavy_reads.ts";
import { createRouter, type Router } from "./_router.ts";
import { badRequest, decimalInteger, ErrorSchema } from "./_schemas.ts";
import { filterOf, FlowFilterParams } from "./flow_query.ts";

/** Options for {@link pcapRoutes}. */
export interface PcapRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The cap on concurrent heavy reads. */
  heavyReads: HeavyReadLimiter;
  /** Most packets one `/api/pcap` export streams (`PCAP_EXPORT_MAX_PACKETS`). */
  maxPackets: number;
}

/** Collects what a {@link PcapWriter} writes, to hand it to the response stream. */
class ChunkSink implements PcapByteWriter {
  chunks: Uint8Array[] = [];
  write(p: Uint8Array): Promise<number> {
    this.chunks.push(p.slice());
    return Promise.resolve(p.length);
  }
  take(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    return out;
  }
}

/** The pcap bytes of the selected packets, one chunk of rows at a time. */
async function* pcapBytes(
  rows: AsyncIterable<ExportPacketRow[]>,
  linkType: number,
): AsyncGenerator<Uint8Array> {
  const sink = new ChunkSink();
  const writer = new PcapWriter(sink, { linkType, snaplenBytes: 262_144 });
  let wroteHeader = false;
  for await (const chunk of rows) {
    for (const row of chunk) {
      const data = row.bytes !== null && row.link_type === linkType
        ? row.bytes
        : recordFrame(row, linkType);
      if (data === null) continue;
      await writer.write({
        data,
        timestampSec: row.timestamp,
        wireLength: Math.max(row.length, data.length),
      });
    }
    await writer.flush();
    wroteHeader = true;
    yield* sink.take();
  }
  if (!wroteHeader) {
    await writer.flush();
    yield* sink.take();
  }
}

/** The link type a file is written in: the packets' own, when the encoder can rebuild it. */
function fileLinkType(linkType: number | null, withoutBytes: number): number {
  if (linkType === null) return LINKTYPE_ETHERNET;
  if (withoutBytes > 0 && !canRebuildLinkType(linkType)) return LINKTYPE_ETHERNET;
  return linkType;
}

async function pcapAnswer(
  c: Context,
  options: PcapRoutesOptions,
  selection: PacketSelection,
  limit: number,
  headers: Record<string, string>,
  fileName: string,
): Promise<Response> {
  const release = options.heavyReads.acquire();
  try {
    const stats = await selectionStats(options.sql, selection, limit + 1);
    if (stats.packets === 0 && selection.kind === "flow") {
      throw await noPacketsError(options.sql, selection.flow);
    }
    const linkType = fileLinkType(stats.linkType, stats.withoutBytes);
    const rows = selectedPackets(options.sql, selection, { limit });
    return c.body(streamingBody(pcapBytes(rows, linkType), release), 200, {
      "Content-Type": "application/vnd.tcpdump.pcap",
      "Content-Disposition": `attachment; filename="${fileName}"`,
      "X-Pcap-Packets": String(Math.min(stats.packets, limit)),
      "X-Pcap-Truncated": String(stats.packets > limit),
      "X-Pcap-Rebuilt": String(Math.min(stats.withoutBytes, limit)),
      ...headers,
    });
  } catch (error) {
    release();
    throw error;
  }
}

/** 410 when retention removed the flow's packets; 404 when none were stored for it. */
async function noPacketsError(sql: Sql, flow: FlowKeyRow): Promise<HttpError> {
  const oldestDay = await oldestStoredPacketDay(sql);
  const flowDay = flow.updated_at.toISOString().slice(0, 10);
  if (oldestDay === null || flowDay < oldestDay) {
    return new HttpError(
      410,
      `the raw packets of flow ${flow.id} are no longer stored: raw-packet retention ` +
        `(RAW_RETENTION_DAYS) removed them; the oldest packets kept are from ${
          oldestDay ?? "no day"
        }`,
      { details: { flow_id: flow.id, oldest_stored_day: oldestDay } },
    );
  }
  return new HttpError(
    404,
    `no stored raw packets match flow ${flow.id}: they were stored by a server that kept no ` +
      "packet rows, or removed by hand",
    { details: { flow_id: flow.id } },
  );
}

const PcapRangeQuery = z.strictObject({
  ...FlowFilterParams,
  from: FlowFilterParams.from.unwrap().openapi({
    param: { name: "from", in: "query", required: true },
    description: "Start of the packet time range (required): epoch seconds or ISO 8601.",
    type: "string",
  }),
  to: FlowFilterParams.to.unwrap().openapi({
    param: { name: "to", in: "query", required: true },
    description: "End of the packet time range (required): epoch seconds or ISO 8601.",
    type: "string",
  }),
});

const pcapResponses = {
  200: {
    description: "A pcap file. Headers: `X-Pcap-Packets` (packets in it), `X-Pcap-Truncated` " +
      "(the cap cut it), `X-Pcap-Rebuilt` (packets stored without bytes, rebuilt from their " +
      "decoded headers: no payload, checksums recomputed)",
    content: {
      "application/vnd.tcpdump.pcap": { schema: z.string().openapi({ format: "binary" }) },
    },
  },
  429: {
    description: "Too many heavy reads at once (with Retry-After)",
    content: { "application/json": { schema: ErrorSchema } },
  },
};

/** The pcap sub-app. */
export function pcapRoutes(options: PcapRoutesOptions): Router {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/flows/{id}/pcap",
      summary: "One flow's stored raw packets as a pcap file, oldest first",
      description: "`X-Flow-Packets` gives the flow's `orig_packets + resp_packets`; " +
        "`X-Pcap-Packets` the packets found, which differ only when the match by key and " +
        "time cannot tell two flows apart. 410 when raw-packet retention removed them.",
      request: {
        params: z.object({
          id: decimalInteger({ min: 1, max: Number.MAX_SAFE_INTEGER }).openapi({
            param: { name: "id", in: "path" },
            example: "42",
          }),
        }),
      },
      responses: {
        ...pcapResponses,
        400: badRequest("id is not a flow id"),
        404: {
          description: "No such flow, or no packets stored for it",
          content: { "application/json": { schema: ErrorSchema } },
        },
        410: {
          description: "Raw-packet retention removed the flow's packets",
          content: { "application/json": { schema: ErrorSchema } },
        },
        422: {
          description: "The flow has no IP addresses to match its packets by",
          content: { "application/json": { schema: ErrorSchema } },
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const flow = await readFlowKey(options.sql, id);
      if (flow === null) throw new HttpError(404, `no flow ${id}`, { details: { flow_id: id } });
      if (flow.orig_ip === null || flow.resp_ip === null) {
        throw new HttpError(
          422,
          `flow ${id} has no IP addresses (an Ethernet-only conversation): its packets cannot be ` +
            "matched by address; export its time range with /api/pcap instead",
          { details: { flow_id: id } },
        );
      }
      const expected = flow.orig_packets + flow.resp_packets;
      // Room above the flow's own count, to show a mismatch rather than hide it.
      return await pcapAnswer(
        c,
        options,
        { kind: "flow", flow },
        Math.max(expected * 2, expected + 1000),
        { "X-Flow-Packets": String(expected) },
        `flow-${id}.pcap`,
      ) as never;
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/pcap",
      summary: "Every stored packet of a time range, narrowed by the flow filters, as one pcap",
      description: "`from` and `to` (required) bound the packets' capture time. With only " +
        "`ip`, `port` and `protocol`, packets are matched directly (those not aggregated yet " +
        "too); any other flow filter selects flows first and exports their packets. At most " +
        "`PCAP_EXPORT_MAX_PACKETS` packets, oldest first.",
      request: { query: PcapRangeQuery },
      responses: {
        ...pcapResponses,
        400: badRequest("A parameter is missing or not valid (named in `error` and `field`)"),
        413: {
          description: `The filter selects more than ${PCAP_EXPORT_MAX_FLOWS} flows`,
          content: { "application/json": { schema: ErrorSchema } },
        },
      },
    }),
    async (c) => {
      const input = c.req.valid("query");
      if (input.to < input.from) {
        throw new HttpError(400, "invalid to: it is before from", { details: { field: "to" } });
      }
      const filter = { ...filterOf(input), fromSec: null, toSec: null };
      const flowOnly = filter.origIp ?? filter.respIp ?? filter.respPort ?? filter.labels ??
        filter.minScore ?? filter.state ?? filter.communityId ?? null;
      if (flowOnly !== null) {
        const flows = await countRangeFlows(
          options.sql,
          filter,
          input.from,
          input.to,
          PCAP_EXPORT_MAX_FLOWS + 1,
        );
        if (flows > PCAP_EXPORT_MAX_FLOWS) {
          throw new HttpError(
            413,
            `the filter selects more than ${PCAP_EXPORT_MAX_FLOWS} flows in that time range: narrow it`,
            { details: { limit_flows: PCAP_EXPORT_MAX_FLOWS } },
          );
        }
      }
      const selection: PacketSelection = {
        kind: "range",
        fromSec: input.from,
        toSec: input.to,
        flowFilter: flowOnly === null ? null : filter,
        packetFilter: {
          ip: filter.ip ?? null,
          port: filter.port ?? null,
          protocol: filter.protocol ?? null,
          agent: filter.agent ?? null,
        },
      };
      return await pcapAnswer(
        c,
        options,
        selection,
        options.maxPackets,
        {},
        "packets.pcap",
      ) as never;
    },
  );
  return app;
}
