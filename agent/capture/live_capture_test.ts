import assert from "node:assert/strict";
import { CaptureError } from "./capture_error.ts";
import { LiveCapture } from "./live_capture.ts";
import {
  captureSkipReason,
  collectFrames,
  echoTraffic,
  isRoot,
  libpcapSkipReason,
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

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const ETHERNET_IPV4_UDP_HEADER_BYTES = 14 + 20 + 8;

/**
 * Copies the local modules `entry` imports (and itself) under `dir`, keeping
 * their paths relative to the repository root, with world-readable modes.
 * Returns the copied entry's file URL.
 */
async function copyModuleGraph(entry: URL, dir: string): Promise<string> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.href],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(info.success, new TextDecoder().decode(info.stderr));
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { specifier: string }[];
  };
  const root = new URL("../../", import.meta.url).pathname;
  for (const { specifier } of graph.modules) {
    if (!specifier.startsWith("file://")) continue;
    const from = new URL(specifier).pathname;
    assert.ok(from.startsWith(root), `${from} lies outside the repository`);
    const to = `${dir}/${from.slice(root.length)}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(from, to);
    await Deno.chmod(to, 0o644);
  }
  // mkdir's mode passes through the umask: open every copied folder to nobody.
  const openFolders = async (folder: string): Promise<void> => {
    await Deno.chmod(folder, 0o755);
    for await (const item of Deno.readDir(folder)) {
      if (item.isDirectory) await openFolders(`${folder}/${item.name}`);
    }
  };
  await openFolders(dir);
  return new URL(`${dir}/${entry.pathname.slice(root.length)}`, "file://").href;
}

const noLibpcap = libpcapSkipReason();
const noCapture = captureSkipReason();
const noTcpdump = tcpdumpSkipReason();

Deno.test("LiveCapture.open() rejects out-of-range options with a RangeError naming the option", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["snaplenBytes", { snaplenBytes: 63 }],
    ["snaplenBytes", { snaplenBytes: 262145 }],
    ["snaplenBytes", { snaplenBytes: 100.5 }],
    ["snaplenBytes", { snaplenBytes: Number.NaN }],
    ["burstSize", { burstSize: 0 }],
    ["bufferSizeBytes", { bufferSizeBytes: 1024 }],
    ["idleSleepMs", { idleSleepMs: -1 }],
    ["readTimeoutMs", { readTimeoutMs: 0 }],
    ["interfaceName", { interfaceName: "" }],
  ];
  for (const [option, overrides] of cases) {
    await t.step(`${option} = ${JSON.stringify(Object.values(overrides)[0])}`, () => {
      assert.throws(
        () => LiveCapture.open({ interfaceName: "lo", ...overrides }),
        (error: unknown) => error instanceof RangeError && error.message.includes(`'${option}'`),
      );
    });
  }
});

/** The file behind libpcap's soname, to hide it in a private mount namespace. */
function libpcapFile(): string | null {
  try {
    const output = new Deno.Command("ldconfig", { args: ["-p"], stderr: "null" }).outputSync();
    const line = new TextDecoder().decode(output.stdout).split("\n").find((l) =>
      l.includes("libpcap.so.0.8")
    );
    const path = line?.split("=>")[1]?.trim();
    return path ? Deno.realPathSync(path) : null;
  } catch {
    return null;
  }
}

Deno.test({
  ...needs(
    noLibpcap ?? (isRoot() ? null : "needs root to hide libpcap in a mount namespace") ??
      (libpcapFile() === null ? "ldconfig does not list libpcap.so.0.8" : null),
    "LiveCapture.open() says how to install libpcap when it cannot be loaded",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const script = `${dir}/probe.ts`;
      const module = new URL("./live_capture.ts", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { LiveCapture } from ${JSON.stringify(module)};
try { LiveCapture.open({ interfaceName: "lo" }); console.log("{}"); }
catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
`,
      );
      // A private mount namespace hides the library from this child only.
      const output = await new Deno.Command("unshare", {
        args: [
          "-m",
          "sh",
          "-c",
          'mount --bind /dev/null "$1" && exec "$2" run --no-check --allow-ffi --allow-read "$3"',
          "sh",
          libpcapFile()!,
          Deno.execPath(),
          script,
        ],
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(output.stdout).trim();
      assert.ok(output.success, new TextDecoder().decode(output.stderr));
      const result = JSON.parse(stdout);
      assert.equal(result.name, "CaptureError");
      assert.equal(result.code, "LIBPCAP_NOT_FOUND");
      assert.match(
        result.message,
        /^libpcap not found: install it with `apt-get install libpcap0\.8` \(/,
      );
      assert.ok(!result.message.includes("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs(
    noLibpcap,
    "LiveCapture.open() names an unknown interface and lists the real ones",
  ),
  fn() {
    assert.throws(
      () => LiveCapture.open({ interfaceName: "nosuchif0" }),
      (error: unknown) => {
        assert.ok(error instanceof CaptureError);
        assert.equal(error.code, "NO_SUCH_DEVICE");
        assert.equal(error.interfaceName, "nosuchif0");
        assert.match(error.message, /"nosuchif0"/);
        assert.match(error.message, /\blo\b/);
        assert.ok(!error.message.includes("\n"));
        return true;
      },
    );
  },
});

Deno.test({
  ...needs(
    noCapture ?? (isRoot() ? null : "needs root to drop privileges with setpriv"),
    "LiveCapture.open() tells an unprivileged user to use sudo or setcap",
  ),
  async fn() {
    // Drop to nobody in a child process to hit libpcap's real permission check. nobody may
    // not be able to read the checkout (a 0700 temp folder, /root), so the module and what it
    // imports are copied to a world-readable folder first, keeping their relative paths.
    const dir = await Deno.makeTempDir({ prefix: "ta-nobody-" });
    await Deno.chmod(dir, 0o755);
    try {
      const module = await copyModuleGraph(new URL("./live_capture.ts", import.meta.url), dir);
      const script = `${dir}/probe.ts`;
      await Deno.writeTextFile(
        script,
        `import { LiveCapture } from ${JSON.stringify(module)};
try { LiveCapture.open({ interfaceName: "lo" }); console.log("{}"); }
catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: String(e.cause) })); }
`,
      );
      await Deno.chmod(script, 0o644);
      // Deno's cache for the child: nobody must be able to write it.
      await Deno.mkdir(`${dir}/deno`, { mode: 0o777 });
      await Deno.chmod(`${dir}/deno`, 0o777);
      const output = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          Deno.execPath(),
          "run",
          "--no-check",
          "--allow-ffi",
          "--allow-read",
          script,
        ],
        env: { DENO_DIR: `${dir}/deno`, HOME: `${dir}/deno`, NO_COLOR: "1" },
        cwd: dir,
      }).output();
      const stdout = new TextDecoder().decode(output.stdout).trim();
      assert.ok(output.success, new TextDecoder().decode(output.stderr));
      const result = JSON.parse(stdout);
      assert.equal(result.name, "CaptureError");
      assert.equal(result.code, "PERM_DENIED");
      assert.match(
        result.message,
        /^capture on lo needs root or CAP_NET_RAW: run with sudo or `setcap /,
      );
      // The hint names the running deno binary, which `command -v deno` may not find.
      assert.ok(result.message.includes(` ${Deno.execPath()}\``), result.message);
      assert.ok(!result.message.includes("\n"));
      assert.match(result.cause, /not permitted|permission/i);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs(
    noCapture,
    "LiveCapture.open() rejects an invalid filter naming the filter and libpcap's reason",
  ),
  async fn(t) {
    for (const filter of ["tcp prot 80", "udp and (", "host 300.1.2.3"]) {
      await t.step(filter, () => {
        assert.throws(
          () => LiveCapture.open({ interfaceName: "lo", filter }),
          (error: unknown) => {
            assert.ok(error instanceof CaptureError);
            assert.equal(error.code, "BAD_FILTER");
            assert.ok(error.message.startsWith(`invalid capture filter "${filter}" on lo: `));
            assert.ok(error.message.length > `invalid capture filter "${filter}" on lo: `.length);
            assert.ok(!error.message.includes("\n"));
            assert.ok(error.cause instanceof Error);
            return true;
          },
        );
      });
    }
  },
});

