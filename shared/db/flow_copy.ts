/**
 * New flows into `traffic_data` by binary COPY: the fastest way PostgreSQL
 * takes rows (no statement text to parse, and rows are inserted in groups).
 * Only for flows not stored yet: COPY cannot update, so a flow that is there
 * already fails the whole COPY with a unique violation (SQLSTATE 23505).
 *
 * On PGlite, whose socket server does not carry COPY FROM STDIN, each
 * `write()` is one `COPY ... FROM '/dev/blob'` through PGlite's own query
 * (the same single session, so inside the caller's transaction), as
 * `raw_packets` rows are stored.
 *
 * @module
 */
import type { FlowUpsert } from "./upsert_flows.ts";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyBinaryRows } from "./copy_binary_rows.ts";
import type { PGlite } from "@electric-sql/pglite";
import { CopyInError, openCopyIn } from "./copy_in.ts";
import { FEATURE_VALUE_BYTES, writeFeatureVector } from "./feature_vector_bytes.ts";
import type { Sql } from "./open_database.ts";

/** An open COPY of new flows. */
export interface FlowCopy {
  /** Sends these flows; resolves when the socket took them. */
  write(flows: readonly FlowUpsert[]): Promise<void>;
  /** Ends the COPY; resolves to the number of flows stored once all are. */
  end(): Promise<number>;
  /** Abandons the COPY, storing none of it (see `CopyIn.abort`). */
  abort(reason: Error): Promise<void>;
}

/**
 * Bytes handed to the socket at a time. A batch of 4,096 flows is about
 * 2.5 MB; sent whole, it was copied twice more (out of the row buffer, then
 * behind postgres.js's message header) into fresh multi-megabyte buffers,
 * and on this VM first touching their pages cost more than encoding the
 * rows: 6.7 s of the merge step's 59 s under `--cpu-prof` of the bench's
 * 1.5 M-packet pass. Chunks this small reuse memory the allocator has freed.
 */
const COPY_CHUNK_BYTES = 64 * 1024;

/** A chunk buffer: a chunk and the row that ends it fit without growing it. */
const CHUNK_BUFFER_BYTES = 2 * COPY_CHUNK_BYTES;

/** Fields per row: the columns of the COPY statement below, in order. */
const FIELDS = 26 + 3 + 29;

/** The columns each row carries, in the order `writeFlowRow` writes them. */
const COLUMNS = `
  flow_uid, community_id, interface, orig_ip, orig_port, resp_ip, resp_port, protocol,
  ip_proto, vlan, vlan_inner, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
  resp_bytes, state, close_reason, conn_state, features, feature_version, label, score,
  model_version, explanation, agent, tunnel_type, tunnel_id,
  app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_query_count, dns_names,
  tls_sni, tls_alpn, tls_ja3, tls_ja4, tls_version, tls_cipher, http_method, http_host,
  http_path, http_user_agent, http_status, ssh_client, ssh_server, dhcp_hostname, orig_scope,
  orig_country, orig_asn, orig_as_org, resp_scope, resp_country, resp_asn, resp_as_org`;

/** Options for {@link openFlowCopy}. */
export interface OpenFlowCopyOptions {
  /**
   * The embedded PGlite behind `tx` (`embeddedPglite()` of its handle); null
   * on PostgreSQL. @default null
   */
  pglite?: PGlite | null;
}

/**
 * Starts a COPY of new flows on `tx`. While it is open, `tx` runs no other
 * statement. Failures reject with a `CopyInError`. On PGlite (`pglite`
 * given) each `write()` stores its flows before it resolves, and `abort()`
 * undoes nothing: roll back the transaction (or to a savepoint) instead.
 */
export async function openFlowCopy(
  tx: Sql,
  options: OpenFlowCopyOptions = {},
): Promise<FlowCopy> {
  if (options.pglite) return openPgliteFlowCopy(options.pglite);
  const copy = await openCopyIn(tx`
    copy traffic_data (${tx.unsafe(COLUMNS)}) from stdin (format binary)`);
  const rows = new CopyBinaryRows(CHUNK_BUFFER_BYTES);
  rows.raw(COPY_BINARY_HEADER);
  // Chunk buffers the socket is done with: a chunk goes out as the row
  // buffer itself, not a copy of it (copying each into a fresh buffer cost
  // 0.7 s of self time in the bench's pass under `--cpu-prof`).
  const free: Uint8Array[] = [];
  const send = (): Promise<void> => {
    const chunk = rows.take(free.pop() ?? new Uint8Array(CHUNK_BUFFER_BYTES));
    return copy.write(chunk).then(() => {
      if (chunk.buffer.byteLength === CHUNK_BUFFER_BYTES) free.push(new Uint8Array(chunk.buffer));
    });
  };
  let count = 0;
  return {
    async write(flows) {
      const sent: Promise<void>[] = [];
      try {
        for (const flow of flows) {
          writeFlowRow(rows, flow);
          if (rows.byteLength >= COPY_CHUNK_BYTES) sent.push(send());
        }
        if (rows.byteLength > 0) sent.push(send());
      } catch (error) {
        // A half-written row must not reach the server; nor may the COPY stay open
        // (aborting it also drops the whole rows sent before).
        for (const sending of sent) sending.catch(() => {});
        await copy.abort(error as Error);
        throw error;
      }
      count += flows.length;
      await Promise.all(sent);
    },
    abort: (reason) => copy.abort(reason),
    async end() {
      rows.raw(COPY_BINARY_TRAILER);
      await copy.write(rows.take());
      await copy.end();
      return count;
    },
  };
}

