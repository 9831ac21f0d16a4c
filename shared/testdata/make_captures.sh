#!/usr/bin/env bash
# Regenerates the capture fixtures in this folder and, beside each, the
# tshark oracle output (<name>.tshark.tsv) that decode_oracle_test.ts checks
# the decoders against when tshark is not installed.
#
# The traffic is real and made here: two network namespaces joined by a veth
# pair, with ping, socat and the kernel's own ARP / neighbour discovery / MLD.
# Frames Linux will not generate on demand (VLAN tags without the 8021q
# module, IPv6 extension-header chains, malformed headers) are built by
# fixture_tool.py and injected onto the veth, then captured by tcpdump like
# the rest. Link types Linux cannot capture (BSD loopback, raw IP) and file
# layouts no tool here writes (big-endian pcap/pcapng, binary if_tsresol,
# several sections) are rewritten from those captures by fixture_tool.py.
#
# Every address is a documentation prefix (192.0.2.0/24, 2001:db8::/32) inside
# the namespaces made here; every generator is bounded by count and timeout.
#
# Usage (root): shared/testdata/make_captures.sh [output-dir]
# Needs: apt-get install tcpdump tshark iproute2 iputils-ping socat python3
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE}" && pwd)
TOOL="$HERE/fixture_tool.py"
WORK=$(mktemp -d)
NS_A=ta_fx_a
NS_B=ta_fx_b
IF_A=ta_fx0
IF_B=ta_fx1
V4A=192.0.2.1
V4B=192.0.2.2
V6A=2001:db8::1
V6B=2001:db8::2
CAP_PID=""
BG_PIDS=()

for tool in tcpdump tshark dumpcap ip ping socat python3 timeout; do
  command -v "$tool" >/dev/null || {
    echo "make_captures.sh: $tool is not installed" >&2
    exit 1
  }
done
[[ $(id -u) -eq 0 ]] || { echo "make_captures.sh: run as root (network namespaces)" >&2; exit 1; }

