/**
 * Finds the team kit: the read-only folder of public captures made by other
 * people's tools (`pcaps/` with `labels.tsv`, `ja4/` with the JA4 reference
 * outputs) that tests and training use as users' data.
 *
 * The kit lives beside the checkout (`../shared`) on a developer's machine,
 * but CI clones the project into a fresh temporary folder, where `../shared`
 * is something else or nothing. So the kit is looked up in order:
 * `TEAM_KIT_DIR`, the folder beside the checkout, then `/work/shared`.
 *
 * @module
 */

/** The folder names a team kit must hold to be recognised as one. */
const KIT_MARKER = "pcaps/labels.tsv";

function holdsKit(dir: string): boolean {
  try {
    return Deno.statSync(`${dir}/${KIT_MARKER}`).isFile;
  } catch {
    return false;
  }
}

/**
 * The absolute path of the team kit, or null when none is found. A set
 * `TEAM_KIT_DIR` that holds no kit is an error, not a fallback, so a typo
 * cannot silently skip the tests that need it.
 */
export function findTeamKit(): string | null {
  const fromEnv = Deno.env.get("TEAM_KIT_DIR");
  if (fromEnv) {
    if (!holdsKit(fromEnv)) {
      throw new Error(
        `TEAM_KIT_DIR is ${fromEnv}, which holds no ${KIT_MARKER}: point it at the team kit folder`,
      );
    }
    return fromEnv;
  }
  const besideCheckout = new URL("../../../shared", import.meta.url).pathname;
  for (const candidate of [besideCheckout, "/work/shared"]) {
    if (holdsKit(candidate)) return candidate;
  }
  return null;
}

/**
 * Why a test that reads the team kit cannot run here (`kit` is what
 * {@linkcode findTeamKit} found), or null when it can.
 */
export function teamKitSkipReason(kit: string | null): string | null {
  return kit === null ? "no team kit found (set TEAM_KIT_DIR to its folder)" : null;
}

/** One row of the kit's `pcaps/labels.tsv`. */
export interface TeamKitCapture {
  /** Absolute path of the capture file. */
  path: string;
  /** File name, as in labels.tsv. */
  file: string;
  /** `benign`, `attack` or `encap` (the first column after the file). */
  class: string;
  /** The kind of attack (`portscan`, `syn_flood`, …), or `-`. */
  attackKind: string;
  /** Known attacker addresses; empty when the file names none. */
  attackerIps: string[];
  /** The publisher's description. */
  notes: string;
}

/**
 * Reads the kit's `pcaps/labels.tsv`. The kit may change between sessions,
 * so callers select captures by their labels, never by a fixed list.
 */
export function readTeamKitCaptures(kitDir: string): TeamKitCapture[] {
  const text = Deno.readTextFileSync(`${kitDir}/pcaps/labels.tsv`);
  const [header, ...lines] = text.split("\n").filter((line) => line.trim() !== "");
  const columns = header.split("\t");
  const at = (name: string) => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`${kitDir}/pcaps/labels.tsv has no '${name}' column`);
    return index;
  };
  const [file, klass, kind, attackers, notes] = [
    at("file"),
    at("class"),
    at("attack_kind"),
    at("attacker_ips"),
    at("notes"),
  ];
  return lines.map((line) => {
    const cells = line.split("\t");
    const attackerText = cells[attackers] ?? "-";
    return {
      path: `${kitDir}/pcaps/${cells[file]}`,
      file: cells[file],
      class: cells[klass],
      attackKind: cells[kind] ?? "-",
      attackerIps: attackerText === "-" || attackerText === ""
        ? []
        : attackerText.split(/[,; ]+/).filter((ip) => ip !== ""),
      notes: cells[notes] ?? "",
    };
  });
}
