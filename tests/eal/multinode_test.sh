#!/usr/bin/env bash
# Past one machine: two dtlsgate processes (node A, node B), each in its own network namespace
# on its own veth, both answering for the same address (as behind ECMP/anycast), sharing a
# cookie master secret. From a client namespace wired to both, crafted ClientHellos
# (tools/dtls_probe.py, raw frames) check, reading each node's counters over telemetry:
#   1. a cookie node A minted is accepted by node B (passed_verified on B);
#   2. the same cookie from another source port or address is refused (drop_bad_cookie);
#   3. a cookie one epoch old is accepted, one two epochs old is refused (--rotation 6);
#   4. SIGHUP with a new secret file: a cookie minted before the reload still verifies after;
#      the reloaded node mints under the new secret (node A, not yet reloaded, refuses those);
#   5. each node's verdicts add up to its rx_packets at exit.
# Clock skew below one rotation is specified in tests/unit/clock_skew_test.cc (explicit clocks).
#   multinode_test.sh DTLSGATE        (needs root; exit 77 = skipped, with the reason)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DG_TOOLS=$(cd "$here/../../tools" && pwd)
dtlsgate=$(realpath "$1")
source "$DG_TOOLS/netns-lib.sh"

# Each node moves to a new epoch in its once-a-second control loop: up to 1 s after the
# boundary. The waits below allow for that lag on both nodes.
# 6 s, not less: each probe is a Python process (~1 s). With 4 s, on a loaded machine (a build
# on the other core; the test took 58 s instead of ~21) section 2 outlasted the cookie it
# replayed, and section 4 has to mint, reload and verify within one rotation.
rotation=6
prefix_a=dgmna$$
prefix_b=dgmnb$$
ns_a=dgmn$$-a
ns_b=dgmn$$-b
ns_c=dgmn$$-c
if_a=dgma$$    # node A's end
if_ca=dgmca$$  # client's end towards A
if_b=dgmb$$
if_cb=dgmcb$$
vip=10.79.0.2  # the address both nodes answer for
dg_test_begin "$prefix_a $prefix_b"

for ns in "$ns_a" "$ns_b" "$ns_c"; do
  ip netns add "$ns" && DG_NETNS+=("$ns")
  ip -n "$ns" link set lo up
