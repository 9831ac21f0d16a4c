import assert from "node:assert/strict";
import { findTeamKit, readTeamKitCaptures } from "./team_kit.ts";

Deno.test("findTeamKit() refuses a TEAM_KIT_DIR that holds no kit", () => {
  const dir = Deno.makeTempDirSync();
  const before = Deno.env.get("TEAM_KIT_DIR");
  try {
    Deno.env.set("TEAM_KIT_DIR", dir);
    assert.throws(() => findTeamKit(), /holds no pcaps\/labels\.tsv/);
  } finally {
    if (before === undefined) Deno.env.delete("TEAM_KIT_DIR");
    else Deno.env.set("TEAM_KIT_DIR", before);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("readTeamKitCaptures() reads labels.tsv by column name", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/pcaps`);
    Deno.writeTextFileSync(
      `${dir}/pcaps/labels.tsv`,
      "file\tclass\tattack_kind\tattacker_ips\tnotes\n" +
        "b.pcap\tbenign\t-\t-\tquiet LAN\n" +
        "a.pcap\tattack\tportscan\t10.0.0.1,10.0.0.2\tscan\n",
    );
    const captures = readTeamKitCaptures(dir);
    assert.deepEqual(captures.map((c) => [c.file, c.class, c.attackKind, c.attackerIps]), [
      ["b.pcap", "benign", "-", []],
      ["a.pcap", "attack", "portscan", ["10.0.0.1", "10.0.0.2"]],
    ]);
    assert.equal(captures[1].path, `${dir}/pcaps/a.pcap`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
