/**
 * Applies the numbered SQL files in `migrations/` in order, each in its own
 * transaction, and records them in `schema_migrations`. Refuses to run against
 * a database whose schema is newer than the files it knows, or whose applied
 * file has since been edited.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** Raised when the database schema and the migration files disagree. */
export class MigrationError extends Error {
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "MigrationError";
  }
}

/** One migration file. */
export interface Migration {
  /** Migration number (the file's `NNN_` prefix). */
  version: number;
  /** File name, e.g. `001_init.sql`. */
  name: string;
  /** The file's SQL. */
  sql: string;
  /** SHA-256 of the SQL, to notice an applied file that was edited. */
  checksum: string;
}

/** The project's migrations folder. */
export const MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** Reads `NNN_name.sql` files from a folder, sorted by number. */
export async function readMigrations(
  dir: URL | string = MIGRATIONS_DIR,
): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(\d+)_([\w-]+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      sql: text,
      checksum: await sha256Hex(text),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) {
      throw new MigrationError(
        `Two migrations share number ${migrations[i].version}`,
      );
    }
  }
  return migrations;
}

/** Options for {@link migrate}. */
export interface MigrateOptions {
  /** Migrations to apply. @default readMigrations() */
  migrations?: Migration[];
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions applied by this run, in order. */
  applied: number[];
  /** Schema version after the run (the highest applied). */
  version: number;
}

/**
 * Serialises the migration steps of every process on this schema until the
 * transaction ends. Advisory locks are per database, hence the schema in the key.
 */
async function lockMigrations(tx: Sql): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('traffic_analyzer_migrate:' || current_schema()))`;
}

/**
 * Brings the schema up to date. Safe to run from several processes at once:
 * each step holds a transaction-scoped advisory lock and re-checks what is
 * applied.
 */
export async function migrate(
  sql: Sql,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const migrations = options.migrations ?? await readMigrations();
  const known = migrations.at(-1)?.version ?? 0;
  // Under the same lock as the steps: two processes creating the table at
  // once race in the catalog ("duplicate key ... pg_type_typname_nsp_index")
  // even with `if not exists`.
  await sql.begin(async (tx) => {
    await lockMigrations(tx as unknown as Sql);
    await tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
  });
  const applied: number[] = [];
  const check = async (tx: Sql) => {
    const rows: { version: number; name: string; checksum: string }[] = await tx`
      select version, name, checksum from schema_migrations order by version`;
    const newest = rows.at(-1)?.version ?? 0;
    if (newest > known) {
      throw new MigrationError(
        `The database schema is version ${newest}, newer than this program knows (${known}): ` +
          `upgrade Traffic Analyzer before starting it against this database`,
      );
    }
    for (const row of rows) {
      const file = migrations.find((m) => m.version === row.version);
      if (file && file.checksum !== row.checksum) {
        throw new MigrationError(
          `Migration ${row.version}_${row.name} was edited after it was applied ` +
            `(checksum ${row.checksum.slice(0, 12)} in the database, ` +
            `${file.checksum.slice(0, 12)} on disk): add a new migration instead`,
        );
      }
    }
    return new Set(rows.map((r) => r.version));
  };
  for (const migration of migrations) {
    await sql.begin(async (tx) => {
      await lockMigrations(tx as unknown as Sql);
      const done = await check(tx as unknown as Sql);
      if (done.has(migration.version)) return;
      try {
        // Migration files are the project's own, never outside input.
        await tx.unsafe(migration.sql);
      } catch (cause) {
        throw new MigrationError(
          `Migration ${migration.version}_${migration.name} failed: ${(cause as Error).message}`,
          { cause },
        );
      }
      await tx`
        insert into schema_migrations (version, name, checksum)
        values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      applied.push(migration.version);
    });
  }
  if (migrations.length === 0) await check(sql);
  return { applied, version: known };
}

/** The newest applied migration, or 0 on an empty database. */
export async function schemaVersion(sql: Sql): Promise<number> {
  const [row]: [{ version: number | null }?] = await sql`
    select max(version) as version from schema_migrations`;
  return row?.version ?? 0;
}
