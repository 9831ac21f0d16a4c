#!/usr/bin/env bash
# Regenerates vxlan_linux.pcap and its tshark oracle output
# (vxlan_linux.tshark.tsv): VXLAN as the Linux kernel sends it, over an IPv4
# and an IPv6 underlay, which the team kit's VXLAN sample (AWS mirroring,
# IPv4 only) does not cover. decode_oracle_test.ts compares every frame.
#
# Two network namespaces joined by a veth pair each get two VXLAN devices
# (VNI 42 over IPv4, VNI 4242 over IPv6); ping, a TCP connection refused
# with a reset, and a UDP datagram answered by ICMP port unreachable cross
# each, and tcpdump captures the veth. Every address is a documentation or
# unique-local prefix inside the namespaces made here; every generator is
# bounded by count and timeout. (Linux makes GRE, ipip and sit tunnels too,
# with the ip_gre/ipip/sit modules; this kernel has only vxlan built in, and
# the kit's samples cover those.)
#
# Usage (root): shared/testdata/make_tunnel_captures.sh [output-dir]
# NS_PREFIX names the namespaces (default ta_tun).
# Needs: apt-get install tcpdump tshark iproute2 iputils-ping
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE}" && pwd)
PREFIX=${NS_PREFIX:-ta_tun}
NS_A=${PREFIX}_a
NS_B=${PREFIX}_b
WORK=$(mktemp -d)
CAP_PID=""

for tool in tcpdump tshark ip ping timeout; do
  command -v "$tool" >/dev/null || {
    echo "make_tunnel_captures.sh: $tool is not installed" >&2
    exit 1
  }
done
[[ $(id -u) -eq 0 ]] || { echo "make_tunnel_captures.sh: run as root" >&2; exit 1; }

cleanup() {
  [[ -n "$CAP_PID" ]] && kill "$CAP_PID" 2>/dev/null || true
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# $1 namespace, $2 last octet (or group) of this side, $3 of the other side.
setup_side() {
  local ns=$1 me=$2 peer=$3
  in_ns "$ns" ip link set lo up
  in_ns "$ns" ip addr add "192.0.2.$me/24" dev veth0
  in_ns "$ns" ip addr add "2001:db8::$me/64" dev veth0 nodad
  in_ns "$ns" ip link set veth0 up
  in_ns "$ns" ip link add vx4 type vxlan id 42 local "192.0.2.$me" remote "192.0.2.$peer" \
    dstport 4789 dev veth0
  in_ns "$ns" ip link add vx6 type vxlan id 4242 local "2001:db8::$me" remote "2001:db8::$peer" \
    dstport 4789 dev veth0
  in_ns "$ns" ip addr add "198.51.100.$me/24" dev vx4
  in_ns "$ns" ip addr add "fd00:42::$me/64" dev vx4 nodad
  in_ns "$ns" ip addr add "203.0.113.$me/24" dev vx6
  in_ns "$ns" ip addr add "fd00:4242::$me/64" dev vx6 nodad
  in_ns "$ns" ip link set vx4 up
  in_ns "$ns" ip link set vx6 up
}

# One exchange of each kind across a tunnel to the peer at $1.
traffic() {
  local peer=$1
  in_ns "$NS_A" ping -c 2 -i 0.2 -W 1 "$peer" >/dev/null || true
  # A TCP SYN to a closed port, answered by a reset.
  in_ns "$NS_A" timeout 2 bash -c "echo > /dev/tcp/$peer/9" 2>/dev/null || true
  # A UDP datagram to a closed port, answered by ICMP port unreachable.
  in_ns "$NS_A" timeout 2 bash -c "echo probe > /dev/udp/$peer/53" 2>/dev/null || true
}

ip netns del "$NS_A" 2>/dev/null || true
ip netns del "$NS_B" 2>/dev/null || true
ip netns add "$NS_A"
ip netns add "$NS_B"
ip -n "$NS_A" link add veth0 type veth peer name veth0 netns "$NS_B"
setup_side "$NS_A" 1 2
setup_side "$NS_B" 2 1

in_ns "$NS_B" timeout 60 tcpdump -i veth0 -U -s 0 -w "$WORK/vxlan_linux.pcap" \
  'udp port 4789' 2>/dev/null &
CAP_PID=$!
sleep 1 # tcpdump opens the interface
for peer in 198.51.100.2 fd00:42::2 203.0.113.2 fd00:4242::2; do traffic "$peer"; done
sleep 1 # the last replies reach the capture
kill "$CAP_PID"
wait "$CAP_PID" 2>/dev/null || true
CAP_PID=""

# The oracle, as make_captures.sh writes it (the fields in tshark_fields.txt,
# the options in TSHARK_OPTIONS of shared/packet/_tshark_oracle.ts).
args=()
while read -r field; do args+=(-e "$field"); done <"$HERE/tshark_fields.txt"
cp "$WORK/vxlan_linux.pcap" "$OUT/vxlan_linux.pcap"
tshark -n -r "$OUT/vxlan_linux.pcap" -T fields -E header=y -E separator=/t -E occurrence=a \
  -E aggregator=, -o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
  -o ip.defragment:FALSE -o ipv6.defragment:FALSE "${args[@]}" \
  >"$OUT/vxlan_linux.tshark.tsv" 2>/dev/null
echo "wrote $OUT/vxlan_linux.pcap ($(tshark -r "$OUT/vxlan_linux.pcap" 2>/dev/null | wc -l) frames)"