Deno.test({
  ...needs(
    noTcpdump,
    "LiveCapture sees exactly the loopback packets tcpdump sees with the same filter",
  ),
  async fn() {
    const echo = startEchoServer();
    const sink = await startUdpSink();
    const filter = `tcp port ${echo.port} or udp port ${sink.port}`;
    const datagrams = 300;
    const tcpdump = await startTcpdump("lo", filter);
    // Default options on purpose: block mode with a read timeout, as the agent runs.
    const capture = LiveCapture.open({ interfaceName: "lo", filter });
    // The kernel counts every lo packet between activation and the filter
    // taking hold; on a busy machine that is not zero, so count from here.
    const receivedAtOpen = capture.stats().received;
    const collected = collectFrames(capture);
    try {
      await Promise.all([
        echoTraffic(echo.port, 20, 10, 200),
        sendDatagrams("127.0.0.1", sink.port, datagrams, 64),
      ]);
      await echo.close();
      await sink.close();
      // The last FIN/ACKs go out after close(); wait until both sides agree and stay put.
      let stableRounds = 0;
      let previous = -1;
      await waitUntil(
        () => {
          const ours = collected.frames.length;
          const theirs = tcpdump.count();
          stableRounds = ours === theirs && ours === previous ? stableRounds + 1 : 0;
          previous = ours;
          return stableRounds >= 5;
        },
        20000,
        100,
      );
    } finally {
      capture.close();
      await collected.done;
      await echo.close();
      await sink.close();
    }
    const tcpdumpLog = await tcpdump.stop();
    const reference = readPcapFile(tcpdump.path);
    await Deno.remove(tcpdump.path);
    const frames = collected.frames;

    assert.equal(frames.length, reference.length, `tcpdump: ${tcpdumpLog}`);
    const summaries = frames.map((f) => summarizeFrame(f.data, f.linkType));
    const udp = summaries.filter((s) => s?.ipProto === IPPROTO_UDP && s.dstPort === sink.port);
    assert.equal(udp.length, datagrams);
    const tcp = summaries.filter((s) => s?.ipProto === IPPROTO_TCP);
    assert.ok(tcp.length >= 20 * (3 + 2 * 10), `only ${tcp.length} TCP frames`);

    // Same packets byte for byte. Each capture socket reads the clock on its
    // own, microseconds apart, so time stamps agree closely but not exactly.
    const byBytes = <T extends { data: Uint8Array; ns: bigint }>(a: T[]) =>
      a.map((x) => ({ ...x, hex: toHex(x.data) })).sort((x, y) =>
        x.hex < y.hex ? -1 : x.hex > y.hex ? 1 : Number(x.ns - y.ns)
      );
    const ours = byBytes(frames.map((f) => ({
      data: f.data,
      wire: f.wireLength,
      ns: BigInt(f.timestampWholeSec) * 1_000_000_000n + BigInt(f.timestampFracNs),
    })));
    const theirs = byBytes(reference.map((r) => ({
      data: r.data,
      wire: r.wireLength,
      ns: BigInt(r.wholeSec) * 1_000_000_000n + BigInt(r.fracNs),
    })));
    assert.deepEqual(
      ours.map((x) => `${x.wire} ${x.hex}`),
      theirs.map((x) => `${x.wire} ${x.hex}`),
    );
    const maxSkewNs = ours.reduce((max, x, i) => {
      const skew = x.ns > theirs[i].ns ? x.ns - theirs[i].ns : theirs[i].ns - x.ns;
      return skew > max ? skew : max;
    }, 0n);
    assert.ok(maxSkewNs < 50_000_000n, `time stamps differ by up to ${maxSkewNs} ns`);
    for (const frame of frames) {
      assert.equal(frame.linkType, 1);
      assert.equal(frame.interfaceName, "lo");
      assert.equal(frame.caplen, frame.data.length);
      assert.equal(frame.timestampSec, frame.timestampWholeSec + frame.timestampFracNs / 1e9);
    }
    // lo hands each packet to the socket twice; libpcap keeps the incoming copy only.
    assert.equal(capture.stats().received - receivedAtOpen, 2 * frames.length);
  },
});

