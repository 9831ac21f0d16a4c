import assert from "node:assert/strict";
import { loadConfig } from "@traffic-analyzer/shared";
import { runServer, ServerStartError } from "./serve.ts";

Deno.test("runServer() names PORT when the port is taken, before it creates the database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-serve-port-" });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { port } = taken.addr as Deno.NetAddr;
    // PGlite: creating it would take 10 to 20 s before a late listen failed.
    const { config } = loadConfig({ env: { PORT: String(port), DATA_DIR: `${dir}/data` } });
    const error = await runServer(config).then(() => null, (e) => e);
    assert.ok(error instanceof ServerStartError, String(error));
    assert.equal(
      error.message,
      `cannot listen on 127.0.0.1:${port}: the port is in use by another program; ` +
        "set PORT (or --port) to a free port, or to 0 to pick one",
    );
    const created = await Deno.stat(`${dir}/data/pglite`).then(() => true, () => false);
    assert.equal(created, false, "no database was created");
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runServer() names TLS_CERT when its file is missing, before it creates the database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ta-serve-tls-" });
  try {
    await Deno.writeTextFile(`${dir}/key.pem`, "not read");
    const { config } = loadConfig({
      env: {
        PORT: "0",
        DATA_DIR: `${dir}/data`,
        TLS_CERT: `${dir}/missing.pem`,
        TLS_KEY: `${dir}/key.pem`,
      },
    });
    const error = await runServer(config).then(() => null, (e) => e);
    assert.ok(error instanceof ServerStartError, String(error));
    assert.equal(
      error.message,
      `cannot read TLS_CERT (or --tls-cert) file ${JSON.stringify(`${dir}/missing.pem`)}: ` +
        "no such file",
    );
    const created = await Deno.stat(`${dir}/data/pglite`).then(() => true, () => false);
    assert.equal(created, false, "no database was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