done
ip link add "$if_a" netns "$ns_a" type veth peer name "$if_ca" netns "$ns_c"
ip link add "$if_b" netns "$ns_b" type veth peer name "$if_cb" netns "$ns_c"
for pair in "$ns_a:$if_a" "$ns_b:$if_b" "$ns_c:$if_ca" "$ns_c:$if_cb"; do
  ns=${pair%%:*}
  dev=${pair#*:}
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
  ip -n "$ns" link set "$dev" up
done
mac_of() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
mac_a=$(mac_of "$ns_a" "$if_a")
mac_b=$(mac_of "$ns_b" "$if_b")

# Each node reads its own copy of the shared secret, so a SIGHUP reloads one node at a time.
secret1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
secret2=f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100
echo "$secret1" >"$work/secret-a"
echo "$secret1" >"$work/secret-b"

start_node() {  # VAR NS IFACE PREFIX SECRET NAME
  # shellcheck disable=SC2086
  dg_spawn "$1" ip netns exec "$2" timeout 120 "$dtlsgate" -l 0-1 --no-huge -m 256 --no-pci \
    --no-shconf --file-prefix "$4" --vdev "net_af_packet0,iface=$3,qpairs=2" -- --addr "$vip" \
    --secret-file "$5" --rotation "$rotation" --stats-interval 0 \
    --summary-json "$work/summary-$6.json" >"$work/dtlsgate-$6.log" 2>&1
}
start_node pid_a "$ns_a" "$if_a" "$prefix_a" "$work/secret-a" a
start_node pid_b "$ns_b" "$if_b" "$prefix_b" "$work/secret-b" b
for p in "$prefix_a" "$prefix_b"; do
  if ! dg_wait_ready "$p"; then
    echo "FAIL: dtlsgate ($p) did not come up"
    cat "$work"/dtlsgate-*.log
    exit 1
  fi
done

probe_once() {  # via(a|b) src-ip sport random [cookie]
  local iface=$if_ca mac=$mac_a
  [ "$1" = b ] && iface=$if_cb mac=$mac_b
  ip netns exec "$ns_c" timeout 5 /usr/bin/python3 "$DG_TOOLS/dtls_probe.py" --iface "$iface" \
    --dst-mac "$mac" --src "$2" --dst "$vip" --sport "$3" --random "$4" ${5:+--cookie "$5"}
}
# A frame on these veths is now and then lost before dtlsgate's af_packet ring sees it (about
# one in fifty here, with two busy-polling processes on two cores): ClientHello #1 is retried
# until an HVR comes back, as a real client retransmits (at most 3 tries).
probe() {
  local out i
  for i in 1 2 3; do
    out=$(probe_once "$@")
    [ "$out" != none ] && break
  done
  echo "$out"
}
random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
# Waits until the node's counter NAME exceeds BEFORE (at most ~2 s): replies are asynchronous.
grew() {  # PREFIX NAME BEFORE
  local i
  for i in $(seq 1 20); do
    [ "$(dg_counter "$1" "$2")" -gt "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
# Sends a cookie-bearing hello until the node's counter NAME grows (at most 3 tries; a resent
# identical hello is what a retransmitting client does).
send_until_grows() {  # PREFIX NAME via src sport random cookie
  local p=$1 name=$2 before i
  shift 2
  before=$(dg_counter "$p" "$name")
  for i in 1 2 3; do
    probe_once "$@" >/dev/null
    grew "$p" "$name" "$before" && return 0
  done
  return 1
}
unchanged_after_a_moment() {  # PREFIX NAME BEFORE
  sleep 0.5
  [ "$(dg_counter "$1" "$2")" -eq "$3" ]
}
client=10.79.0.1

# 1. Cross-node: minted by A, verified by B. Each try takes a fresh cookie from A: with a
#    build starving both cores, a retried send of one cookie reached B two epochs after A
#    minted it (refused as expired, twice, in 1 of 15 full runs).
cross_node_accepted() {
  local i r c before
  for i in 1 2 3; do
    r=$(random_hex)
    c=$(probe a "$client" 40001 "$r")
    [ "${#c}" -eq 34 ] || continue
    before=$(dg_counter "$prefix_b" passed_verified)
    probe_once b "$client" 40001 "$r" "$c" >/dev/null
    grew "$prefix_b" passed_verified "$before" && return 0
  done
  return 1
}
r=$(random_hex)
cookie=$(probe a "$client" 40001 "$r")
check "node A answers ClientHello #1 with an HVR cookie ($cookie)" test "${#cookie}" -eq 34
check "node B accepts node A's cookie (passed_verified on B)" cross_node_accepted

# 2. Replays from another port or address: refused, by either node. Each replays a cookie
#    minted just before it, so that it is refused as bad, never as expired.
for who in "b $client 40002" "a $client 40002" "b 10.79.0.9 40001"; do
  read -r node src port <<<"$who"
  r=$(random_hex)
  cookie=$(probe a "$client" 40001 "$r")
  p=$prefix_a
  [ "$node" = b ] && p=$prefix_b
  v=$(dg_counter "$p" passed_verified)
  check "replay to node $node from $src:$port is drop_bad_cookie" \
    send_until_grows "$p" drop_bad_cookie "$node" "$src" "$port" "$r" "$cookie"
  check "replay to node $node from $src:$port is not passed" unchanged_after_a_moment "$p" passed_verified "$v"
done

# 3. Epochs: one epoch old verifies, two epochs old does not (by either count).
r2=$(random_hex)
c2=$(probe a "$client" 40012 "$r2")
r1=$(random_hex)
c1=$(probe a "$client" 40011 "$r1")
sleep 1.5  # mint-to-verify stays under rotation - 1 s: at most one epoch later on any node
check "a cookie at most one epoch old is accepted by node B" \
  send_until_grows "$prefix_b" passed_verified b "$client" 40011 "$r1" "$c1"
sleep $((2 * rotation))  # now at least two epochs (plus the 1 s lag) after c2 was minted
v_b=$(dg_counter "$prefix_b" passed_verified)
check "a cookie two epochs old is refused by node B (drop_expired_cookie)" \
  send_until_grows "$prefix_b" drop_expired_cookie b "$client" 40012 "$r2" "$c2"
check "a cookie two epochs old is not passed" test "$(dg_counter "$prefix_b" passed_verified)" -eq "$v_b"

# 4. SIGHUP with a new secret: the old master's key stays valid until the next epoch change,
#    so mint, reload and verify within one epoch (start just after a boundary).
while [ $(($(date +%s) % rotation)) -ne 0 ]; do sleep 0.1; done
r3=$(random_hex)
c3=$(probe b "$client" 40021 "$r3")
echo "$secret2" >"$work/secret-b"
kill -HUP "$pid_b"
sleep 0.3
check "node B still accepts a cookie it minted before SIGHUP" \
  send_until_grows "$prefix_b" passed_verified b "$client" 40021 "$r3" "$c3"
r4=$(random_hex)
c4=$(probe b "$client" 40022 "$r4")
check "node B mints a cookie after SIGHUP" test "${#c4}" -eq 34
check "node A (old secret) refuses node B's new-secret cookie: the reload took effect" \
  send_until_grows "$prefix_a" drop_bad_cookie a "$client" 40022 "$r4" "$c4"

for pid in "$pid_a" "$pid_b"; do kill -INT "$pid"; done
wait "$pid_a"
rc_a=$?
wait "$pid_b"
rc_b=$?
check "node A exits 0" test "$rc_a" -eq 0
check "node B exits 0" test "$rc_b" -eq 0
grep -h SIGHUP "$work"/dtlsgate-b.log
for n in a b; do
  /usr/bin/python3 - "$work/summary-$n.json" "$n" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))
verdicts = [k for k in s if k.startswith(("drop_", "passed_")) or k in ("hvr_sent", "arp_replied", "nd_replied")]
ok = sum(s[k] for k in verdicts) == s["rx_packets"]
print(("ok: " if ok else "FAIL: ") + f"node {sys.argv[2]}: verdicts add up to rx_packets ({s['rx_packets']})")
sys.exit(0 if ok else 1)
PY
done
if [ "$failed" -ne 0 ]; then
  for n in a b; do
    echo "node $n (non-zero counters):"
    /usr/bin/python3 -c 'import json,sys; print({k: v for k, v in json.load(open(sys.argv[1])).items() if v})' \
      "$work/summary-$n.json"
  done
fi
[ "$failed" -eq 0 ] && echo "multinode test passed"
exit "$failed"
