import assert from "node:assert/strict";
import { CaptureError } from "./capture_error.ts";
import { CaptureGroup } from "./capture_group.ts";
import { LiveCapture } from "./live_capture.ts";
import {
  captureSkipReason,
  collectFrames,
  echoTraffic,
  needs,
  readPcapFile,
  sendDatagrams,
  startEchoServer,
  startTcpdump,
  startUdpSink,
  summarizeFrame,
  tcpdumpSkipReason,
  toHex,
  waitUntil,
} from "./_test_support.ts";
import { createVethNamespace } from "@traffic-analyzer/shared/testing/veth_namespace";

const IPPROTO_UDP = 17;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;
const SLL_HEADER_BYTES = 16;
const SLL2_HEADER_BYTES = 20;

const noCapture = captureSkipReason();
const noTcpdump = tcpdumpSkipReason();

Deno.test("CaptureGroup.open() rejects interface lists that are empty, repeat a name, or mix any with others", async (t) => {
  for (
    const interfaceNames of [[], ["lo", "lo"], ["any", "lo"]] as string[][]
  ) {
    await t.step(JSON.stringify(interfaceNames), () => {
      assert.throws(
        () => CaptureGroup.open({ interfaceNames }),
        (error: unknown) =>
          error instanceof RangeError &&
          error.message.includes("'interfaceNames'"),
      );
    });
  }
  await t.step("a bad shared option is reported before anything opens", () => {
    assert.throws(
      () => CaptureGroup.open({ interfaceNames: ["lo"], snaplenBytes: 10 }),
      (error: unknown) => error instanceof RangeError && error.message.includes("'snaplenBytes'"),
    );
  });
});

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** A veth pair whose far end sits in a namespace of its own, so test traffic stays on this machine. */
async function withVethNamespace(
  fn: (hostInterface: string, namespace: string) => Promise<void>,
): Promise<void> {
  const tag = `${Deno.pid % 100000}`;
  const net = await createVethNamespace({
    namespace: `ta-capture-${tag}`,
    hostInterface: `tacap${tag}a`,
    namespaceInterface: `tacap${tag}b`,
    // 198.18.0.0/15 is set aside for benchmarking (RFC 2544); it exists only inside this pair.
    hostIp: "198.18.0.1",
    namespaceIp: "198.18.0.2",
  });
  try {
    await fn(net.hostInterface, net.namespace);
  } finally {
    await net.remove();
  }
}

Deno.test({
  ...needs(
    noCapture,
    "CaptureGroup merges frames from lo and a veth interface, each tagged with its interface",
  ),
  async fn() {
    const sink = await startUdpSink();
    const port = sink.port;
    const onLo = 40;
    const onVeth = 25;
    await withVethNamespace(async (hostInterface, namespace) => {
      const group = CaptureGroup.open({
        interfaceNames: ["lo", hostInterface],
        filter: `udp dst port ${port}`,
      });
      const collected = collectFrames(group);
      try {
        await sendDatagrams("127.0.0.1", port, onLo, 48);
        // From inside the namespace to the host end of the pair, bounded count.
        await run("ip", [
          "netns",
          "exec",
          namespace,
          "bash",
          "-c",
          `for i in $(seq ${onVeth}); do echo datagram > /dev/udp/198.18.0.1/${port}; done`,
        ]);
        await waitUntil(() => collected.frames.length >= onLo + onVeth, 20000);
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        group.close();
        await collected.done;
        await sink.close();
      }
      const byInterface = Map.groupBy(collected.frames, (f) => f.interfaceName);
      assert.equal(byInterface.get("lo")?.length, onLo);
      assert.equal(byInterface.get(hostInterface)?.length, onVeth);
      for (const frame of collected.frames) {
        const summary = summarizeFrame(frame.data, frame.linkType);
        assert.equal(summary?.ipProto, IPPROTO_UDP);
        assert.equal(summary?.dstPort, port);
      }
      const stats = group.stats();
      assert.deepEqual(Object.keys(stats).sort(), [hostInterface, "lo"].sort());
      assert.equal(stats.lo.delivered, onLo);
      assert.equal(stats[hostInterface].delivered, onVeth);
      assert.equal(group.closed, true);
    });
  },
});

