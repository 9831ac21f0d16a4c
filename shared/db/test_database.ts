/**
 * A migrated database for tests: a fresh schema on the PostgreSQL server named
 * by `DATABASE_URL` when it is set, else an in-memory PGlite. One per test
 * file; tests isolate themselves by truncating.
 *
 * Creating a PGlite database runs initdb inside WebAssembly, and migrating it
 * takes more: about 5 s of CPU together on a 2-core test machine, paid by every
 * test file that opens one. So the first open on a machine migrates one
 * database and keeps a dump of it (`PGlite.dumpDataDir`) in the system temp
 * folder, under a name made of the PGlite build, the settings below and the
 * migration files' checksums; later opens, in any process, start from that
 * dump. `migrate()` still runs on every opened database, so a database that
 * does not match the files cannot pass unnoticed.
 *
 * Loading the dump is most of what a test file's database costs, so it is
 * made small to load (measured on the loaded 2-core machine, CPU per open with
 * the WebAssembly compiled: 2.5 s as it was, 1.2 s now): it is kept
 * uncompressed (gunzip was a fifth of the load), its WAL segments are 1 MB
 * instead of 16 MB (`initdb --wal-segsize=1`: the 16 MB segment, mostly
 * zeros, was 40 % of the bytes to unpack), and the databases start with 16 MB
 * of shared buffers instead of 128 MB (PGlite sets the whole pool up at every
 * start; test data fits, and a larger table only means more buffer reuse).
 * None of this changes what a query sees.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type Database, openDatabase } from "./open_database.ts";
import { migrate, type Migration, readMigrations } from "./migrate.ts";

/** A test database that also drops its schema on close. */
export interface TestDatabase extends Database {
  /** The schema the tests run in. */
  schema: string;
  /** Empties every table the project writes. */
  truncate(): Promise<void>;
}

/** A fresh, empty schema on a PostgreSQL server, and a URL that selects it. */
export interface TestSchema {
  /** Schema name. */
  schema: string;
  /** The server URL with `search_path` set to the schema. */
  url: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named schema on the server at `databaseUrl`, for tests
 * that start whole programs from a URL (the programs then migrate it).
 */
export async function createTestSchema(
  databaseUrl: string,
): Promise<TestSchema> {
  const schema = `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = await openDatabase({ databaseUrl, poolSize: 1 });
  try {
    await admin.sql`create schema ${admin.sql(schema)}`;
  } finally {
    await admin.close();
  }
  const url = new URL(databaseUrl);
  url.searchParams.set("search_path", schema);
  return {
    schema,
    url: url.toString(),
    async drop() {
      const db = await openDatabase({ databaseUrl, poolSize: 1 });
      try {
        await db.sql`drop schema if exists ${db.sql(schema)} cascade`;
      } finally {
        await db.close();
      }
    },
  };
}

/** `initdb` arguments of the template database: small WAL segments make a small dump. */
const TEMPLATE_INITDB_ARGS = ["--wal-segsize=1"];

/** Settings of every PGlite test database: a small buffer pool is quick to set up. */
const TEST_PGLITE_SETTINGS = { shared_buffers: "16MB" };

/**
 * Where migrated PGlite dumps are kept between test processes: one folder
 * per user, since on a shared machine another user's folder in /tmp is not
 * ours to write (nor to trust).
 */
function templateFolder(): string {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  let user = "";
  try {
    user = `-${Deno.uid() ?? ""}`;
  } catch {
    // Without --allow-sys the folder is shared, as it was.
  }
  return `${tmp.replace(/\/+$/, "")}/traffic-analyzer-pglite-templates${user}`;
}

/** The dump's file: a new PGlite build or any change to a migration names another one. */
function templatePath(migrations: readonly Migration[]): string {
  const key = createHash("sha256").update(
    [
      import.meta.resolve("@electric-sql/pglite"),
      JSON.stringify([TEMPLATE_INITDB_ARGS, TEST_PGLITE_SETTINGS]),
      ...migrations.map((m) => `${m.version}:${m.checksum}`),
    ].join("\n"),
  ).digest("hex");
  return `${templateFolder()}/migrated-${key.slice(0, 32)}.tar`;
}

/** This process's dumps, by file name. */
const templates = new Map<string, Promise<Blob>>();

/** A dump of a PGlite database migrated with `migrations`, read from the temp folder or made there. */
async function migratedTemplate(migrations: readonly Migration[]): Promise<Blob> {
  const path = templatePath(migrations);
  let template = templates.get(path);
  if (template === undefined) templates.set(path, template = makeTemplate(path, migrations));
  return await template;
}

async function makeTemplate(path: string, migrations: readonly Migration[]): Promise<Blob> {
  try {
    return new Blob([await Deno.readFile(path)]);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const db = await openDatabase({
    poolSize: 1,
    pgliteInitDbArgs: TEMPLATE_INITDB_ARGS,
    pgliteSettings: TEST_PGLITE_SETTINGS,
  });
  let dump: Blob;
  try {
    await migrate(db.sql, { migrations: [...migrations] });
    // Uncompressed: a dump read back many times is cheaper to load as a plain tar.
    dump = await db.pglite!.dumpDataDir("none");
  } finally {
    await db.close();
  }
  // Written aside and renamed, so a test file running at the same time
  // never reads half a dump. Only a cache: a folder it cannot write (full,
  // read-only) costs the next test process the migrations, nothing more.
  const partial = `${path}.${crypto.randomUUID()}.partial`;
  try {
    await Deno.mkdir(templateFolder(), { recursive: true });
    await Deno.writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
    await Deno.rename(partial, path);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    console.warn(`PGlite template not cached at ${path}: ${(error as Error).message}`);
  }
  return dump;
}

/** Opens PGlite from a migrated dump; a dump it cannot load is removed and made again. */
async function openMigratedPglite(migrations: readonly Migration[]): Promise<Database> {
  const open = async () =>
    await openDatabase({
      poolSize: 4,
      pgliteDataDirDump: await migratedTemplate(migrations),
      pgliteSettings: TEST_PGLITE_SETTINGS,
    });
  try {
    return await open();
  } catch (cause) {
    const path = templatePath(migrations);
    console.warn(`Ignoring the migrated PGlite dump ${path}, which did not load: ${cause}`);
    templates.delete(path);
    await Deno.remove(path).catch(() => {});
    return await open();
  }
}

/** Options for {@link openTestDatabase}. */
export interface OpenTestDatabaseOptions {
  /**
   * The migrations to apply, to test a later one on data stored before it.
   * @default every migration
   */
  migrations?: Migration[];
}

/** Opens and migrates a private database for one test file. */
export async function openTestDatabase(
  options: OpenTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const url = Deno.env.get("DATABASE_URL") || null;
  const testSchema = url ? await createTestSchema(url) : null;
  const schema = testSchema?.schema ?? "public";
  const migrations = options.migrations ?? await readMigrations();
  const db = testSchema
    ? await openDatabase({ databaseUrl: testSchema.url, poolSize: 4 })
    : await openMigratedPglite(migrations);
  await migrate(db.sql, { migrations });
  return {
    ...db,
    schema,
    async truncate() {
      await db.sql`
        truncate ingest_batches, raw_packets, batch_packet_columns, traffic_data,
          aggregator_streams restart identity`;
      await db.sql`truncate incidents, incident_flows restart identity`;
      await db.sql`delete from aggregator_progress`;
      await db.sql`insert into aggregator_progress default values`;
    },
    async close() {
      await db.close();
      await testSchema?.drop();
    },
  };
}
