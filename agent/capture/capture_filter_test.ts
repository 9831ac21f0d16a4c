import assert from "node:assert/strict";
import fc from "fast-check";
import { buildCaptureFilter, type ResolveAddresses } from "./capture_filter.ts";
import { CaptureError } from "./capture_error.ts";
import { CompiledCaptureFilter } from "./compiled_capture_filter.ts";
import { LiveCapture } from "./live_capture.ts";
import {
  captureSkipReason,
  collectFrames,
  echoTraffic,
  libpcapSkipReason,
  needs,
  sendDatagrams,
  startEchoServer,
  startUdpSink,
  summarizeFrame,
  waitUntil,
} from "./_test_support.ts";

const noLibpcap = libpcapSkipReason();
const noCapture = captureSkipReason();

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const noResolver: ResolveAddresses = () => {
  throw new Error("the resolver must not be called");
};

function fixedResolver(a: string[] | Error, aaaa: string[] | Error): ResolveAddresses {
  return (_hostname, recordType) => {
    const answer = recordType === "A" ? a : aaaa;
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
}

Deno.test("buildCaptureFilter() leaves TCP to and from the upload host and port out", async (t) => {
  await t.step("an IPv4 literal with a port", async () => {
    assert.equal(
      await buildCaptureFilter({
        excludeUrl: "http://127.0.0.1:8000/ingest_packets",
        resolveAddresses: noResolver,
      }),
      "not (tcp and ((dst port 8000 and (dst host 127.0.0.1)) or (src port 8000 and (src host 127.0.0.1))))",
    );
  });
  await t.step("combined with the user's filter as (user) and not (...)", async () => {
    assert.equal(
      await buildCaptureFilter({
        userFilter: " tcp or udp ",
        excludeUrl: new URL("http://192.0.2.7:9000/"),
        resolveAddresses: noResolver,
      }),
      "(tcp or udp) and not (tcp and ((dst port 9000 and (dst host 192.0.2.7)) or (src port 9000 and (src host 192.0.2.7))))",
    );
  });
  await t.step("default ports of http and https", async () => {
    const http = await buildCaptureFilter({
      excludeUrl: "http://10.1.2.3/x",
      resolveAddresses: noResolver,
    });
    const https = await buildCaptureFilter({
      excludeUrl: "https://10.1.2.3/x",
      resolveAddresses: noResolver,
    });
    assert.match(http, /dst port 80 and/);
    assert.match(https, /dst port 443 and/);
  });
  await t.step("an IPv6 literal loses its brackets", async () => {
    assert.equal(
      await buildCaptureFilter({ excludeUrl: "http://[::1]:8000/", resolveAddresses: noResolver }),
      "not (tcp and ((dst port 8000 and (dst host ::1)) or (src port 8000 and (src host ::1))))",
    );
  });
  await t.step("localhost stands for 127.0.0.1 and ::1 without asking DNS", async () => {
    assert.equal(
      await buildCaptureFilter({
        excludeUrl: "http://localhost:8000/",
        resolveAddresses: noResolver,
      }),
      "not (tcp and ((dst port 8000 and (dst host 127.0.0.1 or dst host ::1)) or " +
        "(src port 8000 and (src host 127.0.0.1 or src host ::1))))",
    );
  });
  await t.step("a host name is resolved to all its A and AAAA addresses", async () => {
    const filter = await buildCaptureFilter({
      excludeUrl: "https://collector.example:8443/ingest",
      resolveAddresses: fixedResolver(["198.51.100.1", "198.51.100.2"], ["2001:db8::1"]),
    });
    for (const address of ["198.51.100.1", "198.51.100.2", "2001:db8::1"]) {
      assert.ok(filter.includes(`dst host ${address}`) && filter.includes(`src host ${address}`));
    }
  });
  await t.step("a name with only IPv4 addresses still works when AAAA fails", async () => {
    const filter = await buildCaptureFilter({
      excludeUrl: "http://server:8000/",
      resolveAddresses: fixedResolver(["203.0.113.9"], new Error("NXDOMAIN")),
    });
    assert.match(filter, /dst host 203\.0\.113\.9\)/);
  });
  await t.step("a name that resolves to nothing is a RESOLVE_FAILED CaptureError", async () => {
    await assert.rejects(
      buildCaptureFilter({
        excludeUrl: "http://nowhere.invalid:8000/",
        resolveAddresses: fixedResolver(new Error("NXDOMAIN"), []),
      }),
      (error: unknown) => {
        assert.ok(error instanceof CaptureError);
        assert.equal(error.code, "RESOLVE_FAILED");
        assert.match(error.message, /nowhere\.invalid/);
        return true;
      },
    );
  });
});