Deno.test({
  ...needs(
    noCapture,
    "LiveCapture truncates frames to snaplenBytes and keeps the wire length",
  ),
  async fn() {
    const sink = await startUdpSink();
    const snaplenBytes = 64;
    const payloadBytes = 500;
    const count = 20;
    const capture = LiveCapture.open({
      interfaceName: "lo",
      filter: `udp dst port ${sink.port}`,
      snaplenBytes,
      immediateMode: true,
    });
    const collected = collectFrames(capture);
    try {
      await sendDatagrams("127.0.0.1", sink.port, count, payloadBytes);
      await waitUntil(() => collected.frames.length >= count, 20000);
    } finally {
      capture.close();
      await collected.done;
      await sink.close();
    }
    assert.equal(collected.frames.length, count);
    for (const frame of collected.frames) {
      assert.ok(frame.caplen <= snaplenBytes);
      assert.equal(frame.caplen, snaplenBytes);
      assert.equal(frame.data.length, frame.caplen);
      assert.equal(frame.wireLength, ETHERNET_IPV4_UDP_HEADER_BYTES + payloadBytes);
      assert.ok(frame.wireLength > frame.caplen);
      assert.equal(summarizeFrame(frame.data, frame.linkType)?.dstPort, sink.port);
    }
  },
});

