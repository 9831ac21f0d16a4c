import assert from "node:assert/strict";
import { loadConfig } from "@traffic-analyzer/shared";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { runServer } from "./serve.ts";

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/** A throwaway CA and a localhost certificate it signed (rustls rejects a CA as the leaf). */
async function testCertificates(
  dir: string,
): Promise<{ ca: string; cert: string; key: string }> {
  const ca = `${dir}/ca.pem`;
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  await openssl([
    ..."req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca".split(" "),
    ...["-keyout", `${dir}/ca.key`, "-out", ca],
  ]);
  await openssl([
    ..."req -newkey rsa:2048 -nodes -subj /CN=localhost".split(" "),
    ...["-keyout", key, "-out", `${dir}/leaf.csr`],
  ]);
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  await openssl([
    ..."x509 -req -days 1 -CAcreateserial".split(" "),
    ...["-in", `${dir}/leaf.csr`, "-CA", ca, "-CAkey", `${dir}/ca.key`],
    ...["-extfile", `${dir}/leaf.ext`, "-out", cert],
  ]);
  return { ca, cert, key };
}

Deno.test({
  name: "runServer() serves HTTPS with TLS_CERT and TLS_KEY and a generated ingest token",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ta-serve-" });
    const { ca, cert, key } = await testCertificates(dir);
    const env: Record<string, string> = {
      PORT: "0",
      DATA_DIR: `${dir}/data`,
      TLS_CERT: cert,
      TLS_KEY: key,
    };
    const url = Deno.env.get("DATABASE_URL");
    const testSchema = url ? await createTestSchema(url) : null;
    if (testSchema) env.DATABASE_URL = testSchema.url;
    const { config } = loadConfig({ env });
    const server = await runServer(config);
    const client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(ca)],
    });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      const health = await fetch(`${server.url}health`, { client });
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");

      const token = (await Deno.readTextFile(`${dir}/data/ingest_token`))
        .trim();
      assert.match(token, /^[0-9a-f]{64}$/);
      const mode = (await Deno.stat(`${dir}/data/ingest_token`)).mode! & 0o777;
      assert.equal(mode, 0o600);
      const res = await fetch(`${server.url}ingest_packets`, {
        client,
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify(sampleRecords(10)),
      });
      assert.equal(res.status, 201);
      assert.equal((await res.json()).stored, 10);
    } finally {
      client.close();
      await server.shutdown();
      await testSchema?.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
