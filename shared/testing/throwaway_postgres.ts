/**
 * A PostgreSQL cluster of a test's own: `initdb` into a temporary folder, a
 * free port on 127.0.0.1, trust authentication. Fault tests restart, stop and
 * fill it freely; the shared server on 5432 is never touched.
 *
 * PostgreSQL refuses to run as root, so as root the cluster belongs to the
 * `postgres` system user and its commands run through `runuser`.
 *
 * @module
 */
import { freePort } from "./free_port.ts";

/**
 * Where Debian puts the server binaries: the newest `/usr/lib/postgresql/N/bin`.
 * `PG_BIN` overrides it.
 */
function defaultPgBin(): string {
  let newest = 15;
  try {
    for (const entry of Deno.readDirSync("/usr/lib/postgresql")) {
      const version = Number(entry.name);
      if (entry.isDirectory && version > newest) newest = version;
    }
  } catch { /* not Debian's layout: the default below, or PG_BIN */ }
  return `/usr/lib/postgresql/${newest}/bin`;
}

/** Options for {@link startThrowawayPostgres}. */
export interface ThrowawayPostgresOptions {
  /** Folder of `initdb`, `pg_ctl` and `postgres`. @default $PG_BIN or Debian's newest */
  binDir?: string;
  /** Extra `-c name=value` server settings. @default {} */
  settings?: Record<string, string>;
}

/** A running throwaway cluster. */
export interface ThrowawayPostgres {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Its data folder. */
  readonly dataDir: string;
  /** A URL of its `postgres` database as the `postgres` superuser. */
  readonly url: string;
  /** `pg_ctl restart` (fast shutdown: active sessions are ended). */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`. */
  stop(): Promise<void>;
  /** `pg_ctl start`, after {@link stop}. */
  start(): Promise<void>;
  /** Runs SQL with `psql` and returns its unaligned, tuples-only output. */
  psql(sql: string): Promise<string>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

/** Raised when a cluster command fails; carries its output. */
export class ThrowawayPostgresError extends Error {
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "ThrowawayPostgresError";
  }
}

const isRoot = () => Deno.uid() === 0;
const CLUSTER_PREFIX = "ta-pg-";
/**
 * Held locked (`flock`, exclusive) by the process that owns the cluster, for
 * as long as the cluster lives; the kernel releases it when that process
 * dies, however it dies. It holds the owner's pid, for people.
 */
const OWNER_LOCK = "owner.lock";

/**
 * Takes the owner lock of a new cluster folder. The lock is taken on a file
 * of another name, renamed into place once locked (the lock stays with the
 * file), so a sweep in another process never finds the lock file unlocked
 * while its owner is alive.
 */
async function lockOwnership(root: string): Promise<Deno.FsFile> {
  const pending = `${root}/${OWNER_LOCK}.pending`;
  const file = await Deno.open(pending, { read: true, write: true, createNew: true });
  try {
    if (!await file.tryLock(true)) {
      throw new ThrowawayPostgresError(`Cannot lock ${pending}: another process holds it`);
    }
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    await Deno.rename(pending, `${root}/${OWNER_LOCK}`);
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * True only when the owner of the cluster folder `root` is known to be gone:
 * its owner lock exists and this process could take it. A folder whose lock
 * is held, whose lock file is missing (a cluster being created, or one made
 * by an older version of this module) or cannot be opened is not an orphan:
 * a sweep must never stop a cluster it cannot prove abandoned. (It used to
 * look for `/proc/<owner pid>`, which Deno refuses without `--allow-all`;
 * every test process without it took every live cluster on the machine for
 * an orphan and stopped it, mid-test, issue 10's "step 4" failures.)
 */
async function isOrphaned(root: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${root}/${OWNER_LOCK}`, { read: true, write: true });
  } catch {
    return false;
  }
  try {
    return await file.tryLock(true);
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/**
 * Stops and removes clusters left by test processes that died before their
 * clean-up ran (a crash, a `kill -9`), so they do not pile up; clusters of
 * live processes, this one's and others', are left alone.
 */
async function removeOrphanedClusters(binDir: string): Promise<void> {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    if (!entry.isDirectory || !entry.name.startsWith(CLUSTER_PREFIX)) continue;
    const root = `${tmp}/${entry.name}`;
    if (!await isOrphaned(root)) continue;
    await run(`${binDir}/pg_ctl`, ["-D", `${root}/data`, "-m", "immediate", "-w", "stop"])
      .catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

async function run(command: string, args: string[]): Promise<string> {
  const [cmd, ...rest] = isRoot()
    ? ["runuser", "-u", "postgres", "--", command, ...args]
    : [command, ...args];
  const out = await new Deno.Command(cmd, {
    args: rest,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // PostgreSQL's tools chdir-check the current folder; root's may be closed to them.
    cwd: "/",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new ThrowawayPostgresError(
      `${command} ${args.join(" ")} failed (exit ${out.code}): ${err.trim() || text.trim()}`,
    );
  }
  return text;
}

/**
 * Creates and starts a cluster. Durability is off (`fsync`): it is thrown
 * away, and fast restarts are clean shutdowns anyway. Settings given here are
 * on the command line, which `ALTER SYSTEM` cannot override; tests that
 * change a setting at run time (say, `synchronous_commit`) leave it out.
 *
 * @example
 * ```ts
 * const pg = await startThrowawayPostgres();
 * try {
 *   await pg.restart();
 * } finally {
 *   await pg.destroy();
 * }
 * ```
 */
export async function startThrowawayPostgres(
  options: ThrowawayPostgresOptions = {},
): Promise<ThrowawayPostgres> {
  const binDir = options.binDir ?? Deno.env.get("PG_BIN") ?? defaultPgBin();
  await removeOrphanedClusters(binDir);
  const root = await Deno.makeTempDir({ prefix: CLUSTER_PREFIX });
  const ownership = await lockOwnership(root);
  if (isRoot()) {
    // `id` runs as the postgres user here, so it names that user's ids.
    const uid = Number((await run("id", ["-u"])).trim());
    const gid = Number((await run("id", ["-g"])).trim());
    await Deno.chown(root, uid, gid);
  }
  const dataDir = `${root}/data`;
  const port = freePort();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: root,
    fsync: "off",
    full_page_writes: "off",
    max_connections: "60",
    ...options.settings,
  };
  const serverOptions = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(" ");
  const pgCtl = (...args: string[]) =>
    run(`${binDir}/pg_ctl`, ["-D", dataDir, "-l", `${root}/server.log`, ...args]);

  await run(`${binDir}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "-A",
    "trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  const start = () => pgCtl("-o", serverOptions, "-w", "-t", "60", "start").then(() => {});
  await start();
  let destroyed = false;
  return {
    port,
    dataDir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () =>
      pgCtl("-o", serverOptions, "-m", "fast", "-w", "-t", "60", "restart").then(() => {}),
    stop: () => pgCtl("-m", "fast", "-w", "-t", "60", "stop").then(() => {}),
    start,
    psql: (sql: string) =>
      run(`${binDir}/psql`, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
      ]),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await pgCtl("-m", "immediate", "-w", "-t", "60", "stop").catch(() => {});
      await Deno.remove(root, { recursive: true });
      // Released only once the cluster is gone: until then it is ours.
      ownership.close();
    },
  };
}