Deno.test("buildCaptureFilter() passes the user's filter through when nothing is excluded", async () => {
  assert.equal(await buildCaptureFilter({ userFilter: "port 53" }), "port 53");
  assert.equal(await buildCaptureFilter({ userFilter: "port 53", excludeUrl: null }), "port 53");
  assert.equal(await buildCaptureFilter({}), "");
  assert.equal(await buildCaptureFilter({ userFilter: "   " }), "");
});

Deno.test("buildCaptureFilter() rejects input that would break or escape the expression", async (t) => {
  for (const userFilter of ["tcp) or (udp", "(tcp", "tcp)"]) {
    await t.step(`unbalanced user filter ${JSON.stringify(userFilter)}`, async () => {
      await assert.rejects(
        buildCaptureFilter({ userFilter, excludeUrl: "http://127.0.0.1:8000/" }),
        (error: unknown) => error instanceof RangeError && error.message.includes("'userFilter'"),
      );
    });
  }
  await t.step("a URL that does not parse", async () => {
    await assert.rejects(
      buildCaptureFilter({ excludeUrl: "not a url" }),
      (error: unknown) => error instanceof RangeError && error.message.includes("'excludeUrl'"),
    );
  });
  await t.step("a scheme without a known port", async () => {
    await assert.rejects(
      buildCaptureFilter({ excludeUrl: "ftp://127.0.0.1/" }),
      (error: unknown) => error instanceof RangeError && error.message.includes("'excludeUrl'"),
    );
  });
});

/** Ethernet + IPv4 or IPv6 + a bare TCP or UDP header. */
function buildFrame(
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  ipProto = IPPROTO_TCP,
): Uint8Array<ArrayBuffer> {
  const v6 = src.includes(":");
  const ipBytes = v6 ? 40 : 20;
  const l4Bytes = ipProto === IPPROTO_TCP ? 20 : 8;
  const frame = new Uint8Array(14 + ipBytes + l4Bytes);
  const view = new DataView(frame.buffer);
  view.setUint16(12, v6 ? 0x86dd : 0x0800);
  if (v6) {
    view.setUint8(14, 0x60);
    view.setUint16(18, l4Bytes);
    view.setUint8(20, ipProto);
    view.setUint8(21, 64);
    frame.set(ipv6Bytes(src), 22);
    frame.set(ipv6Bytes(dst), 38);
  } else {
    view.setUint8(14, 0x45);
    view.setUint16(16, ipBytes + l4Bytes);
    view.setUint8(22, 64);
    view.setUint8(23, ipProto);
    frame.set(src.split(".").map(Number), 26);
    frame.set(dst.split(".").map(Number), 30);
  }
  const l4 = 14 + ipBytes;
  view.setUint16(l4, srcPort);
  view.setUint16(l4 + 2, dstPort);
  if (ipProto === IPPROTO_TCP) view.setUint8(l4 + 12, 0x50);
  return frame;
}

