#!/usr/bin/env bash
# Regenerates the link-type fixtures and, beside each, tshark's oracle output
# (<name>.tshark.tsv) that decode_oracle_test.ts compares the decoders with:
#
#   nflog.pcap, nflog_size48.pcap   tcpdump -i nflog:5 in a network namespace
#                                    whose iptables/ip6tables OUTPUT chains
#                                    log every packet to NFLOG group 5
#                                    (ping, TCP, UDP over loopback, v4 and v6;
#                                    the second with --nflog-size 48, so the
#                                    kernel cuts the payload TLV short. A
#                                    tcpdump snap length is no substitute:
#                                    libpcap then loses and garbles messages)
#   wifi_80211.pcap, wifi_radiotap.pcap, pflog.pcap, ppp.pcap, ppp_hdlc.pcap,
#   c_hdlc.pcap                      built by link_fixtures.py with scapy
#
# Traffic stays on the namespace's loopback; every generator is bounded by
# count and timeout.
#
# Usage (root): shared/testdata/make_link_captures.sh [output-dir]
# Needs: apt-get install tcpdump tshark iproute2 iptables iputils-ping socat python3-scapy
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE}" && pwd)
NS=${NS_NAME:-ta_link_nflog}
WORK=$(mktemp -d)
CAP_PID=""
BG_PIDS=()

for tool in tcpdump tshark ip iptables ip6tables ping socat python3 timeout; do
  command -v "$tool" >/dev/null || {
    echo "make_link_captures.sh: $tool is not installed" >&2
    exit 1
  }
done
[[ $(id -u) -eq 0 ]] || { echo "make_link_captures.sh: run as root (network namespace)" >&2; exit 1; }

cleanup() {
  [[ -n "$CAP_PID" ]] && kill "$CAP_PID" 2>/dev/null || true
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }

setup_namespace() {
  ip netns del "$NS" 2>/dev/null || true
  ip netns add "$NS"
  in_ns ip link set lo up
  in_ns iptables -A OUTPUT -j NFLOG --nflog-group 5 --nflog-prefix fixture
  in_ns ip6tables -A OUTPUT -j NFLOG --nflog-group 5 --nflog-prefix fixture
  in_ns timeout 20 socat TCP4-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
  BG_PIDS+=($!)
  in_ns timeout 20 socat TCP6-LISTEN:8086,bind=[::1],fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
  BG_PIDS+=($!)
  in_ns timeout 20 socat -u UDP4-RECV:9999,bind=127.0.0.1 OPEN:/dev/null >/dev/null 2>&1 &
  BG_PIDS+=($!)
  sleep 0.5
}

# capture_nflog FILE [tcpdump args...]: loopback traffic as NFLOG group 5 logs it.
capture_nflog() {
  local file=$1
  shift
  in_ns timeout 30 tcpdump -n -i nflog:5 -U -w "$file" "$@" 2>"$file.log" &
  CAP_PID=$!
  for _ in $(seq 100); do
    grep -qs "listening on" "$file.log" && break
    sleep 0.05
  done
  in_ns ping -c 1 -W 1 127.0.0.1 >/dev/null
  in_ns ping -6 -c 1 -W 1 ::1 >/dev/null
  echo "hello over tcp" | in_ns timeout 5 socat -t 0.5 - TCP:127.0.0.1:8080 >/dev/null 2>&1 || true
  echo "hello over tcp6" | in_ns timeout 5 socat -t 0.5 - TCP:[::1]:8086 >/dev/null 2>&1 || true
  echo "refused" | in_ns timeout 5 socat -t 0.5 - TCP:127.0.0.1:8081 >/dev/null 2>&1 || true
  echo "hello over udp" | in_ns timeout 5 socat -u - UDP:127.0.0.1:9999 >/dev/null 2>&1 || true
  echo "closed port" | in_ns timeout 5 socat -u - UDP6:[::1]:9997 >/dev/null 2>&1 || true
  sleep 0.5
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=""
}

# Same as make_captures.sh's: keep the options in step with TSHARK_OPTIONS
# in shared/packet/_tshark_oracle.ts.
write_oracle() { # capture-file tsv-file
  local args=() field
  while read -r field; do args+=(-e "$field"); done <"$HERE/tshark_fields.txt"
  tshark -n -r "$1" -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, \
    -o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
    -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
    "${args[@]}" >"$2" 2>/dev/null
}

setup_namespace
capture_nflog "$WORK/nflog.pcap"
for table in iptables ip6tables; do
  in_ns "$table" -F OUTPUT
  in_ns "$table" -A OUTPUT -j NFLOG --nflog-group 5 --nflog-size 48
done
capture_nflog "$WORK/nflog_size48.pcap"
python3 "$HERE/link_fixtures.py" "$WORK"

for file in "$WORK"/*.pcap; do
  name=$(basename "$file")
  cp "$file" "$OUT/$name"
  write_oracle "$OUT/$name" "$OUT/${name%.*}.tshark.tsv"
  echo "$name: $(($(wc -l <"$OUT/${name%.*}.tshark.tsv") - 1)) frames, $(stat -c %s "$file") bytes"
done
