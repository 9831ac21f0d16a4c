import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { parseSshBanner } from "./ssh_banner.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("parseSshBanner() reads the identification line without CR LF", () => {
  assert.deepEqual(parseSshBanner(bytes("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n\0\0\0")), {
    ssh_banner: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
  });
  assert.deepEqual(parseSshBanner(bytes("SSH-2.0-dropbear\n")), { ssh_banner: "SSH-2.0-dropbear" });
});

Deno.test("parseSshBanner() skips the lines a server may send first", () => {
  const banner = parseSshBanner(bytes("Welcome\r\nauthorised use only\r\nSSH-1.99-Cisco-1.25\r\n"));
  assert.deepEqual(banner, { ssh_banner: "SSH-1.99-Cisco-1.25" });
});

Deno.test("parseSshBanner() waits for the end of the line, but cuts at 255 bytes", () => {
  assert.equal(parseSshBanner(bytes("SSH-2.0-OpenSSH_9")), null);
  assert.equal(parseSshBanner(bytes("GET / HTTP/1.1\r\n")), null);
  const long = "SSH-2.0-" + "x".repeat(400);
  assert.equal(parseSshBanner(bytes(long))?.ssh_banner, long.slice(0, 255));
});

Deno.test("parseSshBanner() never throws on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
      parseSshBanner(data);
      parseSshBanner(new Uint8Array([0x53, 0x53, 0x48, 0x2d, ...data]));
    }),
    propertyRuns(3000),
  );
});
