/**
 * LogTape set-up shared by every component: human-readable lines on stdout
 * and the same lines appended to `<logDir>/<component>.log`.
 *
 * Libraries and tests only call `getLogger(...)`; nothing is printed until a
 * `main.ts` calls {@link configureLogging}, which keeps test output clean.
 * A process that runs several components (the server with its in-process
 * aggregator) writes each one's records to its own file.
 *
 * @module
 */
import {
  configure,
  getConsoleSink,
  getTextFormatter,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";

/** Root category of every logger in the project. */
export const LOG_ROOT = "traffic-analyzer";

/** Options for {@link configureLogging}. */
export interface ConfigureLoggingOptions {
  /** Component name, used as the log file name. */
  component: string;
  /** Folder for the log file; created when missing. @default "./logs" */
  logDir?: string;
  /** Lowest level written. @default "info" */
  level?: "debug" | "info" | "warning" | "error";
  /** Also print to stdout. @default true */
  console?: boolean;
  /**
   * Other components in this process whose records (logger category
   * `[LOG_ROOT, name, …]`) go to `<logDir>/<name>.log` instead of the main
   * component's file, e.g. `["aggregator"]` in the server.
   * @default []
   */
  alsoComponents?: string[];
}

function fileSink(path: string): Sink & Disposable {
  const file = Deno.openSync(path, { create: true, append: true });
  const encoder = new TextEncoder();
  const format = getTextFormatter();
  const sink = (record: LogRecord) => {
    file.writeSync(encoder.encode(format(record)));
  };
  return Object.assign(sink, { [Symbol.dispose]: () => file.close() });
}

/**
 * Sends every log record of the project to stdout and to
 * `<logDir>/<component>.log`. Call once, from a `main.ts`.
 */
export async function configureLogging(
  options: ConfigureLoggingOptions,
): Promise<void> {
  const logDir = options.logDir ?? "./logs";
  await Deno.mkdir(logDir, { recursive: true });
  const level = options.level ?? "info";
  const sinks: Record<string, Sink> = {
    file: fileSink(`${logDir}/${options.component}.log`),
  };
  const consoleSinks: string[] = [];
  if (options.console !== false) {
    sinks.console = getConsoleSink();
    consoleSinks.push("console");
  }
  const others = (options.alsoComponents ?? []).filter((name) => name !== options.component);
  for (const name of others) sinks[`file:${name}`] = fileSink(`${logDir}/${name}.log`);
  const names = ["file", ...consoleSinks];
  await configure({
    reset: true,
    sinks,
    loggers: [
      {
        category: [LOG_ROOT],
        lowestLevel: level,
        sinks: names,
      },
      // Each other component's records go to its own file (and stdout), not the main one.
      ...others.map((name) => ({
        category: [LOG_ROOT, name],
        lowestLevel: level,
        sinks: [`file:${name}`, ...consoleSinks],
        parentSinks: "override" as const,
      })),
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: names },
    ],
  });
}

/** Flushes and closes the log sinks; call on shutdown. */
export async function closeLogging(): Promise<void> {
  await reset();
}