Deno.test({
  ...needs(
    noTcpdump,
    "CaptureGroup on any sees exactly the packets tcpdump -i any sees, in SLL2 or SLL framing",
  ),
  async fn() {
    const echo = startEchoServer();
    const sink = await startUdpSink();
    const filter = `tcp port ${echo.port} or udp port ${sink.port}`;
    const datagrams = 100;
    const tcpdump = await startTcpdump("any", filter, ["-y", "LINUX_SLL2"]);
    const group = CaptureGroup.open({
      interfaceNames: ["any"],
      filter,
      dataLinkType: LINKTYPE_LINUX_SLL2,
    });
    // libpcap's default framing on any, captured side by side for comparison.
    const sllGroup = CaptureGroup.open({ interfaceNames: ["any"], filter });
    const collected = collectFrames(group);
    const sllCollected = collectFrames(sllGroup);
    try {
      await Promise.all([
        echoTraffic(echo.port, 5, 5, 100),
        sendDatagrams("127.0.0.1", sink.port, datagrams, 64),
      ]);
      await echo.close();
      await sink.close();
      let stableRounds = 0;
      let previous = -1;
      await waitUntil(
        () => {
          const ours = collected.frames.length;
          stableRounds = ours === tcpdump.count() &&
              ours === sllCollected.frames.length && ours === previous
            ? stableRounds + 1
            : 0;
          previous = ours;
          return stableRounds >= 5;
        },
        20000,
        100,
      );
    } finally {
      group.close();
      sllGroup.close();
      await collected.done;
      await sllCollected.done;
      await echo.close();
      await sink.close();
    }
    const tcpdumpLog = await tcpdump.stop();
    const reference = readPcapFile(tcpdump.path);
    await Deno.remove(tcpdump.path);
    const frames = collected.frames;
    assert.equal(frames.length, reference.length, `tcpdump: ${tcpdumpLog}`);
    assert.deepEqual(
      frames.map((f) => toHex(f.data)).sort(),
      reference.map((r) => toHex(r.data)).sort(),
    );
    assert.ok(frames.every((f) => f.linkType === LINKTYPE_LINUX_SLL2 && f.interfaceName === "any"));

    const sllFrames = sllCollected.frames;
    assert.ok(sllFrames.every((f) => f.linkType === LINKTYPE_LINUX_SLL));
    assert.deepEqual(
      sllFrames.map((f) => toHex(f.data.subarray(SLL_HEADER_BYTES))).sort(),
      reference.map((r) => toHex(r.data.subarray(SLL2_HEADER_BYTES))).sort(),
    );
    const udp = sllFrames.filter((f) => summarizeFrame(f.data, f.linkType)?.dstPort === sink.port);
    assert.equal(udp.length, datagrams);
  },
});

Deno.test({
  ...needs(
    noCapture,
    "LiveCapture iteration fails with a READ_FAILED CaptureError when its interface disappears",
  ),
  async fn() {
    await withVethNamespace(async (hostInterface) => {
      const capture = LiveCapture.open({ interfaceName: hostInterface });
      try {
        const reading = (async () => {
          for await (const _ of capture) { /* whatever the link carries */ }
        })();
        const failed = assert.rejects(reading, (error: unknown) => {
          assert.ok(error instanceof CaptureError, String(error));
          assert.equal(error.code, "READ_FAILED");
          assert.equal(error.interfaceName, hostInterface);
          assert.ok(error.message.startsWith(`reading from ${hostInterface} failed: `));
          return true;
        });
        await run("ip", ["link", "del", hostInterface]);
        await failed;
      } finally {
        capture.close();
      }
    });
  },
});
