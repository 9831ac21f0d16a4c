/**
 * Database liveness for `/health`.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** Result of {@link checkDatabase}. */
export type DatabaseHealth =
  | { ok: true; schemaVersion: number; latencyMs: number }
  | {
    ok: false;
    error: string;
    /** No answer before the deadline: busy (a long ingest on PGlite) or unreachable. */
    timedOut: boolean;
  };

/** Options for {@link checkDatabase}. */
export interface CheckDatabaseOptions {
  /** Give up after this long. @default 2000 */
  timeoutMs?: number;
}

/** Runs a trivial query with a deadline; never throws. */
export async function checkDatabase(
  sql: Sql,
  options: CheckDatabaseOptions = {},
): Promise<DatabaseHealth> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 2000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  try {
    const query = sql<{ version: number | null }[]>`
      select max(version) as version from schema_migrations`;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const rows = await Promise.race([query, deadline]);
    return {
      ok: true,
      schemaVersion: rows[0]?.version ?? 0,
      latencyMs: performance.now() - started,
    };
  } catch (error) {
    return { ok: false, error: (error as Error).message, timedOut };
  } finally {
    clearTimeout(timer);
  }
}
