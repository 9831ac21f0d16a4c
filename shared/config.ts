/**
 * Configuration for every component, from the environment and from CLI flags
 * (flags win), read and checked against the one table of every setting's
 * name, default and allowed values (config_specs.ts), so the README table and
 * the code cannot drift apart: the README table is generated from
 * {@link CONFIG_SPECS} by `configTable()`.
 *
 * @module
 */

import { integerInRange } from "./cli/integer_in_range.ts";
import { type Config, CONFIG_SPECS, type ConfigSpec, type Kind } from "./config_specs.ts";

// The table, for importers of this module.
export * from "./config_specs.ts";

/** Raised for a bad setting: names the variable or flag, the value and what is allowed. */
export class ConfigError extends Error {
  /** The environment variable or flag at fault. */
  readonly setting: string;
  /**
   * The component's own flags ({@link LoadConfigOptions.extraFlags}) read
   * before the error, by name, as {@link LoadedConfig.flags} gives them: a
   * command named by a flag (`start.ts --role serve`) names itself in the
   * message without reading the arguments a second time. {@link loadConfig}
   * fills it in.
   */
  flags: Record<string, boolean | string | string[]>;
  /**
   * Creates the error for `options.setting`; `cause` is the error underneath,
   * when there is one, and `flags` the extra flags read so far.
   */
  constructor(
    message: string,
    options: {
      setting: string;
      cause?: unknown;
      flags?: Record<string, boolean | string | string[]>;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "ConfigError";
    this.setting = options.setting;
    this.flags = options.flags ?? {};
  }
}

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `30`, `30s`, `500ms`, `1.5m`, `2h`: a bare number is seconds, as in the seed. */
export function parseDurationMs(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return null;
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? "s"]);
}

function describeAllowed(kind: Kind): string {
  switch (kind.type) {
    case "string":
      return "a non-empty string";
    case "url":
      return `a URL starting with ${kind.protocols.map((p) => p + "//").join(" or ")}`;
    case "int":
      return `an integer from ${kind.min} to ${kind.max}`;
    case "fraction":
      return "a number from 0 to 1 with at most 6 decimals, such as 0.5";
    case "durationMs":
      return `a duration from ${kind.minMs} ms to ${kind.maxMs / 1000} s, ` +
        `such as 30, 30s, 500ms, 2m (a bare number is seconds)`;
    case "bool":
      return "true or false";
    case "enum":
      return `one of ${kind.values.join(", ")}`;
    case "list":
      return "a comma-separated list of non-empty values";
  }
}

function parseValue(spec: ConfigSpec, raw: string, source: string): unknown {
  const fail = (): never => {
    throw new ConfigError(
      `Invalid ${source}: ${JSON.stringify(raw)} is not ${describeAllowed(spec.kind)}`,
      { setting: source },
    );
  };
  const kind = spec.kind;
  switch (kind.type) {
    case "string":
      if (raw.trim() === "") fail();
      return raw;
    case "url": {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return fail();
      }
      if (!kind.protocols.includes(url.protocol)) fail();
      return raw;
    }
    case "int":
      return integerInRange(raw, kind) ?? fail();
    case "fraction":
      if (!/^\s*(?:0(?:\.\d{1,6})?|1(?:\.0{1,6})?|\.\d{1,6})\s*$/.test(raw)) fail();
      return Number(raw);
    case "durationMs": {
      const ms = parseDurationMs(raw);
      if (ms === null || ms < kind.minMs || ms > kind.maxMs) fail();
      return ms;
    }
    case "bool": {
      const v = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(v)) return true;
      if (["false", "0", "no", "off"].includes(v)) return false;
      return fail();
    }
    case "enum":
      if (!kind.values.includes(raw)) fail();
      return raw;
    case "list": {
      const items = raw.split(",").map((s) => s.trim());
      if (items.some((s) => s === "")) fail();
      return items;
    }
  }
}

/** A component's own flag, beyond the shared settings (e.g. `--once`, `--read FILE`). */
export interface ExtraFlag {
  /** Flag name without dashes. */
  name: string;
  /** Boolean flags take no value; string flags take one; `strings` may repeat. */
  type: "boolean" | "string" | "strings";
  /** One line of help. */
  help: string;
}

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Environment to read. @default Deno.env.toObject() */
  env?: Record<string, string | undefined>;
  /** Command-line arguments. @default [] */
  args?: string[];
  /** The component's own flags. @default [] */
  extraFlags?: ExtraFlag[];
}

/** What {@link loadConfig} returns: the settings plus the component's own flags. */
export interface LoadedConfig {
  /** The validated settings. */
  config: Config;
  /** Values of `extraFlags`, by name: boolean, string, or string[]; absent flags are missing. */
  flags: Record<string, boolean | string | string[]>;
}