cleanup() {
  [[ -n "$CAP_PID" ]] && kill "$CAP_PID" 2>/dev/null || true
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  [[ -n "${KEEP_WORK:-}" ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

setup_namespaces() {
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B"
  in_a ip link set "$IF_A" address 02:00:00:00:00:01
  in_b ip link set "$IF_B" address 02:00:00:00:00:02
  in_a ip addr add "$V4A/24" dev "$IF_A"
  in_b ip addr add "$V4B/24" dev "$IF_B"
  in_a ip -6 addr add "$V6A/64" dev "$IF_A" nodad
  in_b ip -6 addr add "$V6B/64" dev "$IF_B" nodad
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" ip link set lo up
    # Keep captures quiet: no router solicitations or autoconfigured addresses.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
  done
  in_a sysctl -qw net.ipv6.conf."$IF_A".router_solicitations=0
  in_b sysctl -qw net.ipv6.conf."$IF_B".router_solicitations=0
  in_a ip link set "$IF_A" up
  in_b ip link set "$IF_B" up
  # Let link-local DAD and the initial MLD reports pass before capturing.
  sleep 2.5
}

# start_capture NS IFACE FILE [tcpdump args...]: tcpdump in the background,
# returning once it is listening.
start_capture() {
  local ns=$1 iface=$2 file=$3
  shift 3
  ip netns exec "$ns" timeout 60 tcpdump -n --immediate-mode -i "$iface" -U -w "$file" "$@" 2>"$file.log" &
  CAP_PID=$!
  for _ in $(seq 100); do
    grep -qs "listening on" "$file.log" && return 0
    sleep 0.05
  done
  echo "tcpdump did not start: $(cat "$file.log")" >&2
  exit 1
}

stop_capture() {
  sleep 0.5
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=""
}

# Background TCP echo server and UDP sink in namespace B, bounded by timeout.
start_servers() {
  in_b timeout 20 socat TCP4-LISTEN:8080,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
  BG_PIDS+=($!)
  in_b timeout 20 socat TCP6-LISTEN:8086,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
  BG_PIDS+=($!)
  in_b timeout 20 socat -u UDP4-RECV:9999 OPEN:/dev/null >/dev/null 2>&1 &
  BG_PIDS+=($!)
  in_b timeout 20 socat -u UDP6-RECV:9996 OPEN:/dev/null >/dev/null 2>&1 &
  BG_PIDS+=($!)
  sleep 0.5
}

tcp_exchange() { # ns host port message
  echo "$4" | ip netns exec "$1" timeout 5 socat -t 0.5 - "TCP:$2:$3" >/dev/null 2>&1 || true
}

udp_send() { # ns host port message
  echo "$4" | ip netns exec "$1" timeout 5 socat -u - "UDP:$2:$3" >/dev/null 2>&1 || true
}

capture_ipv4() {
  local f=$WORK/ipv4_tcp_udp_icmp.pcap
  in_a ip neigh flush dev "$IF_A"
  in_a sysctl -qw net.ipv4.tcp_ecn=1
  start_capture "$NS_B" "$IF_B" "$f"
  in_a ping -c 2 -i 0.2 -W 1 "$V4B" >/dev/null
  tcp_exchange "$NS_A" "$V4B" 8080 "hello over tcp"
  tcp_exchange "$NS_A" "$V4B" 8081 "refused: answered with RST"
  udp_send "$NS_A" "$V4B" 9999 "hello over udp"
  udp_send "$NS_A" "$V4B" 9998 "closed port: ICMP port unreachable"
  in_a ping -c 1 -t 3 -Q 0x28 -W 1 "$V4B" >/dev/null
  stop_capture
  in_a sysctl -qw net.ipv4.tcp_ecn=2
}

capture_ipv6() {
  local f=$WORK/ipv6_tcp_udp_icmpv6.pcap
  in_a ip -6 neigh flush dev "$IF_A"
  in_b ip -6 neigh flush dev "$IF_B"
  start_capture "$NS_B" "$IF_B" "$f"
  in_a ping -6 -c 2 -i 0.2 -W 1 "$V6B" >/dev/null
  tcp_exchange "$NS_A" "[$V6B]" 8086 "hello over tcp6"
  tcp_exchange "$NS_A" "[$V6B]" 8087 "refused"
  udp_send "$NS_A" "[$V6B]" 9996 "hello over udp6"
  udp_send "$NS_A" "[$V6B]" 9997 "closed port"
  # A new address: duplicate address detection (NS from ::) and an MLDv2
  # report, which carries a hop-by-hop router-alert extension header.
  in_b ip -6 addr add 2001:db8::22/64 dev "$IF_B"
  sleep 1.5
  in_a ping -6 -c 1 -W 1 fe80::ff:fe00:2%"$IF_A" >/dev/null 2>&1 || true
  stop_capture
}

capture_fragments() {
  local f=$WORK/fragments.pcap
  in_a ip link set "$IF_A" mtu 1280
  in_b ip link set "$IF_B" mtu 1280
  start_capture "$NS_B" "$IF_B" "$f"
  in_a ping -c 1 -s 2000 -W 1 "$V4B" >/dev/null
  in_a ping -6 -c 1 -s 2000 -W 1 "$V6B" >/dev/null
  head -c 1800 /dev/zero | tr '\0' 'u' | in_a timeout 5 socat -u - "UDP4:$V4B:9999" || true
  head -c 1800 /dev/zero | tr '\0' 'v' | in_a timeout 5 socat -u - "UDP6:[$V6B]:9996" || true
  stop_capture
  in_a ip link set "$IF_A" mtu 1500
  in_b ip link set "$IF_B" mtu 1500
}

capture_injected() { # name kind
  local f=$WORK/$1.pcap
  start_capture "$NS_B" "$IF_B" "$f"
  in_a python3 "$TOOL" inject "$IF_A" "$2"
  stop_capture
}

capture_snaplen() {
  local f=$WORK/snaplen60.pcap
  start_capture "$NS_B" "$IF_B" "$f" -s 60
  in_a ping -c 1 -W 1 "$V4B" >/dev/null
  in_a ping -6 -c 1 -W 1 "$V6B" >/dev/null
  tcp_exchange "$NS_A" "$V4B" 8080 "snap"
  tcp_exchange "$NS_A" "[$V6B]" 8086 "snap6"
  udp_send "$NS_A" "$V4B" 9999 "snapped udp payload that is longer than the snap length"
  stop_capture
}

capture_nanoseconds() {
  local f=$WORK/nanoseconds.pcap
  start_capture "$NS_B" "$IF_B" "$f" --time-stamp-precision=nano
  in_a ping -c 2 -i 0.2 -W 1 "$V4B" >/dev/null
  tcp_exchange "$NS_A" "$V4B" 8080 "nanoseconds"
  stop_capture
}

capture_cooked() { # name dlt
  local f=$WORK/$1.pcap
  start_capture "$NS_A" any "$f" -y "$2"
  in_a ping -c 1 -W 1 "$V4B" >/dev/null
  in_a ping -6 -c 1 -W 1 "$V6B" >/dev/null
  in_a ping -c 1 -W 1 127.0.0.1 >/dev/null
  in_a ping -6 -c 1 -W 1 ::1 >/dev/null
  tcp_exchange "$NS_A" "$V4B" 8080 "cooked"
  stop_capture
}

capture_pcapng() {
  local f=$WORK/dumpcap_multi.pcapng
  in_b timeout 60 dumpcap -q -i "$IF_B" -i lo -i any -w "$f" >"$f.log" 2>&1 &
  CAP_PID=$!
  for _ in $(seq 100); do
    grep -qsi "capturing on" "$f.log" && break
    sleep 0.05
  done
  sleep 1
  in_a ping -c 2 -i 0.2 -W 1 "$V4B" >/dev/null
  in_b ping -c 1 -W 1 127.0.0.1 >/dev/null
  tcp_exchange "$NS_A" "$V4B" 8080 "pcapng"
  stop_capture
}

# Derived files: the same traffic in link types and layouts Linux does not
# capture, so each reader and link-layer path meets a real tshark verdict.
derive_files() {
  local v4=$WORK/ipv4_tcp_udp_icmp.pcap v6=$WORK/ipv6_tcp_udp_icmpv6.pcap
  python3 "$TOOL" convert "$v4" "$WORK/null_le.pcap" null_le
  python3 "$TOOL" convert "$v6" "$WORK/null_be.pcap" null_be
  python3 "$TOOL" convert "$v6" "$WORK/loop_openbsd.pcap" loop
  python3 "$TOOL" convert "$v4" "$WORK/raw_ip.pcap" raw
  python3 "$TOOL" convert "$v6" "$WORK/raw_ip12.pcap" raw12
  python3 "$TOOL" convert "$v4" "$WORK/raw_ip14.pcap" raw14
  python3 "$TOOL" convert "$WORK/edge_cases.pcap" "$WORK/ipv4_only.pcap" ipv4
  python3 "$TOOL" convert "$WORK/edge_cases.pcap" "$WORK/ipv6_only.pcap" ipv6
  python3 "$TOOL" convert "$WORK/nanoseconds.pcap" "$WORK/big_endian_ns.pcap" swap
  python3 "$TOOL" convert "$WORK/vlan.pcap" "$WORK/big_endian_vlan.pcap" swap
  python3 "$TOOL" swap-pcapng "$WORK/dumpcap_multi.pcapng" "$WORK/big_endian_dumpcap.pcapng"
  python3 "$TOOL" features "$WORK/nanoseconds.pcap" "$WORK/linux_sll.pcap" \
    "$WORK/pcapng_features.pcapng"
}

# The oracle: every field the tests compare (tshark_fields.txt, shared with
# decode_oracle_test.ts), as tshark decodes it. Relative sequence numbers and
# reassembly are off so values are per packet. Keep these options in step
# with TSHARK_OPTIONS in shared/packet/_tshark_oracle.ts.
write_oracle() { # capture-file tsv-file
  local args=() field
  while read -r field; do args+=(-e "$field"); done <"$HERE/tshark_fields.txt"
  tshark -n -r "$1" -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, \
    -o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
    -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
    "${args[@]}" >"$2" 2>/dev/null
}

setup_namespaces
start_servers
capture_ipv4
capture_ipv6
capture_fragments
capture_injected vlan vlan
capture_injected edge_cases edge
capture_snaplen
capture_nanoseconds
capture_cooked linux_sll LINUX_SLL
capture_cooked linux_sll2 LINUX_SLL2
capture_pcapng
derive_files

for file in "$WORK"/*.pcap "$WORK"/*.pcapng; do
  name=$(basename "$file")
  cp "$file" "$OUT/$name"
  write_oracle "$OUT/$name" "$OUT/${name%.*}.tshark.tsv"
  echo "$name: $(($(wc -l <"$OUT/${name%.*}.tshark.tsv") - 1)) frames, $(stat -c %s "$file") bytes"
done
