import assert from "node:assert/strict";
import {
  CONFIG_SPECS,
  configDefault,
  ConfigError,
  configTable,
  loadConfig,
  parseDurationMs,
} from "./config.ts";

Deno.test("loadConfig() keeps the seed's names and defaults", () => {
  const { config } = loadConfig({ env: {}, args: [] });
  assert.equal(config.serverUrl, "http://127.0.0.1:8000/ingest_packets");
  assert.equal(config.batchSize, 100);
  assert.equal(config.batchTimeoutMs, 30_000);
  assert.equal(config.maxRetries, 3);
  assert.equal(config.maxInFlight, 4);
  assert.equal(config.retryDelayMs, 5_000);
  assert.equal(config.databaseUrl, null);
  assert.equal(config.aggregateIntervalMs, 30_000);
  assert.equal(config.rawRetentionDays, 7);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8000);
  assert.equal(config.dataDir, "./data");
  assert.deepEqual(config.ingestTokens, []);
});

Deno.test("loadConfig() lets flags win over the environment", async (t) => {
  await t.step("both forms of a flag", () => {
    const { config } = loadConfig({
      env: { BATCH_SIZE: "5", PORT: "9000" },
      args: ["--batch-size", "7", "--port=9001"],
    });
    assert.equal(config.batchSize, 7);
    assert.equal(config.port, 9001);
  });
  await t.step("the environment wins over the default", () => {
    const { config } = loadConfig({
      env: { BATCH_TIMEOUT: "2.5", RETRY_DELAY: "250ms" },
    });
    assert.equal(config.batchTimeoutMs, 2500);
    assert.equal(config.retryDelayMs, 250);
  });
  await t.step("a repeated list flag accumulates", () => {
    const { config } = loadConfig({
      env: { INTERFACE: "eth9" },
      args: ["--interface", "lo", "--interface", "eth0"],
    });
    assert.deepEqual(config.interfaces, ["lo", "eth0"]);
  });
  await t.step("comma-separated tokens", () => {
    const { config } = loadConfig({ env: { INGEST_TOKENS: "a, b" } });
    assert.deepEqual(config.ingestTokens, ["a", "b"]);
  });
  await t.step("component flags", () => {
    const { flags } = loadConfig({
      env: {},
      args: ["--once", "--read", "x.pcap"],
      extraFlags: [
        { name: "once", type: "boolean", help: "" },
        { name: "read", type: "string", help: "" },
      ],
    });
    assert.deepEqual(flags, { once: true, read: "x.pcap" });
  });
});

Deno.test("loadConfig() names the setting, the bad value and what is allowed", async (t) => {
  const cases: [Record<string, string>, string[], RegExp][] = [
    [
      { BATCH_SIZE: "zero" },
      [],
      /BATCH_SIZE: "zero" is not an integer from 1 to 100000/,
    ],
    [
      {},
      ["--port", "70000"],
      /--port: "70000" is not an integer from 0 to 65535/,
    ],
    [
      { DATABASE_URL: "mysql://x" },
      [],
      /DATABASE_URL: "mysql:\/\/x" is not a URL starting with postgres:/,
    ],
    [{ BATCH_TIMEOUT: "soon" }, [], /BATCH_TIMEOUT: "soon" is not a duration/],
    [
      { PAYLOAD_CAPTURE: "some" },
      [],
      /PAYLOAD_CAPTURE: "some" is not one of full, headers, none/,
    ],
    [{ INGEST_TOKENS: "a,,b" }, [], /INGEST_TOKENS/],
    [{}, ["--bogus"], /Unknown flag --bogus/],
    [{}, ["--batch-size"], /--batch-size needs a value/],
    [{}, ["stray"], /Unexpected argument "stray"/],
    [{ TLS_CERT: "c.pem" }, [], /TLS_CERT and TLS_KEY must be set together/],
    [
      { READ_TOKEN: "short" },
      [],
      /READ_TOKEN: it has 5 characters, and a read token needs at least 16/,
    ],
  ];
  for (const [env, args, message] of cases) {
    await t.step(message.source, () => {
      assert.throws(() => loadConfig({ env, args }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

Deno.test("parseDurationMs() reads bare seconds and units", () => {
  assert.equal(parseDurationMs("30"), 30_000);
  assert.equal(parseDurationMs("1.5m"), 90_000);
  assert.equal(parseDurationMs("200ms"), 200);
  assert.equal(parseDurationMs("2h"), 7_200_000);
  assert.equal(parseDurationMs("-1"), null);
  assert.equal(parseDurationMs("1 fortnight"), null);
});

Deno.test("configTable() lists every setting once", () => {
  const table = configTable();
  for (const spec of CONFIG_SPECS) {
    assert.ok(table.includes(`\`${spec.env}\``), spec.env);
  }
  assert.equal(
    new Set(CONFIG_SPECS.map((s) => s.env)).size,
    CONFIG_SPECS.length,
  );
  assert.equal(
    new Set(CONFIG_SPECS.map((s) => s.flag)).size,
    CONFIG_SPECS.length,
  );
});

Deno.test("configDefault() gives each setting's default as loadConfig() parses it", () => {
  const { config } = loadConfig({ env: {}, args: [] });
  for (const spec of CONFIG_SPECS) {
    assert.deepEqual(configDefault(spec.key), config[spec.key], spec.key);
  }
  assert.equal(configDefault("alertMinScore"), 0.92);
  assert.equal(configDefault("rawRetentionDays"), 7);
});

Deno.test("loadConfig() gives the extra flags read before a bad setting with its ConfigError", async (t) => {
  const extraFlags = [{ name: "role", type: "string" as const, help: "all or serve" }];
  const flagsOfError = (env: Record<string, string>, args: string[]) => {
    try {
      loadConfig({ env, args, extraFlags });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.flags;
    }
    throw new Error("no ConfigError");
  };
  await t.step("a bad variable: every flag was read", () => {
    assert.deepEqual(flagsOfError({ PORT: "99999" }, ["--role", "serve"]), { role: "serve" });
  });
  await t.step("a bad flag value after the role", () => {
    assert.deepEqual(flagsOfError({}, ["--role=serve", "--port", "x"]), { role: "serve" });
  });
  await t.step("an unknown flag after the role", () => {
    assert.deepEqual(flagsOfError({}, ["--role", "serve", "--bogus"]), { role: "serve" });
  });
  await t.step("none read", () => {
    assert.deepEqual(flagsOfError({ PORT: "99999" }, []), {});
  });
});

Deno.test("loadConfig() lists a command flag that shares a setting's name once in the unknown-flag error", () => {
  const extraFlags = [{ name: "batch-size", type: "string" as const, help: "Flows per page." }];
  assert.throws(
    () => loadConfig({ env: {}, args: ["--bogus"], extraFlags }),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^Unknown flag --bogus\. Known flags: /);
      assert.equal(error.message.match(/--batch-size\b/g)?.length, 1, error.message);
      return true;
    },
  );
});
