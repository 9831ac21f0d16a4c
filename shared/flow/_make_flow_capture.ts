/**
 * Makes `shared/testdata/flows_loopback.pcap` and its tshark conversation
 * table (`flows_loopback.conv.txt`), the oracle of `flow_tshark_test.ts`.
 *
 * Captures, with tcpdump on `lo`, a bounded set of exchanges between
 * loopback sockets on fixed ports: TCP connections with data both ways and
 * a graceful close (IPv4 and IPv6), connections refused by a closed port
 * (RST), UDP request/response pairs and datagrams to a closed port. Every
 * generator is bounded in count and time and talks only to 127.0.0.1 / ::1.
 *
 * Run as root from the repository root:
 * `deno run --unstable-net --allow-run --allow-net=127.0.0.1,[::1] --allow-read --allow-write shared/flow/_make_flow_capture.ts`
 *
 * @module
 */

const TCP_PORT = 47311;
const TCP_CLOSED_PORT = 47312;
const UDP_PORT = 47313;
const UDP_CLOSED_PORT = 47314;
const OUT_DIR = new URL("../testdata/", import.meta.url);
const PCAP = new URL("flows_loopback.pcap", OUT_DIR);
const CONV = new URL("flows_loopback.conv.txt", OUT_DIR);
const DEADLINE_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readAll(conn: Deno.Conn, limit: number): Promise<number> {
  const buf = new Uint8Array(65536);
  let total = 0;
  while (total < limit) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
  }
  return total;
}

async function tcpServer(hostname: string, signal: AbortSignal): Promise<void> {
  const listener = Deno.listen({ hostname, port: TCP_PORT });
  signal.addEventListener("abort", () => listener.close());
  try {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        // Reply with as many bytes as the request asked for, then wait for the client's close.
        const size = n === null ? 0 : Number(new TextDecoder().decode(buf.subarray(0, n)).trim());
        if (size > 0) await conn.write(new Uint8Array(size).fill(0x61));
        await readAll(conn, Infinity);
        conn.close();
      })().catch(() => {});
    }
  } catch {
    // listener closed
  }
}

async function tcpClient(hostname: string, replyBytes: number): Promise<void> {
  const conn = await Deno.connect({ hostname, port: TCP_PORT });
  await conn.write(new TextEncoder().encode(`${replyBytes}\n`));
  await readAll(conn, replyBytes);
  await sleep(20);
  conn.close();
}

async function main(): Promise<void> {
  const filter =
    `(tcp or udp) and (port ${TCP_PORT} or port ${TCP_CLOSED_PORT} or port ${UDP_PORT} or port ${UDP_CLOSED_PORT})`;
  const tcpdump = new Deno.Command("tcpdump", {
    args: ["-i", "lo", "-n", "-U", "-s", "262144", "-w", PCAP.pathname, filter],
    stderr: "piped",
    stdout: "null",
  }).spawn();
  const stderr = tcpdump.stderr.getReader();
  const started = await Promise.race([
    stderr.read().then((r) => new TextDecoder().decode(r.value ?? new Uint8Array())),
    sleep(5000).then(() => ""),
  ]);
  if (!started.includes("listening")) throw new Error(`tcpdump did not start: ${started}`);
  stderr.releaseLock();
  try {
    await sleep(300);
    await generateTraffic();
    await sleep(300);
  } finally {
    tcpdump.kill("SIGTERM");
    await tcpdump.status;
  }

  const tshark = await new Deno.Command("tshark", {
    args: ["-q", "-z", "conv,tcp", "-z", "conv,udp", "-r", PCAP.pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  await Deno.writeFile(CONV, tshark.stdout);
  console.log(new TextDecoder().decode(tshark.stdout));
}

async function generateTraffic(): Promise<void> {
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), DEADLINE_MS);
  const servers = [tcpServer("127.0.0.1", stop.signal), tcpServer("::1", stop.signal)];
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: UDP_PORT, transport: "udp" });
  const udpServer = (async () => {
    try {
      for (let i = 0; i < 8; i++) {
        const [data, from] = await udp.receive();
        await udp.send(new Uint8Array(data.length * 3), from);
      }
    } catch {
      // closed
    }
  })();
  await sleep(100);

  for (const size of [0, 100, 1000, 5000, 20000]) {
    await tcpClient("127.0.0.1", size);
    await sleep(30);
  }
  await tcpClient("::1", 3000);
  await sleep(30);
  for (let i = 0; i < 2; i++) {
    await Deno.connect({ hostname: "127.0.0.1", port: TCP_CLOSED_PORT }).then(
      (c) => c.close(),
      () => {},
    );
    await sleep(30);
  }
  for (let socket = 0; socket < 3; socket++) {
    const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    for (let i = 0; i < (socket === 0 ? 4 : 2); i++) {
      await client.send(new Uint8Array(20 + 10 * i), {
        transport: "udp",
        hostname: "127.0.0.1",
        port: UDP_PORT,
      });
      await Promise.race([client.receive(), sleep(500)]);
    }
    await client.send(new Uint8Array(33), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: UDP_CLOSED_PORT,
    });
    await sleep(30);
    client.close();
  }

  await sleep(300);
  clearTimeout(deadline);
  stop.abort();
  udp.close();
  await Promise.all([...servers, udpServer]);
}

if (import.meta.main) await main();