Deno.test({
  ...needs(
    noCapture,
    "LiveCapture.stats() counts received, dropped and delivered packets, and survives close()",
  ),
  async fn() {
    const sink = await startUdpSink();
    const count = 50;
    const capture = LiveCapture.open({
      interfaceName: "lo",
      filter: `udp dst port ${sink.port}`,
      burstSize: 7,
    });
    const before = capture.stats();
    assert.deepEqual(Object.keys(before).sort(), [
      "delivered",
      "interfaceDropped",
      "kernelDropped",
      "received",
    ]);
    assert.equal(before.delivered, 0);
    const collected = collectFrames(capture);
    try {
      await sendDatagrams("127.0.0.1", sink.port, count, 32);
      await waitUntil(() => collected.frames.length >= count, 20000);
    } finally {
      capture.close();
      await collected.done;
      await sink.close();
    }
    const after = capture.stats();
    for (const value of Object.values(after)) {
      assert.ok(Number.isInteger(value) && value >= 0);
    }
    assert.equal(after.delivered, count);
    // Counted from just after open: packets before the filter took hold count too.
    assert.equal(after.received - before.received, 2 * count);
    assert.equal(after.kernelDropped, 0);
    assert.deepEqual(capture.stats(), after);
    assert.equal(capture.closed, true);
    assert.deepEqual(capture.readBurst(), []);
  },
});

Deno.test({
  ...needs(
    noCapture,
    "LiveCapture iteration ends when close() is called while it waits for packets",
  ),
  async fn() {
    const sink = await startUdpSink();
    const capture = LiveCapture.open({
      interfaceName: "lo",
      filter: `udp dst port ${sink.port}`,
      idleSleepMs: 1000,
    });
    try {
      const seen: number[] = [];
      const loop = (async () => {
        for await (const frame of capture) seen.push(frame.caplen);
      })();
      await sendDatagrams("127.0.0.1", sink.port, 1, 10);
      await waitUntil(() => seen.length === 1, 20000);
      capture.close();
      await loop;
      assert.equal(seen.length, 1);
      assert.equal(capture.timestampPrecision, "nano");
    } finally {
      capture.close();
      await sink.close();
    }
  },
});
