import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { mayRecogniseDatagram, recogniseAppProtocol, type RecogniseHint } from "./app_protocol.ts";
import { buildClientHello, sniExtension, tlsRecords } from "./_tls_builder.ts";
import { buildDnsMessage, dnsName } from "./_dns_builder.ts";
import { protectClientInitial } from "./_quic_builder.ts";
import { QUIC_V1, QUIC_V2 } from "./quic_header.ts";

const text = (value: string) => new TextEncoder().encode(value);
const tcp = (dstPort: number, srcPort = 50000): RecogniseHint => ({
  transport: "tcp",
  srcPort,
  dstPort,
});
const udp = (dstPort: number, srcPort = 50000): RecogniseHint => ({
  transport: "udp",
  srcPort,
  dstPort,
});

Deno.test("recogniseAppProtocol() finds TLS, HTTP and SSH by content on any port", () => {
  const hello = tlsRecords(
    buildClientHello({ cipherSuites: [0x1301], extensions: [sniExtension("a.example")] }),
  );
  assert.equal(recogniseAppProtocol(hello, tcp(8443)), "tls");
  assert.equal(recogniseAppProtocol(hello, tcp(25)), "tls");
  assert.equal(recogniseAppProtocol(text("GET / HTTP/1.1\r\n"), tcp(8080)), "http");
  assert.equal(recogniseAppProtocol(text("HTTP/1.1 200 OK\r\n"), tcp(50000, 8080)), "http");
  assert.equal(recogniseAppProtocol(text("SSH-2.0-OpenSSH_9.6\r\n"), tcp(2222)), "ssh");
  assert.equal(recogniseAppProtocol(text("220 mail.example ESMTP\r\n"), tcp(25)), null);
});

Deno.test("recogniseAppProtocol() tells DNS, mDNS and LLMNR apart by port", () => {
  const query = buildDnsMessage({
    flags: 0x0100,
    questions: [{ name: dnsName("host.local"), type: 1 }],
  });
  assert.equal(recogniseAppProtocol(query, udp(53)), "dns");
  assert.equal(recogniseAppProtocol(query, udp(5353, 5353)), "mdns");
  assert.equal(recogniseAppProtocol(query, udp(5355)), "llmnr");
  assert.equal(recogniseAppProtocol(query, udp(9999)), null);
  const overTcp = new Uint8Array([0, query.length, ...query]);
  assert.equal(recogniseAppProtocol(overTcp, tcp(53)), "dns");
  // A flood's filler sent to port 53 is no DNS: its opcode is not defined.
  assert.equal(recogniseAppProtocol(text("X".repeat(100)), udp(53)), null);
});

Deno.test("recogniseAppProtocol() finds QUIC v1 and v2 long headers and DHCP", async () => {
  for (const version of [QUIC_V1, QUIC_V2]) {
    const initial = await protectClientInitial({
      version,
      dcid: new Uint8Array(8),
      packetNumber: 0,
      frames: new Uint8Array([1]),
    });
    assert.equal(recogniseAppProtocol(initial, udp(4433)), "quic");
  }
  const dhcp = new Uint8Array(300);
  dhcp[0] = 1;
  dhcp.set([0x63, 0x82, 0x53, 0x63], 236);
  assert.equal(recogniseAppProtocol(dhcp, udp(67, 68)), "dhcp");
});

Deno.test("recogniseAppProtocol() never throws on random bytes", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 400 }),
      fc.boolean(),
      fc.nat(65535),
      (bytes, isTcp, port) => {
        recogniseAppProtocol(bytes, {
          transport: isTcp ? "tcp" : "udp",
          srcPort: port,
          dstPort: 53,
        });
      },
    ),
    propertyRuns(3000),
  );
});

Deno.test("mayRecogniseDatagram() is true for every datagram recogniseAppProtocol() names", async () => {
  const query = buildDnsMessage({
    flags: 0x0100,
    questions: [{ name: dnsName("host.local"), type: 1 }],
  });
  const initial = await protectClientInitial({
    version: QUIC_V1,
    dcid: new Uint8Array(8),
    packetNumber: 0,
    frames: new Uint8Array([1]),
  });
  const dhcp = new Uint8Array(300);
  dhcp[0] = 2;
  dhcp.set([0x63, 0x82, 0x53, 0x63], 236);
  // Named datagrams, cut anywhere (the snap length), and random bytes.
  const payload = fc.oneof(
    fc.tuple(fc.constantFrom(query, initial, dhcp), fc.nat(400)).map(([bytes, cut]) =>
      bytes.subarray(0, cut)
    ),
    fc.uint8Array({ maxLength: 300 }),
  );
  const port = fc.constantFrom(53, 67, 68, 443, 4433, 5353, 5355, 9999, 51000);
  let named = 0;
  fc.assert(
    fc.property(payload, port, port, (bytes, srcPort, dstPort) => {
      const hint: RecogniseHint = { transport: "udp", srcPort, dstPort };
      if (recogniseAppProtocol(bytes, hint) === null) return;
      named++;
      assert.ok(mayRecogniseDatagram(bytes.length === 0 ? -1 : bytes[0], bytes.length, hint));
    }),
    propertyRuns(3000),
  );
  assert.ok(named > 0);
  // A flood's filler on other ports is passed over unread.
  assert.equal(mayRecogniseDatagram(0, 1400, udp(9999)), false);
  assert.equal(mayRecogniseDatagram(0x58, 1400, udp(9999)), false);
  assert.equal(mayRecogniseDatagram(0xc3, 6, udp(443)), false);
  assert.equal(mayRecogniseDatagram(0xc3, 1200, udp(443)), true);
  assert.equal(mayRecogniseDatagram(0, 40, udp(53)), true);
});