function ipv6Bytes(text: string): Uint8Array {
  const [head, tail = ""] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = text.includes("::")
    ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups]
    : headGroups;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const value = parseInt(g, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

Deno.test({
  ...needs(
    noLibpcap,
    "buildCaptureFilter() output compiles and keeps everything but the upload connection",
  ),
  async fn(t) {
    const filter = await buildCaptureFilter({
      userFilter: "tcp or udp",
      excludeUrl: "http://localhost:8000/ingest_packets",
    });
    using compiled = CompiledCaptureFilter.compile(filter);
    const cases: [string, Uint8Array<ArrayBuffer>, boolean][] = [
      ["agent to server over IPv4", buildFrame("127.0.0.1", "127.0.0.1", 51000, 8000), false],
      ["server to agent over IPv4", buildFrame("127.0.0.1", "127.0.0.1", 8000, 51000), false],
      ["agent to server over IPv6", buildFrame("::1", "::1", 51000, 8000), false],
      ["server to agent over IPv6", buildFrame("::1", "::1", 8000, 51000), false],
      ["another port on the server host", buildFrame("127.0.0.1", "127.0.0.1", 51000, 8001), true],
      ["the same port on another host", buildFrame("10.0.0.1", "10.0.0.2", 51000, 8000), true],
      [
        "another host talking from port 8000",
        buildFrame("10.0.0.1", "127.0.0.1", 8000, 51000),
        true,
      ],
      [
        "UDP to the server port",
        buildFrame("127.0.0.1", "127.0.0.1", 51000, 8000, IPPROTO_UDP),
        true,
      ],
      ["ICMP is outside the user's filter", buildFrame("10.0.0.1", "10.0.0.2", 0, 0, 1), false],
    ];
    for (const [name, frame, kept] of cases) {
      await t.step(`${name}: ${kept ? "kept" : "left out"}`, () => {
        assert.equal(compiled.matches(frame), kept);
      });
    }
  },
});

Deno.test({
  ...needs(
    noLibpcap,
    "buildCaptureFilter() output compiles for any IPv4 or IPv6 server address and port",
  ),
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.ipV4(), fc.ipV6().map((address) => `[${address}]`)),
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom("", "tcp", "not port 22", "(udp or icmp) and net 10.0.0.0/8"),
        async (host, port, userFilter) => {
          const filter = await buildCaptureFilter({
            userFilter,
            excludeUrl: `http://${host}:${port}/ingest_packets`,
            resolveAddresses: noResolver,
          });
          using compiled = CompiledCaptureFilter.compile(filter);
          assert.ok(compiled.instructionCount > 1);
          const server = new URL(`http://${host}/`).hostname.replace(/^\[(.*)\]$/, "$1");
          if (!server.includes(":")) {
            assert.equal(compiled.matches(buildFrame("192.0.2.1", server, 40000, port)), false);
          }
        },
      ),
      { numRuns: 300 },
    );
  },
});

Deno.test({
  ...needs(
    noCapture,
    "a live capture with buildCaptureFilter() output does not see the upload connection",
  ),
  async fn() {
    const echo = startEchoServer();
    const sink = await startUdpSink();
    const filter = await buildCaptureFilter({
      userFilter: `tcp port ${echo.port} or udp port ${sink.port}`,
      excludeUrl: `http://127.0.0.1:${echo.port}/ingest_packets`,
    });
    const capture = LiveCapture.open({ interfaceName: "lo", filter, immediateMode: true });
    const collected = collectFrames(capture);
    const datagrams = 30;
    try {
      await Promise.all([
        echoTraffic(echo.port, 3, 5, 100),
        sendDatagrams("127.0.0.1", sink.port, datagrams, 16),
      ]);
      await waitUntil(() => collected.frames.length >= datagrams, 20000);
      // Give any wrongly kept TCP frame time to show up.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      capture.close();
      await collected.done;
      await echo.close();
      await sink.close();
    }
    const summaries = collected.frames.map((f) => summarizeFrame(f.data, f.linkType));
    assert.equal(summaries.filter((s) => s?.ipProto === IPPROTO_UDP).length, datagrams);
    assert.equal(summaries.filter((s) => s?.ipProto === IPPROTO_TCP).length, 0);
    assert.equal(collected.frames.length, datagrams);
  },
});
