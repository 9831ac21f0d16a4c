/**
 * Tells whether a batch sent again under its idempotency key, in a body that
 * differs from the first (another wire format or compression), holds the
 * packets the first one stored.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import type { Sql } from "./open_database.ts";
import type { RawPacketCopyLayout } from "./raw_packet_copy.ts";
import { copyPartsIn } from "./copy_parts_in.ts";

/** What {@link storedPacketsMatch} compares. */
export interface StoredPacketsMatchOptions {
  /** The `ingest_batches` id of the batch stored first. */
  batchId: number;
  /** How many packets the batch sent again holds. */
  count: number;
  /** Its `raw_packets` COPY data (binary format, header and trailer included). */
  copy: Uint8Array;
  /** The columns `copy` holds, in order. */
  layout: RawPacketCopyLayout;
  /**
   * The embedded database the transaction runs on (its COPY reads a blob,
   * not a stream), or null on PostgreSQL.
   */
  pglite: PGlite | null;
}

/**
 * Whether the `raw_packets` rows of batch `batchId` are the rows of `copy`,
 * each as often, compared by PostgreSQL column by column. Runs inside the
 * caller's transaction: the rows sent again go into a temporary table that
 * its end drops.
 *
 * Only a repeated key whose body differs asks this, so ingest no longer
 * hashes every batch's COPY data up front for it (a SHA-256 over 510 bytes a
 * packet, more than a tenth of the server's CPU on Arrow ingest). A batch
 * whose rows retention has already removed does not match: a conflict, and
 * nothing is stored either way.
 */
export async function storedPacketsMatch(
  tx: Sql,
  options: StoredPacketsMatchOptions,
): Promise<boolean> {
  const [stored]: [{ count: number }] = await tx`
    select count(*)::int as count from raw_packets where batch_id = ${options.batchId}`;
  if (stored.count !== options.count) return false;
  const columns = options.layout.columns as string[];
  await tx`
    create temporary table repeated_packets on commit drop as
    select ${tx(columns)} from raw_packets with no data`;
  await copyPartsIn(tx, {
    pglite: options.pglite,
    table: "repeated_packets",
    columns,
    parts: [options.copy],
  });
  // Equal counts, so no row of either side missing from the other means the same rows.
  const [{ differ }]: [{ differ: boolean }] = await tx`
    select exists (
      select ${tx(columns)} from raw_packets where batch_id = ${options.batchId}
      except all
      select ${tx(columns)} from repeated_packets
    ) as differ`;
  return !differ;
}
