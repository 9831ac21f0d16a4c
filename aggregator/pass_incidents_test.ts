import assert from "node:assert/strict";
import { embeddedPglite, type FlowUpsert, type Sql } from "@traffic-analyzer/shared/db";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { PassIncidents } from "./pass_incidents.ts";

const db = await openTestDatabase();

/** What `PassIncidents` reads of a scored flow. */
type Scored = Pick<
  FlowUpsert,
  | "flow_uid"
  | "label"
  | "score"
  | "orig_ip"
  | "resp_ip"
  | "resp_port"
  | "first_seen"
  | "last_seen"
>;

/**
 * Flow `i` of a scan from 10.0.0.(1 + i % 3) over many ports of 10.0.1.1,
 * benign every seventh, scored under the minimum every fifth.
 */
function flow(i: number): Scored {
  return {
    flow_uid: `C${String(i).padStart(6, "0")}`,
    label: i % 7 === 0 ? "benign" : i % 2 === 0 ? "portscan" : "syn_flood",
    score: i % 7 === 0 ? 0.0625 : i % 5 === 0 ? 0.25 : 0.875,
    orig_ip: `10.0.0.${1 + (i % 3)}`,
    resp_ip: "10.0.1.1",
    resp_port: 1000 + i,
    first_seen: 1_764_000_000 + i,
    last_seen: 1_764_000_000 + i + 0.5,
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => flow(from + k));

/** A batch of scored flows: a flag says new to `traffic_data` (false) or maybe stored (true). */
type Step = [Scored[], boolean] | "copyUndone";

/**
 * The incidents and members `steps` make, recorded in a transaction that is
 * rolled back; members by their incident's key, not its id (the sequence is
 * not rolled back).
 */
async function recorded(steps: Step[], storedBefore: Set<string> | null): Promise<string[]> {
  const incidents = new PassIncidents({
    benignLabel: "benign",
    minScore: 0.5,
    windowSec: 900,
    storedBefore,
    // On PGlite the new members go in by its own COPY, as in a pass.
    pglite: embeddedPglite(db.sql),
  });
  for (const step of steps) {
    if (step === "copyUndone") incidents.copyUndone();
    else incidents.add(step[0] as FlowUpsert[], step[1]);
  }
  let rows: string[] = [];
  await db.sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    await incidents.record(tx);
    rows = (await tx<{ row: string }[]>`
      select concat_ws(' ', i.label, i.key_kind, host(i.key_ip), i.flow_count, i.port_count,
        i.target_count, i.source_count, i.first_seen, i.last_seen, i.max_score,
        (select string_agg(f.flow_uid, ',' order by f.flow_uid)
          from incident_flows f where f.incident_id = i.id)) as row
      from incidents i order by 1`).map((r) => r.row);
    throw new RollBack();
  }).catch((error) => {
    if (!(error instanceof RollBack)) throw error;
  });
  return rows;
}

class RollBack extends Error {}

/** The same steps, every flow through the uid maps (a flow said maybe stored first). */
const mapped = (steps: Step[]): Step[] => [[[], true], ...steps];

Deno.test("new flows kept in order without the uid maps record what the maps record", async () => {
  const steps: Step[] = [
    [range(0, 40), false],
    [range(40, 90), false],
    [range(90, 120), true],
  ];
  const fast = await recorded(steps, new Set(range(90, 120).map((f) => f.flow_uid)));
  assert.ok(fast.length >= 2, `incidents opened: ${fast.length}`);
  assert.deepEqual(
    fast,
    await recorded(mapped(steps), new Set(range(90, 120).map((f) => f.flow_uid))),
  );
});

Deno.test("a COPY undone: its flows coming again as maybe stored replace what they left", async () => {
  // As the writer does: the new flows, the COPY undone, then all of them
  // again (now to be upserted), then the flows that were maybe stored anyway.
  const steps: Step[] = [
    [range(0, 60), false],
    "copyUndone",
    [range(0, 60), true],
    [range(60, 80), true],
  ];
  const fast = await recorded(steps, null);
  assert.ok(fast.length >= 2, `incidents opened: ${fast.length}`);
  assert.deepEqual(fast, await recorded(mapped(steps), null));
  // Undone with nothing new kept, and new flows after maybe-stored ones.
  const late: Step[] = [[range(0, 30), true], [range(30, 70), false], "copyUndone"];
  assert.deepEqual(await recorded(late, null), await recorded(mapped(late), null));
});
