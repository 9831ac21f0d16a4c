import assert from "node:assert/strict";
import { findMissingTools, LAB_TOOLS } from "./find_missing_tools.ts";

Deno.test("findMissingTools() reports nothing when every tool is found", async () => {
  const result = await findMissingTools({ isExecutable: () => Promise.resolve(true) });
  assert.deepEqual(result, { missing: [], installCommand: null });
});

Deno.test("findMissingTools() names each missing package once, sorted, in one install line", async () => {
  const present = new Set(["/usr/sbin/ip", "/usr/bin/curl", "/bin/ss"]);
  const result = await findMissingTools({
    tools: [
      { tool: "ip", debianPackage: "iproute2" },
      { tool: "ss", debianPackage: "iproute2" },
      { tool: "curl", debianPackage: "curl" },
      { tool: "ssh", debianPackage: "openssh-client" },
      { tool: "ssh-keygen", debianPackage: "openssh-client" },
      { tool: "hping3", debianPackage: "hping3" },
    ],
    dirs: ["/usr/sbin", "/usr/bin", "/bin"],
    isExecutable: (p) => Promise.resolve(present.has(p)),
  });
  assert.deepEqual(result.missing.map((m) => m.tool), ["ssh", "ssh-keygen", "hping3"]);
  assert.equal(result.installCommand, "apt-get install -y hping3 openssh-client");
});

Deno.test("findMissingTools() looks on the real file system by default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/runme`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/runme`, 0o755);
    await Deno.writeTextFile(`${dir}/plain`, "not a program\n");
    await Deno.chmod(`${dir}/plain`, 0o644);
    const result = await findMissingTools({
      tools: [
        { tool: "runme", debianPackage: "a" },
        { tool: "plain", debianPackage: "b" },
        { tool: "absent", debianPackage: "c" },
      ],
      dirs: [dir, `${dir}/no-such-dir`],
    });
    assert.deepEqual(result.missing.map((m) => m.tool), ["plain", "absent"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LAB_TOOLS lists every program the lab runs", () => {
  const tools = LAB_TOOLS.map((t) => t.tool);
  for (
    const t of [
      "ip",
      "tcpdump",
      "nmap",
      "hping3",
      "hydra",
      "slowhttptest",
      "curl",
      "dig",
      "dnsmasq",
      "iperf3",
    ]
  ) {
    assert.ok(tools.includes(t), t);
  }
});
