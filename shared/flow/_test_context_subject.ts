/**
 * A {@linkcode ContextSubject} for the context tests: a TCP flow whose
 * originator sent a SYN and saw nothing else yet, unless `o` says otherwise.
 *
 * @module
 */
import type { ContextSubject } from "./context_features.ts";

/** A subject with the given uid, start, addresses and responder port, overridden by `o`. */
export function contextSubject(
  uid: string,
  t: number,
  orig: string,
  resp: string,
  port: number,
  o: Partial<ContextSubject> = {},
): ContextSubject {
  return {
    uid,
    first_seen: t,
    orig_ip: orig,
    resp_ip: resp,
    protocol: "TCP",
    resp_port: port,
    answered: false,
    rejected: false,
    syn: true,
    established: false,
    ...o,
  };
}
