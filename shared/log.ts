/**
 * LogTape set-up shared by every component: human-readable lines on stdout
 * and the same lines appended to `<logDir>/<component>.log`.
 *
 * Libraries and tests only call `getLogger(...)`; nothing is printed until a
 * `main.ts` calls {@link configureLogging}, which keeps test output clean.
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
  const sinks: Record<string, Sink> = {
    file: fileSink(`${logDir}/${options.component}.log`),
  };
  if (options.console !== false) sinks.console = getConsoleSink();
  const names = Object.keys(sinks);
  await configure({
    reset: true,
    sinks,
    loggers: [
      {
        category: [LOG_ROOT],
        lowestLevel: options.level ?? "info",
        sinks: names,
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: names },
    ],
  });
}

/** Flushes and closes the log sinks; call on shutdown. */
export async function closeLogging(): Promise<void> {
  await reset();
}
