/**
 * Shallow sizes of a V8 heap snapshot by constructor (DevTools' Summary view,
 * without retained sizes), and with two snapshots what grew between them: a
 * constructor whose count and size keep growing at a steady load is a leak.
 *
 * ```sh
 * deno run --allow-read bench/heap_snapshot_summary.ts before.heapsnapshot [after.heapsnapshot]
 * ```
 *
 * @module
 */

interface Group {
  count: number;
  bytes: number;
}

/** Count and shallow bytes per constructor (objects) or per kind (strings, arrays, code…). */
export function summarize(snapshot: {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}): Map<string, Group> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const groups = new Map<string, Group>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const key = type === "object" || type === "closure"
      ? `${strings[nodes[i + nameAt]]}${type === "closure" ? " (closure)" : ""}`
      : type === "native"
      ? `(native) ${strings[nodes[i + nameAt]].slice(0, 40)}`
      : `(${type})`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, group = { count: 0, bytes: 0 });
    group.count++;
    group.bytes += nodes[i + sizeAt];
  }
  return groups;
}

async function read(path: string) {
  return summarize(JSON.parse(await Deno.readTextFile(path)));
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1).padStart(8);

if (import.meta.main) {
  const [first, second] = Deno.args;
  const before = await read(first);
  const total = (g: Map<string, Group>) => [...g.values()].reduce((s, x) => s + x.bytes, 0);
  if (second === undefined) {
    console.log(`total ${mb(total(before))} MB`);
    for (const [name, g] of [...before].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 30)) {
      console.log(`${mb(g.bytes)} MB ${String(g.count).padStart(9)}  ${name}`);
    }
  } else {
    const after = await read(second);
    console.log(`total ${mb(total(before))} MB -> ${mb(total(after))} MB`);
    const names = new Set([...before.keys(), ...after.keys()]);
    const rows = [...names].map((name) => {
      const b = before.get(name) ?? { count: 0, bytes: 0 };
      const a = after.get(name) ?? { count: 0, bytes: 0 };
      return { name, b, a, delta: a.bytes - b.bytes };
    }).sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta)).slice(0, 30);
    console.log("  before MB    after MB  delta MB   count before -> after  constructor");
    for (const r of rows) {
      console.log(
        `${mb(r.b.bytes)}    ${mb(r.a.bytes)}  ${mb(r.delta)}  ${
          String(r.b.count).padStart(9)
        } -> ${String(r.a.count).padEnd(9)} ${r.name}`,
      );
    }
  }
}
