/**
 * Hostile input against a real server process (`server/main.ts` on a free
 * port): every case of issue 10 and of the README's ingest rules gets a clear
 * 4xx, the server stays up, nothing from a refused batch is stored, and its
 * RSS comes back to within 20 % of where it started.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { freePort, sampleRecords } from "@traffic-analyzer/shared/testing";

const ROOT = new URL("../", import.meta.url);
const TOKEN = "hostile-suite-token-0123456789";
const LIMITS = {
  MAX_BODY_BYTES: 1_000_000,
  MAX_DECOMPRESSED_BYTES: 4_000_000,
  MAX_BATCH_RECORDS: 2000,
};

/**
 * The resident set of a process in KiB, from `ps` (procps): `deno task test`
 * does not grant the --allow-all that reading /proc/<pid>/status needs.
 */
async function rssKb(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const kb = Number(new TextDecoder().decode(out.stdout).trim());
  assert.ok(out.success && kb > 0, `ps reads the RSS of ${pid}`);
  return kb;
}

/** Sends raw bytes as one HTTP/1.1 request and returns the status line and body. */
async function rawRequest(
  port: number,
  head: string,
  body = new Uint8Array(0),
) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const writing = (async () => {
      await conn.write(new TextEncoder().encode(head));
      if (body.length) await conn.write(body);
    })().catch(() => {});
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    await writing;
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    return { status: Number(text.split(" ")[1]), text };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

