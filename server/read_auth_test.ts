import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { ingest, makeTestApp } from "./_test_app.ts";
import { READ_COOKIE, readSessionValue } from "./read_auth.ts";
import { isLoopbackHost, openReadsWarning } from "./open_reads_warning.ts";

const READ_TOKEN = "read-token-0123456789abcdef";

function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  };
}

Deno.test({
  name: "READ_TOKEN protects every read: bearer on the API, a login cookie on the pages",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db, { readToken: READ_TOKEN });
      const bearer = { authorization: `Bearer ${READ_TOKEN}` };

      await t.step("API reads without the token answer 401 in JSON", async () => {
        for (
          const path of ["/api/last10", "/api/alltraffic", "/api/raw_packets/last/1", "/metrics"]
        ) {
          const res = await app.request(path);
          assert.equal(res.status, 401, path);
          assert.match(res.headers.get("www-authenticate")!, /Bearer realm="read"/);
          assert.match((await res.json()).error, /read token/);
        }
      });

      await t.step("a wrong bearer token, or the ingest token, answers 401", async () => {
        for (const token of ["nope", "test-token-1", READ_TOKEN + "x"]) {
          const res = await app.request("/api/last10", {
            headers: { authorization: `Bearer ${token}` },
          });
          assert.equal(res.status, 401, token);
          await res.body?.cancel();
        }
      });

      await t.step("the bearer token opens the API", async () => {
        for (const path of ["/api/last10", "/api/alltraffic", "/metrics"]) {
          const res = await app.request(path, { headers: bearer });
          assert.equal(res.status, 200, path);
          await res.body?.cancel();
        }
      });

      await t.step("ingest keeps its own token; health, OpenAPI and assets stay open", async () => {
        assert.equal((await ingest(app, JSON.stringify(sampleRecords(2)))).status, 201);
        for (const path of ["/health", "/openapi.json", "/login"]) {
          const res = await app.request(path);
          assert.equal(res.status, 200, path);
          await res.body?.cancel();
        }
      });

      await t.step(
        "a page without the cookie redirects to the login form, keeping the URL",
        async () => {
          const res = await app.request("/alltraffic_page?limit=5&protocol=TCP");
          assert.equal(res.status, 303);
          assert.equal(
            res.headers.get("location"),
            `/login?next=${encodeURIComponent("/alltraffic_page?limit=5&protocol=TCP")}`,
          );
          const login = await app.request(res.headers.get("location")!);
          const page = await login.text();
          assert.match(page, /<form method="post" action="\/login">/);
          assert.ok(page.includes('value="/alltraffic_page?limit=5&amp;protocol=TCP"'));
          // The login page loads its stylesheet without a cookie.
          const css = /href="(\/assets\/[^"]+)"/.exec(page)![1];
          assert.equal((await app.request(css)).status, 200);
        },
      );

      await t.step(
        "a hostile next comes back escaped, and never leads off the server",
        async () => {
          const page = await (await app.request(
            `/login?next=${encodeURIComponent('/x"><script>alert(1)</script>')}`,
          )).text();
          assert.ok(!page.includes("<script>alert(1)"));
          assert.ok(page.includes("&lt;script&gt;"));
          for (const next of ["//evil.example/", "/\\evil.example", "https://evil.example/"]) {
            const res = await app.request("/login", form({ token: READ_TOKEN, next }));
            assert.equal(res.status, 303);
            assert.equal(res.headers.get("location"), "/", next);
          }
        },
      );

      await t.step("a wrong token on the form answers 401 and sets no cookie", async () => {
        const res = await app.request("/login", form({ token: "wrong", next: "/" }));
        assert.equal(res.status, 401);
        assert.equal(res.headers.get("set-cookie"), null);
        assert.match(await res.text(), /not the read token/);
      });

      await t.step("the right token sets an HttpOnly cookie that opens pages and API", async () => {
        const res = await app.request(
          "/login",
          form({ token: READ_TOKEN, next: "/alltraffic_page" }),
        );
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), "/alltraffic_page");
        const setCookie = res.headers.get("set-cookie")!;
        assert.match(setCookie, /HttpOnly/);
        assert.match(setCookie, /SameSite=Strict/);
        assert.match(setCookie, /Path=\//);
        assert.ok(!setCookie.includes(READ_TOKEN), "the cookie does not hold the token");
        const cookie = setCookie.split(";")[0];
        for (const path of ["/", "/alltraffic_page", "/api/last10"]) {
          const page = await app.request(path, { headers: { cookie } });
          assert.equal(page.status, 200, path);
          await page.body?.cancel();
        }
      });

      await t.step("a cookie holding the token itself, or another value, is refused", async () => {
        for (const value of [READ_TOKEN, readSessionValue("another-token-0123456")]) {
          const res = await app.request("/api/last10", {
            headers: { cookie: `${READ_COOKIE}=${value}` },
          });
          assert.equal(res.status, 401);
          await res.body?.cancel();
        }
      });

      await t.step("logging out clears the cookie", async () => {
        const res = await app.request("/logout", { method: "POST" });
        assert.equal(res.status, 303);
        assert.match(res.headers.get("set-cookie")!, new RegExp(`${READ_COOKIE}=;.*Max-Age=0`));
      });

      await t.step("a login body over 4 KiB answers 413", async () => {
        const res = await app.request("/login", form({ token: "x".repeat(5000), next: "/" }));
        assert.equal(res.status, 413);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test("openReadsWarning() warns only off loopback without a read token", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
    assert.ok(isLoopbackHost(host), host);
    assert.equal(openReadsWarning(host, null), null, host);
  }
  for (const host of ["0.0.0.0", "::", "192.0.2.10", "example.org", "128.0.0.1"]) {
    assert.ok(!isLoopbackHost(host), host);
    assert.match(openReadsWarning(host, null)!, /READ_TOKEN/, host);
    assert.equal(openReadsWarning(host, READ_TOKEN), null, host);
  }
});
