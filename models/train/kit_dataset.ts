/**
 * The team kit's public captures (`../shared/pcaps`, described by its
 * `labels.tsv`) as flows with labels: benign captures and the benign
 * background of attack captures are benign data from real networks; the
 * attack flows of attack captures are validation data the model never trains
 * on. Flows are built with {@linkcode flowsFromCapture}, as the aggregator
 * builds them.
 *
 * Which flows of an attack capture are the attack: those with a listed
 * attacker address at either end; when no attacker is listed but the notes
 * name a victim ("victim 10.10.10.10"), those to or from the victim; when
 * neither is known, every flow. The rest is background, benign only when
 * attackers are listed (a capture naming only a victim has no background the
 * labels vouch for).
 *
 * @module
 */

import { flowFeatureVector, type FlowRecord } from "@traffic-analyzer/shared/flow";
import { readTeamKitCaptures, type TeamKitCapture } from "@traffic-analyzer/shared/testing";
import { flowsFromCapture } from "./flows_from_capture.ts";

/**
 * The model's class for each in-scope `attack_kind` of `labels.tsv`. Kinds
 * not listed (malware C2, web attacks, ARP spoofing, other) are out of scope:
 * per-flow statistics and their context cannot see them (see the model card).
 */
export const KIT_KIND_CLASS: Readonly<Record<string, string>> = Object.freeze({
  portscan: "portscan",
  syn_flood: "syn_flood",
  udp_flood: "udp_flood",
  dns_amplification: "udp_flood",
  bruteforce: "bruteforce",
});

/** One row of the kit's `labels.tsv`, with the victims its notes name. */
export interface KitCaptureLabel extends TeamKitCapture {
  /** Victim addresses named in the notes ("victim A.B.C.D"). */
  victimIps: string[];
}

/** How a kit capture's flows are used. */
export type KitCaptureUse =
  /** Every flow is benign training data. */
  | "benign"
  /** Attack flows validate the model; the background, if any, is benign training data. */
  | "attack"
  /** Left out (an encapsulation sample whose notes say it is malware-related). */
  | "excluded";

/** One kit capture's flows, split by role. */
export interface KitCapture {
  /** Its `labels.tsv` row. */
  label: KitCaptureLabel;
  /** How it is used. */
  use: KitCaptureUse;
  /** Model class of its attack flows; null for benign captures and out-of-scope kinds. */
  attackClass: string | null;
  /** Frames read. */
  packets: number;
  /** Feature vectors of its benign flows (benign captures, and attack-capture background). */
  benign: Float32Array[];
  /** Feature vectors of its attack flows. */
  attack: Float32Array[];
  /** Flows that are neither (background of a capture that lists no attacker). */
  unlabelled: number;
}

/** Raised when the kit cannot be found or read. */
export class KitDatasetError extends Error {
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "KitDatasetError";
  }
}

/** How a capture is used, from its label row alone. */
export function kitCaptureUse(label: KitCaptureLabel): KitCaptureUse {
  if (label.class === "benign") return "benign";
  if (label.class === "attack") return "attack";
  // Encapsulation samples are ordinary traffic in a wrapper, unless the notes say otherwise.
  return /malware/i.test(label.notes) ? "excluded" : "benign";
}

/** Options for {@linkcode buildKitDataset}. */
export interface BuildKitDatasetOptions {
  /** Receives progress lines. @default {no output} */
  log?: (line: string) => void;
  /** Extract application-layer metadata from the packets (see `CaptureRecordsOptions.appMetadata`). @default {false} */
  appMetadata?: boolean;
  /**
   * Turns a final flow into its row (a feature study appends candidates).
   * @default {`flowFeatureVector(flow, flow.context)`}
   */
  featureVector?: (flow: FlowRecord) => Float32Array;
}

/**
 * Reads every capture the kit's `pcaps/labels.tsv` lists (`kitDir` holds
 * `pcaps/`, as `findTeamKit()` finds it), in file-name order, and splits its
 * final flows into benign and attack feature vectors.
 *
 * @throws {KitDatasetError} when the label file or a capture cannot be read.
 *
 * @example
 * ```ts
 * const kit = await buildKitDataset(findTeamKit()!);
 * kit.filter((c) => c.use === "benign").length;
 * ```
 */
export async function buildKitDataset(
  kitDir: string,
  options: BuildKitDatasetOptions = {},
): Promise<KitCapture[]> {
  let rows: TeamKitCapture[];
  try {
    rows = readTeamKitCaptures(kitDir);
  } catch (e) {
    throw new KitDatasetError(
      `Cannot read the kit's pcaps/labels.tsv in ${kitDir}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const labels: KitCaptureLabel[] = rows
    .map((r) => ({
      ...r,
      victimIps: [...r.notes.matchAll(/victim\s+(\d{1,3}(?:\.\d{1,3}){3})/gi)].map((m) => m[1]),
    }))
    .sort((a, b) => (a.file < b.file ? -1 : 1));
  const featureVector = options.featureVector ??
    ((flow: FlowRecord) => flowFeatureVector(flow, flow.context));
  const out: KitCapture[] = [];
  for (const label of labels) {
    const use = kitCaptureUse(label);
    const capture: KitCapture = {
      label,
      use,
      attackClass: use === "attack" ? KIT_KIND_CLASS[label.attackKind] ?? null : null,
      packets: 0,
      benign: [],
      attack: [],
      unlabelled: 0,
    };
    out.push(capture);
    if (use === "excluded") continue;
    let built;
    try {
      built = await flowsFromCapture(label.path, { appMetadata: options.appMetadata });
    } catch (e) {
      throw new KitDatasetError(`Cannot read kit capture ${label.file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    capture.packets = built.packets;
    const flows = [...built.flows].sort((a, b) =>
      a.first_seen - b.first_seen ||
      (a.flow_uid < b.flow_uid ? -1 : a.flow_uid > b.flow_uid ? 1 : 0)
    );
    const marked = new Set(label.attackerIps.length > 0 ? label.attackerIps : label.victimIps);
    for (const flow of flows) {
      const x = featureVector(flow);
      if (use === "benign") {
        capture.benign.push(x);
        continue;
      }
      const touches = marked.size === 0 ||
        (flow.orig_ip !== null && marked.has(flow.orig_ip)) ||
        (flow.resp_ip !== null && marked.has(flow.resp_ip));
      if (touches) capture.attack.push(x);
      else if (label.attackerIps.length > 0) capture.benign.push(x);
      else capture.unlabelled++;
    }
    options.log?.(
      `kit ${label.file}: ${capture.benign.length} benign, ${capture.attack.length} attack flows`,
    );
  }
  return out;
}

/** How a kit capture appears in the per-source table (see `evaluateSource`). */
export function kitSourceOf(
  capture: KitCapture,
): { source: string; kind: "benign" | "attack" | "encap"; attackKind: string; inScope: boolean } {
  const cls = capture.label.class;
  return {
    source: capture.label.file,
    kind: cls === "benign" || cls === "attack" ? cls : "encap",
    attackKind: capture.label.attackKind,
    inScope: capture.use !== "attack" || capture.attackClass !== null,
  };
}

/**
 * The truth of each flow of `benign` then `attack`: `benign`, the expected
 * class, or `attack` for an out-of-scope kind.
 */
export function kitTruths(capture: KitCapture): string[] {
  const attack = capture.attackClass ?? "attack";
  return [...capture.benign.map(() => "benign"), ...capture.attack.map(() => attack)];
}
