import assert from "node:assert/strict";
import { findMissingTools, LAB_TOOLS } from "./find_missing_tools.ts";
import { LAB_NETWORK } from "./lab_network.ts";
import { deriveRunSettings } from "./run_settings.ts";
import { buildScenarioPlan } from "./scenario_plan.ts";

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

Deno.test("LAB_TOOLS covers every program a full or demo plan starts, and the README installs them", async () => {
  const tools = new Set(LAB_TOOLS.map((t) => t.tool));
  for (const seed of [1, 2, 3, 4]) {
    for (const profile of ["full", "demo"] as const) {
      const p = buildScenarioPlan(deriveRunSettings(seed, { profile }), LAB_NETWORK, {
        workDir: "/tmp/talab-test",
      });
      const argvs = [
        ...p.setup.map((c) => c.argv),
        ...p.services.map((s) => s.argv),
        ...[...p.benignChains.flat(), p.background, ...p.attacks].flatMap((s) =>
          s.commands.map((c) => c.argv)
        ),
      ];
      for (const argv of argvs) {
        const program = argv[0].split("/").at(-1)!;
        assert.ok(tools.has(program), `${program} (seed ${seed}, ${profile})`);
      }
    }
  }
  const readme = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  const aptLine = /apt-get install -y ([^`]*?)\ndeno task/s.exec(readme)![1].replaceAll("\\", " ");
  const listed = new Set(aptLine.split(/\s+/).filter(Boolean));
  for (const t of LAB_TOOLS) {
    // dpkg, bash and coreutils are essential packages on every Debian system.
    if (["dpkg", "bash", "coreutils"].includes(t.debianPackage)) continue;
    assert.ok(listed.has(t.debianPackage), `README apt line lacks ${t.debianPackage}`);
  }
});