Deno.test({
  name: "hostile input gets a clear 4xx from a running server, which stays up and stores nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ta-hostile-" });
    const port = freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      DATA_DIR: `${dir}/data`,
      LOG_DIR: `${dir}/logs`,
      INGEST_TOKENS: TOKEN,
      LOG_LEVEL: "error",
      MAX_HEAVY_READS: "4",
      ...Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])),
    };
    for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const url = Deno.env.get("DATABASE_URL");
    const schema = url ? await createTestSchema(url) : null;
    if (schema) env.DATABASE_URL = schema.url;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--allow-all",
        "server/main.ts",
      ],
      cwd: ROOT.pathname,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const base = `http://127.0.0.1:${port}`;
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const stderrDone = child.stderr.pipeTo(new WritableStream()).catch(() => {});
    try {
      // Wait for the start line, with a generous outer bound.
      let started = "";
      const deadline = Date.now() + 120_000;
      while (!started.includes("serving on") && Date.now() < deadline) {
        const step = await lines.read();
        if (step.done) break;
        started += step.value;
      }
      assert.match(started, /serving on http/);
      const drain = (async () => {
        for (let s = await lines.read(); !s.done; s = await lines.read()) {
          /* keep the pipe open */
        }
      })();

      const ingest = (body: BodyInit, headers: Record<string, string> = {}) =>
        fetch(`${base}/ingest_packets`, {
          method: "POST",
          body,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            "content-type": "application/json",
            ...headers,
          },
        });
      /** Packets stored so far: with no aggregator running, all of them are waiting. */
      const storedPackets = async () =>
        (await (await fetch(`${base}/health`)).json()).aggregator.lag_packets;

      // Warm up: a real batch, a read, so the baseline includes a working server.
      const good = sampleRecords(500, { dataBytes: 64 });
      assert.equal((await ingest(JSON.stringify(good), { "idempotency-key": "good" })).status, 201);
      await (await fetch(`${base}/api/raw_packets/last/500?include=data`)).arrayBuffer();
      const baselineKb = await rssKb(child.pid);
      const stored = await storedPackets();
      assert.equal(stored, 500);

      const record = (change: Record<string, unknown>) => [{ ...good[0], ...change }];
      const jsonCases: [string, string, number, string | null][] = [
        // [name, body, status, field]
        ["NUL in interface", JSON.stringify(record({ interface: "eth\u00000" })), 400, "interface"],
        ["NUL in protocol", JSON.stringify(record({ protocol: "\u0000" })), 400, "protocol"],
        [
          "lone surrogate in interface",
          JSON.stringify(record({ interface: "eth\ud800" })),
          400,
          "interface",
        ],
        [
          "lone surrogate in malformed_reason",
          JSON.stringify(record({ malformed_reason: "\udfff" })),
          400,
          "malformed_reason",
        ],
        ["unknown field", JSON.stringify(record({ colour: "red" })), 400, "colour"],
        ["port out of range", JSON.stringify(record({ src_port: 70_000 })), 400, "src_port"],
        ["bad address", JSON.stringify(record({ dst_ip: "300.1.1.1" })), 400, "dst_ip"],
        ["bad base64", JSON.stringify(record({ data: "@@@" })), 400, "data"],
        [
          "string over its length",
          JSON.stringify(record({ interface: "x".repeat(200_000) })),
          400,
          "interface",
        ],
        ["missing field", JSON.stringify([{ timestamp: 1 }]), 400, "interface"],
        [
          "bad record in the middle",
          JSON.stringify([...good.slice(0, 5), { ...good[5], ttl: 300 }]),
          400,
          "ttl",
        ],
        ["bad JSON", "[{not json", 400, null],
        ["not an array", JSON.stringify(good[0]), 400, null],
        ["empty array", "[]", 400, null],
        ["deeply nested JSON", "[".repeat(200_000) + "]".repeat(200_000), 400, null],
      ];
      await t.step(
        "records that break the rules answer 400 naming the record and field",
        async (t) => {
          for (const [index, [name, body, status, field]] of jsonCases.entries()) {
            await t.step(name, async () => {
              const res = await ingest(body, { "idempotency-key": `bad-${index}` });
              assert.equal(res.status, status);
              const answer = await res.json();
              assert.ok(answer.error, "a reason");
              if (field !== null) assert.equal(answer.field, field);
            });
          }
        },
      );

      const otherCases: [string, () => Promise<Response>, number][] = [
        ["invalid UTF-8", () => ingest(new Uint8Array([0x5b, 0xff, 0xfe, 0x5d])), 400],
        [
          "body over MAX_BODY_BYTES",
          () => ingest("[" + " ".repeat(LIMITS.MAX_BODY_BYTES) + "]"),
          413,
        ],
        [
          "gzip bomb",
          () =>
            ingest(new Uint8Array(gzipSync(" ".repeat(50_000_000))), {
              "content-encoding": "gzip",
            }),
          413,
        ],
        ["too many records", () => ingest(JSON.stringify(Array(2001).fill({ timestamp: 1 }))), 413],
        ["bad gzip", () => ingest("not gzip", { "content-encoding": "gzip" }), 400],
        ["unsupported encoding", () => ingest("[]", { "content-encoding": "br" }), 415],
        ["wrong content type", () => ingest("[]", { "content-type": "text/plain" }), 415],
        ["no token", () => fetch(`${base}/ingest_packets`, { method: "POST", body: "[]" }), 401],
        ["wrong token", () => ingest("[]", { authorization: "Bearer nope" }), 401],
        [
          "control character in Idempotency-Key",
          () => ingest(JSON.stringify(good), { "idempotency-key": "a\tb" }),
          400,
        ],
        [
          "Idempotency-Key over 200 characters",
          () => ingest(JSON.stringify(good), { "idempotency-key": "k".repeat(201) }),
          400,
        ],
        [
          "reused Idempotency-Key, other body",
          () => ingest(JSON.stringify(good.slice(1)), { "idempotency-key": "good" }),
          409,
        ],
        [
          "headers over 16 KiB",
          () => fetch(`${base}/api/last10`, { headers: { "x-big": "a".repeat(20_000) } }),
          431,
        ],
        ["count written as 1e3", () => fetch(`${base}/api/raw_packets/last/1e3`), 400],
        ["count written as 0x10", () => fetch(`${base}/api/raw_packets/last/0x10`), 400],
        ["GET on ingest", () => fetch(`${base}/ingest_packets`), 405],
        [
          "SQL in a filter",
          () => fetch(`${base}/api/alltraffic?ip=${encodeURIComponent("' or 1=1 --")}`),
          400,
        ],
        ["unknown filter", () => fetch(`${base}/api/alltraffic?ipp=1.2.3.4`), 400],
      ];
      await t.step(
        "the README's other ingest rules and issue 10's cases answer their 4xx",
        async (t) => {
          for (const [name, send, status] of otherCases) {
            await t.step(name, async () => {
              const res = await send();
              assert.equal(res.status, status);
              assert.ok((await res.json()).error, "a JSON reason");
            });
          }
        },
      );

      await t.step(
        "headers past hyper's own limit get a bare 400, and the server stays up",
        async () => {
          const big = await rawRequest(
            port,
            `GET /api/last10 HTTP/1.1\r\nHost: x\r\nX-Big: ${
              "a".repeat(200_000)
            }\r\nConnection: close\r\n\r\n`,
          );
          assert.equal(big.status, 400);
          const many = await rawRequest(
            port,
            `GET /health HTTP/1.1\r\nHost: x\r\n${
              Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join("")
            }Connection: close\r\n\r\n`,
          );
          assert.equal(many.status, 400);
        },
      );

      await t.step(
        "a body cut short by a client that goes away leaves nothing behind",
        async () => {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          await conn.write(new TextEncoder().encode(
            `POST /ingest_packets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
              "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n" +
              JSON.stringify(good).slice(0, 5000),
          ));
          conn.close();
          assert.equal((await fetch(`${base}/health`)).status, 200);
        },
      );

      await t.step("sixteen heavy reads at once: some answer 429, none fails", async () => {
        const answers = await Promise.all(
          Array.from({ length: 16 }, async () => {
            const res = await fetch(`${base}/api/raw_packets/last/10000?include=data`);
            await res.arrayBuffer();
            return res.status;
          }),
        );
        assert.ok(answers.every((s) => s === 200 || s === 429), answers.join(","));
        assert.ok(answers.includes(429), "past the cap");
        assert.ok(answers.includes(200));
      });

      await t.step("nothing from a refused batch was stored, and the server is up", async () => {
        const health = await fetch(`${base}/health`);
        assert.equal(health.status, 200);
        assert.equal(await storedPackets(), stored);
      });

      await t.step("RSS comes back to within 20 % of the start", async () => {
        const limitKb = baselineKb * 1.2;
        const until = Date.now() + 90_000;
        let now = await rssKb(child.pid);
        // The server frees as its garbage collector runs: give it light work and time.
        while (now > limitKb && Date.now() < until) {
          await (await fetch(`${base}/health`)).arrayBuffer();
          await new Promise((r) => setTimeout(r, 500));
          now = await rssKb(child.pid);
        }
        assert.ok(
          now <= limitKb,
          `RSS ${Math.round(now / 1024)} MB, start ${Math.round(baselineKb / 1024)} MB`,
        );
      });
      child.kill("SIGTERM");
      await drain.catch(() => {});
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await stderrDone;
      await schema?.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
