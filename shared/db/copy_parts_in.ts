/**
 * A binary COPY of data already in memory into a table, inside a
 * transaction, on either backend.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import type { Sql } from "./open_database.ts";
import { openCopyIn } from "./copy_in.ts";
import { copyFromBytesOnPglite } from "./pglite_blob_copy.ts";

/** What {@link copyPartsIn} copies, and where. */
export interface CopyPartsInOptions {
  /**
   * The embedded database `tx` runs on (its COPY reads a blob: its socket
   * server cannot carry COPY FROM STDIN), or null on PostgreSQL.
   */
  pglite: PGlite | null;
  /** The table, as the search path finds it. */
  table: string;
  /** The columns the data holds, in order. */
  columns: readonly string[];
  /** The binary COPY data (header, rows, trailer), in parts sent one after another. */
  parts: readonly Uint8Array[];
}

/**
 * Stores `parts` into `table (columns)` by `COPY ... (FORMAT binary)` inside
 * `tx`: through PGlite's `COPY FROM '/dev/blob'` in its one session, or
 * `COPY FROM STDIN` on PostgreSQL. Resolves once the rows are stored.
 */
export async function copyPartsIn(tx: Sql, options: CopyPartsInOptions): Promise<void> {
  const { pglite, table, columns, parts } = options;
  if (pglite) {
    const names = columns.map((name) => `"${name}"`).join(", ");
    await copyFromBytesOnPglite(
      pglite,
      `copy "${table}" (${names}) from '/dev/blob' with (format binary)`,
      parts,
    );
    return;
  }
  const stream = await openCopyIn(
    tx`copy ${tx(table)} (${tx(columns as string[])}) from stdin (format binary)`,
  );
  for (const part of parts) await stream.write(part);
  await stream.end();
}