/**
 * One `COPY traffic_data ... FROM '/dev/blob'` per `write()`: PGlite reads
 * the whole blob into its in-memory file system first, so a COPY of a
 * pass's every new flow at the end would hold them all twice in memory.
 */
function openPgliteFlowCopy(pglite: PGlite): FlowCopy {
  const rows = new CopyBinaryRows(CHUNK_BUFFER_BYTES);
  const statement = `copy traffic_data (${COLUMNS}) from '/dev/blob' with (format binary)`;
  let count = 0;
  return {
    async write(flows) {
      if (flows.length === 0) return;
      rows.take();
      rows.raw(COPY_BINARY_HEADER);
      for (const flow of flows) writeFlowRow(rows, flow);
      rows.raw(COPY_BINARY_TRAILER);
      const blob = new Blob([rows.take() as Uint8Array<ArrayBuffer>]);
      try {
        await pglite.query(statement, [], { blob });
      } catch (error) {
        throw new CopyInError(`COPY failed: ${(error as Error)?.message ?? error}`, {
          cause: error,
        });
      }
      count += flows.length;
    },
    abort: () => Promise.resolve(),
    end: () => Promise.resolve(count),
  };
}

function writeFlowRow(rows: CopyBinaryRows, flow: FlowUpsert): void {
  rows.row(FIELDS);
  rows.text(flow.flow_uid);
  rows.text(flow.community_id);
  rows.text(flow.interface);
  rows.inet(flow.orig_ip);
  rows.int4(flow.orig_port);
  rows.inet(flow.resp_ip);
  rows.int4(flow.resp_port);
  rows.text(flow.protocol);
  rows.int2(flow.ip_proto);
  rows.int4(flow.vlan);
  rows.int4(flow.vlan_inner);
  rows.float8(flow.first_seen);
  rows.float8(flow.last_seen);
  rows.int8(flow.orig_packets);
  rows.int8(flow.resp_packets);
  rows.int8(flow.orig_bytes);
  rows.int8(flow.resp_bytes);
  rows.text(flow.state);
  rows.text(flow.close_reason);
  rows.text(flow.conn_state);
  const vector = flow.features;
  if (vector === null) rows.null();
  else {
    rows.bytea(
      vector.length * FEATURE_VALUE_BYTES,
      (view, at) => writeFeatureVector(view, at, vector),
    );
  }
  rows.int2(flow.feature_version);
  rows.text(flow.label);
  rows.float4(flow.score);
  rows.text(flow.model_version);
  rows.jsonb(flow.explanation === null ? null : JSON.stringify(flow.explanation));
  rows.text(flow.agent);
  rows.text(flow.tunnel_type);
  rows.int8(flow.tunnel_id);
  rows.text(flow.app_protocol);
  rows.text(flow.dns_query);
  rows.int4(flow.dns_qtype);
  rows.int2(flow.dns_rcode);
  rows.text(flow.dns_answers);
  rows.int4(flow.dns_query_count);
  rows.text(flow.dns_names);
  rows.text(flow.tls_sni);
  rows.text(flow.tls_alpn);
  rows.text(flow.tls_ja3);
  rows.text(flow.tls_ja4);
  rows.int4(flow.tls_version);
  rows.int4(flow.tls_cipher);
  rows.text(flow.http_method);
  rows.text(flow.http_host);
  rows.text(flow.http_path);
  rows.text(flow.http_user_agent);
  rows.int2(flow.http_status);
  rows.text(flow.ssh_client);
  rows.text(flow.ssh_server);
  rows.text(flow.dhcp_hostname);
  rows.text(flow.orig_scope);
  rows.text(flow.orig_country);
  rows.int8(flow.orig_asn);
  rows.text(flow.orig_as_org);
  rows.text(flow.resp_scope);
  rows.text(flow.resp_country);
  rows.int8(flow.resp_asn);
  rows.text(flow.resp_as_org);
}
