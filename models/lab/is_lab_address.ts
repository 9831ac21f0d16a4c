/**
 * Tells whether an address lies inside the lab ranges 10.77.0.0/24 or
 * fd77::/64. The lab checks every target against this before it runs a tool,
 * as a last guard against sending traffic anywhere else.
 *
 * @example
 * ```ts
 * isLabAddress("10.77.0.10"); // true
 * isLabAddress("10.0.0.1"); // false
 * ```
 */
export function isLabAddress(address: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) return false;
    return octets[0] === 10 && octets[1] === 77 && octets[2] === 0;
  }
  if (!address.includes(":")) return false;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return false;
  }
  const groups = expandIpv6(canonical);
  return groups !== null && groups[0] === 0xfd77 && groups[1] === 0 &&
    groups[2] === 0 && groups[3] === 0;
}

function expandIpv6(address: string): number[] | null {
  const [head, tail] = address.split("::");
  const parse = (s: string | undefined) => s ? s.split(":").map((g) => parseInt(g, 16)) : [];
  const h = parse(head);
  const t = parse(tail);
  if (address.includes(".")) return null;
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(fill).fill(0), ...t];
  return groups.length === 8 ? groups : null;
}
