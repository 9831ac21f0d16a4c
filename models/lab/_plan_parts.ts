import type { LabHost } from "./lab_network.ts";
import type { PlannedCommand } from "./scenario_plan.ts";

/** A planned command; `cwd` only when given, so plans compare equal. */
export function cmd(
  argv: string[],
  timeoutMs: number,
  pauseAfterMs = 0,
  cwd?: string,
): PlannedCommand {
  return cwd === undefined
    ? { argv, timeoutMs, pauseAfterMs }
    : { argv, timeoutMs, pauseAfterMs, cwd };
}

/** Both addresses of a host. */
export function hostAddresses(h: LabHost): string[] {
  return [h.ipv4, h.ipv6];
}

/** An address as it goes into a URL host. */
export function bracket(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** Twice the nominal send time plus a margin, so a slow machine still finishes but a hang does not last. */
export function floodTimeoutMs(count: number, intervalUs: number): number {
  return Math.ceil((count * intervalUs) / 1000) * 2 + 10_000;
}

/** ssh options of every lab client: the per-run key, no prompts, no host-key store. */
export function sshClientArgs(keyPath: string): string[] {
  return [
    "ssh",
    "-i",
    keyPath,
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR",
  ];
}

/** Service ports of the lab server. */
export const PORTS = Object.freeze({
  ftp: 21,
  ssh: 22,
  dns: 53,
  http: 80,
  ntp: 123,
  httpAlt: 8000,
  https: 8443,
  iperf: 5201,
});

/** The lab's DNS zone. */
export const DNS_ZONE = "lab.test";

/** Words that password lists are made of. */
export const WORD_STEMS: readonly string[] = Object.freeze([
  "password",
  "letmein",
  "admin",
  "qwerty",
  "dragon",
  "monkey",
  "sunshine",
  "welcome",
  "shadow",
  "master",
]);