/**
 * Reads and validates every setting. Flags (`--batch-size 200` or
 * `--batch-size=200`) win over the environment, which wins over defaults.
 * An unknown flag, a missing flag value or a bad value throws a
 * {@link ConfigError} naming it, with the extra flags read before it.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const flags: Record<string, boolean | string | string[]> = {};
  try {
    return readSettings(options, flags);
  } catch (error) {
    if (error instanceof ConfigError) error.flags = flags;
    throw error;
  }
}

/** {@link loadConfig}'s work; `flags` receives the extra flags as they are read. */
function readSettings(
  options: LoadConfigOptions,
  flags: Record<string, boolean | string | string[]>,
): LoadedConfig {
  const env = options.env ?? Deno.env.toObject();
  const args = options.args ?? [];
  const extra = new Map((options.extraFlags ?? []).map((f) => [f.name, f]));
  const byFlag = new Map(CONFIG_SPECS.map((s) => [s.flag, s]));
  const flagValues = new Map<ConfigSpec, string[]>();

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      throw new ConfigError(
        `Unexpected argument ${JSON.stringify(arg)}: flags start with --`,
        {
          setting: arg,
        },
      );
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new ConfigError(`Flag --${name} needs a value`, {
          setting: `--${name}`,
        });
      }
      i++;
      return next;
    };
    const ex = extra.get(name);
    if (ex) {
      if (ex.type === "boolean") {
        if (inline !== undefined) {
          const v = parseValue(
            { kind: { type: "bool" } } as ConfigSpec,
            inline,
            `--${name}`,
          );
          flags[name] = v as boolean;
        } else flags[name] = true;
      } else if (ex.type === "string") flags[name] = takeValue();
      else flags[name] = [...((flags[name] as string[]) ?? []), takeValue()];
      inline = undefined;
      continue;
    }
    const spec = byFlag.get(name);
    if (!spec) {
      // A command's own flag may reuse a setting's name (rescore's --batch-size): list it once.
      const known = [...new Set([...byFlag.keys(), ...extra.keys()])].map((f) => "--" + f)
        .join(", ");
      throw new ConfigError(`Unknown flag --${name}. Known flags: ${known}`, {
        setting: `--${name}`,
      });
    }
    const value = spec.kind.type === "bool" && inline === undefined ? "true" : takeValue();
    flagValues.set(spec, [...(flagValues.get(spec) ?? []), value]);
  }

  const config: Record<string, unknown> = {};
  for (const spec of CONFIG_SPECS) {
    const fromFlags = flagValues.get(spec);
    if (fromFlags) {
      // A repeated list flag (`--interface a --interface b`) accumulates.
      const raw = spec.kind.type === "list" ? fromFlags.join(",") : fromFlags.at(-1)!;
      config[spec.key] = parseValue(spec, raw, `--${spec.flag}`);
      continue;
    }
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      config[spec.key] = parseValue(spec, fromEnv, spec.env);
      continue;
    }
    config[spec.key] = parseDefault(spec);
  }
  const result = config as unknown as Config;
  if ((result.tlsCert === null) !== (result.tlsKey === null)) {
    throw new ConfigError("TLS_CERT and TLS_KEY must be set together", {
      setting: result.tlsCert === null ? "TLS_CERT" : "TLS_KEY",
    });
  }
  if (result.readToken !== null && result.readToken.length < 16) {
    throw new ConfigError(
      `Invalid READ_TOKEN: it has ${result.readToken.length} characters, and a read token needs ` +
        "at least 16 (try: openssl rand -hex 32)",
      { setting: "READ_TOKEN" },
    );
  }
  return { config: result, flags };
}

/**
 * The default of setting `key`, parsed as {@link loadConfig} parses it: the
 * one place code outside the configuration (a library default, a test, a
 * benchmark) takes a setting's default from.
 *
 * @example
 * ```ts
 * const threshold = configDefault("alertMinScore"); // 0.92
 * ```
 */
export function configDefault<K extends keyof Config>(key: K): Config[K] {
  const spec = CONFIG_SPECS.find((s) => s.key === key);
  if (spec === undefined) throw new RangeError(`Cannot find setting ${JSON.stringify(key)}`);
  return parseDefault(spec) as Config[K];
}

function parseDefault(spec: ConfigSpec): unknown {
  if (spec.default === null) return spec.kind.type === "list" ? [] : null;
  return parseValue(spec, spec.default, `default of ${spec.env}`);
}

/** The README's configuration table, generated from {@link CONFIG_SPECS}. */
export function configTable(): string {
  const rows = CONFIG_SPECS.map((s) =>
    `| \`${s.env}\` | \`--${s.flag}\` | ${
      s.default === null ? "none" : `\`${s.default}\``
    } | ${s.usedBy} | ${s.help} |`
  );
  return [
    "| variable | flag | default | used by | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
