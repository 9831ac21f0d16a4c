import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import {
  httpHeadComplete,
  looksLikeHttpRequest,
  parseHttpRequest,
  parseHttpResponse,
} from "./http_message.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const REQUEST = "GET /search?q=deno HTTP/1.1\r\nHost: example.com:8080\r\n" +
  "user-agent:   curl/8.5.0  \r\nAccept: */*\r\n\r\n";

Deno.test("parseHttpRequest() reads method, host, path and user agent", () => {
  assert.deepEqual(parseHttpRequest(bytes(REQUEST)), {
    http_method: "GET",
    http_host: "example.com:8080",
    http_path: "/search?q=deno",
    http_user_agent: "curl/8.5.0",
  });
});

Deno.test("parseHttpRequest() takes any token method on a complete HTTP/1.x line", () => {
  const request = parseHttpRequest(bytes("PURGE /cache HTTP/1.0\nHost: h\n\n"));
  assert.equal(request?.http_method, "PURGE");
  assert.equal(request?.http_host, "h");
  assert.equal(parseHttpRequest(bytes("HELLO there\r\n")), null);
  assert.equal(parseHttpRequest(bytes("PURGE /cache")), null);
});

Deno.test("parseHttpRequest() keeps the first 512 bytes of a long target, even before the line ends", () => {
  const target = "/" + "a".repeat(2000);
  const whole = parseHttpRequest(bytes(`POST ${target} HTTP/1.1\r\nHost: h\r\n\r\n`));
  assert.equal(whole?.http_path, target.slice(0, 512));
  const cut = parseHttpRequest(bytes(`POST ${target.slice(0, 700)}`));
  assert.deepEqual(cut, {
    http_method: "POST",
    http_host: null,
    http_path: target.slice(0, 512),
    http_user_agent: null,
  });
});

Deno.test("parseHttpRequest() on every cut of a request gives null or a consistent prefix", () => {
  const whole = parseHttpRequest(bytes(REQUEST))!;
  const data = bytes(REQUEST);
  for (let cut = 0; cut <= data.length; cut++) {
    const part = parseHttpRequest(data.subarray(0, cut));
    if (part === null) {
      assert.ok(cut < 4, `null at ${cut}`);
      continue;
    }
    assert.equal(part.http_method, whole.http_method);
    assert.ok(whole.http_path.startsWith(part.http_path));
    assert.ok(part.http_host === null || part.http_host === whole.http_host, `host at ${cut}`);
    assert.ok(part.http_user_agent === null || part.http_user_agent === whole.http_user_agent);
  }
});

Deno.test("parseHttpResponse() reads the status code", () => {
  assert.deepEqual(parseHttpResponse(bytes("HTTP/1.1 404 Not Found\r\n")), { http_status: 404 });
  assert.equal(parseHttpResponse(bytes("HTTP/2 200\r\n")), null);
  assert.equal(parseHttpResponse(bytes("HTTP/1.1 2")), null);
});

Deno.test("httpHeadComplete() finds the empty line after the headers", () => {
  assert.equal(httpHeadComplete(bytes(REQUEST)), true);
  assert.equal(httpHeadComplete(bytes(REQUEST.slice(0, -2))), false);
  assert.equal(httpHeadComplete(bytes("GET / HTTP/1.0\n\n")), true);
});

Deno.test("HTTP parsers never throw on random bytes or text", () => {
  const text = fc.string({
    unit: fc.constantFrom("G", "E", "T", " ", "/", "\r", "\n", ":", "H", "T", "P", "1", ".", "a"),
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), text.map(bytes)), (data) => {
      parseHttpRequest(data);
      parseHttpResponse(data);
      httpHeadComplete(data);
      looksLikeHttpRequest(data);
    }),
    propertyRuns(3000),
  );
});
