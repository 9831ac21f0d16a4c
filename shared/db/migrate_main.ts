/**
 * `deno task migrate`: applies pending migrations to DATABASE_URL (or the
 * embedded PGlite under DATA_DIR) and prints the schema version.
 *
 * @module
 */
import { ConfigError, loadConfig } from "../config.ts";
import { openDatabase } from "./open_database.ts";
import { migrate } from "./migrate.ts";

if (import.meta.main) {
  try {
    const { config } = loadConfig({ args: Deno.args });
    const db = await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: `${config.dataDir}/pglite`,
      poolSize: 1,
      // A wrong host, port, user or database says so in one line with what to check.
      verify: true,
    });
    try {
      const { applied, version } = await migrate(db.sql);
      console.log(
        `Schema is at version ${version} on ${db.kind}` +
          (applied.length ? `; applied ${applied.join(", ")}` : "; nothing to apply"),
      );
    } finally {
      await db.close();
    }
  } catch (error) {
    console.error(`migrate: ${error instanceof Error ? error.message : error}`);
    Deno.exit(error instanceof ConfigError ? 2 : 1);
  }
}
