#!/usr/bin/env bash
# End to end on net_tap, the one virtual device here that offers checksum offload both ways:
# its RX side checks IPv4 header and UDP sums and marks the mbufs GOOD (the worker then skips
# them), its TX side computes the sums of a frame marked RTE_MBUF_F_TX_IP_CKSUM /
# RTE_MBUF_F_TX_UDP_CKSUM from l2_len and l3_len (the worker marks its HVRs so and lib leaves
# their sums out). A mark or an offset wrong there is an HVR with a bad sum, which the kernel
# drops: the client never gets its cookie. net_tap also wants as many RX as TX queues, and
# the kernel spreads flows over all of them.
# dtlsgate runs in a network namespace of its own, where it creates the tap; the kernel end of
# the tap gets the client addresses and real clients (openssl s_client, gnutls-cli, IPv4 and
# IPv6) talk to dtlsgate through it: each must get an HVR, complete its handshake and get its
# line echoed. Then the summary must account for every frame, with no reply or datagram lost.
#   tap_offload_test.sh DTLSGATE       (needs root and /dev/net/tun; exit 77 = skipped)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DG_TOOLS=$(cd "$here/../../tools" && pwd)
dtlsgate=$(realpath "$1")
# shellcheck source=../../tools/netns-lib.sh
source "$DG_TOOLS/netns-lib.sh"

prefix=dgtap$$
dg_test_begin "$prefix" openssl gnutls-cli
[ -c /dev/net/tun ] || { echo "SKIP: needs /dev/net/tun (net_tap)"; exit 77; }

dg_test_cert dtlsgate

# One namespace: dtlsgate's tap appears where it runs, and the clients use its kernel end
# (dg_echo_client runs them in $DG_CLI).
DG_CLI=${prefix}-ns
ip netns add "$DG_CLI" && DG_NETNS+=("$DG_CLI")
ip -n "$DG_CLI" link set lo up
tap=dgt$$
srv4=10.78.0.2 cli4=10.78.0.1 srv6=fd78::2 cli6=fd78::1

dtlsgate_pid=  # set by dg_spawn
dg_spawn dtlsgate_pid ip netns exec "$DG_CLI" timeout 120 "$dtlsgate" -l 0-1 --no-huge -m 512 \
  --no-pci --file-prefix "$prefix" --vdev "net_tap0,iface=$tap" -- --addr "$srv4" --addr "$srv6" \
  --cert "$work/cert.pem" --key "$work/key.pem" --summary-json "$work/summary.json" \
  >"$work/dtlsgate.log" 2>&1
if ! dg_wait_ready "$prefix"; then
  echo "FAIL: dtlsgate did not come up"
  cat "$work/dtlsgate.log"
  exit 1
fi
ip -n "$DG_CLI" addr add "$cli4/24" dev "$tap"
ip -n "$DG_CLI" addr add "$cli6/64" dev "$tap" nodad
ip -n "$DG_CLI" link set "$tap" up
config=$("$DG_TOOLS/dtlsgate-stats" --file-prefix "$prefix" /dtlsgate/config)
echo "telemetry /dtlsgate/config: $config"
offloads=$(/usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["/dtlsgate/config"]; print(c["rx_checksum_offload"], c["tx_checksum_offload"])' \
  <<<"$config" 2>/dev/null)
check "telemetry: the tap checks and computes checksums ([1] [1])" test "$offloads" = "[1] [1]"

clients_ran=0
run_client() {  # DESCRIPTION COMMAND...: 10 s at most; an HVR, a handshake and the echo
  local what=$1
  shift
  local line="dtlsgate-tap-$clients_ran-$RANDOM$RANDOM"
  local hvr_before done_before hvr_after done_after
  hvr_before=$(dg_counter "$prefix" hvr_sent) || exit 1
  done_before=$(dg_counter "$prefix" handshakes_completed) || exit 1
  dg_echo_client 10 "$line" "$@" >"$work/client.log"
  clients_ran=$((clients_ran + 1))
  hvr_after=$(dg_counter "$prefix" hvr_sent) || exit 1
  done_after=$(dg_counter "$prefix" handshakes_completed) || exit 1
  echo "$what: $((hvr_after - hvr_before)) HVR sent, $((done_after - done_before)) handshake(s)"
  check "$what got an HVR" test "$((hvr_after - hvr_before))" -ge 1
  check "$what completed one handshake through dtlsgate" test "$((done_after - done_before))" -eq 1
  if grep -qF "$line" "$work/client.log"; then
    echo "ok: $what got its line echoed back"
  else
    echo "FAIL: $what got no echo of '$line'; its output:"
    sed 's/^/    /' "$work/client.log" | tail -15
    failed=1
  fi
}

run_client "openssl s_client -dtls1_2 (IPv4)" \
  openssl s_client -dtls1_2 -quiet -no_ign_eof -connect "$srv4:4433"
run_client "openssl s_client -dtls1_2 (IPv6)" \
  openssl s_client -dtls1_2 -quiet -no_ign_eof -connect "[$srv6]:4433"
run_client "gnutls-cli --udp (IPv4)" gnutls-cli --udp --insecure -p 4433 "$srv4"
run_client "gnutls-cli --udp (IPv6)" gnutls-cli --udp --insecure -p 4433 "$srv6"

kill -INT "$dtlsgate_pid"
wait "$dtlsgate_pid"
rc=$?
cat "$work/dtlsgate.log"
check "dtlsgate exits 0 on SIGINT" test "$rc" -eq 0
# (Read once dtlsgate is gone: its log is written through a buffer.)
port_line=$(grep -m1 'port 0 (net_tap)' "$work/dtlsgate.log")
check "net_tap came up with as many RX as TX queues" grep -qE '([0-9]+) RX / \1 TX queues' <<<"$port_line"
check "RX checksum offload on" grep -qF "RX checksum offload on" <<<"$port_line"
check "TX checksum offload on" grep -qF "TX checksum offload on" <<<"$port_line"
check "summary JSON written" test -s "$work/summary.json"
if [ -s "$work/summary.json" ]; then
  /usr/bin/python3 - "$work/summary.json" "$clients_ran" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))
clients = int(sys.argv[2])
verdicts = [k for k in s if k.startswith(("drop_", "passed_")) or k in ("hvr_sent", "arp_replied", "nd_replied")]
checks = {
    "verdicts add up to rx_packets": sum(s[k] for k in verdicts) == s["rx_packets"],
    "no frame dropped for a checksum": s["drop_bad_ip_header"] == 0 and s["drop_bad_udp_checksum"] == 0,
    "ARP and neighbour solicitations answered": s["arp_replied"] >= 1 and s["nd_replied"] >= 1,
    f"handshakes_completed == {clients} clients": s["handshakes_completed"] == clients,
    "no handshake failed or timed out": s["handshakes_failed"] == 0 and s["handshakes_timed_out"] == 0,
    "every reply sent (none refused by tx_prepare or a full queue)":
        s["tx_dropped"] == 0 and s["tx_packets"] == s["hvr_sent"] + s["arp_replied"] + s["nd_replied"],
    "slow path sent every datagram": s["slow_tx_packets"] == s["datagrams_out"] and s["slow_tx_dropped"] == 0,
    "both RX queues of the tap counted, adding up to rx_packets":
        len(s["queues"]) == 2 and sum(q["rx_packets"] for q in s["queues"]) == s["rx_packets"],
}
for what, ok in checks.items():
    print(("ok: " if ok else "FAIL: ") + what)
sys.exit(0 if all(checks.values()) else 1)
PY
fi
[ "$failed" -eq 0 ] && echo "tap offload test passed"
exit "$failed"
