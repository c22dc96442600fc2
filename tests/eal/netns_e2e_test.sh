#!/usr/bin/env bash
# End to end: dtlsgate on one end of a veth (net_af_packet, --no-huge) in its own network
# namespace; real kernel clients in another. Every client below must get an HVR from the fast
# path, complete its DTLS handshake with the slow path (OpenSSL behind the cookie check) and
# get a line it sends echoed back, over IPv4 and IPv6:
#   openssl s_client -dtls1_2, openssl s_client -dtls1 (OpenSSL 3 needs SECLEVEL=0 on both
#   ends for DTLS 1.0), openssl s_client -mtu 500 (a small MTU: the server flight is split
#   into more datagrams), gnutls-cli --udp, and libcoap's coap-client (OpenSSL and GnuTLS
#   builds, coaps://) when installed: those count a completed handshake (a CoAP client does
#   not take its own request echoed back as an answer).
# Then dtlsgate stops on SIGINT; its summary JSON must show handshakes_completed equal to the
# clients that ran and ssl_objects_created equal to the distinct verified clients (each client
# is a new 5-tuple), verdicts adding up to rx_packets, and nothing dropped on the way.
#   netns_e2e_test.sh DTLSGATE        (needs root; exit 77 = skipped, with the reason)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DG_TOOLS=$(cd "$here/../../tools" && pwd)
dtlsgate=$(realpath "$1")
source "$DG_TOOLS/netns-lib.sh"

prefix=dge2e$$
dg_test_begin "$prefix" openssl gnutls-cli

dg_test_cert dtlsgate

dg_netns_up "$prefix"
# shellcheck disable=SC2046
dg_spawn dtlsgate_pid ip netns exec "$DG_SRV" timeout 170 "$dtlsgate" $(dg_eal_args "$prefix") \
  --no-shconf -- --addr "$DG_SRV_IP4" --addr "$DG_SRV_IP6" --cert "$work/cert.pem" \
  --key "$work/key.pem" --ciphers 'DEFAULT:@SECLEVEL=0' --summary-json "$work/summary.json" \
  >"$work/dtlsgate.log" 2>&1
if ! dg_wait_ready "$prefix"; then
  echo "FAIL: dtlsgate did not come up"
  cat "$work/dtlsgate.log"
  exit 1
fi

clients_ran=0
# run_client DESCRIPTION ECHO(yes|no) COMMAND...: inside the client namespace, bounded in time
# (5 s). Feeds one line on stdin, again each second until it comes back (dg_echo_client).
run_client() {
  local what=$1 want_echo=$2
  shift 2
  local line="dtlsgate-echo-$clients_ran-$RANDOM$RANDOM"
  local hvr_before done_before
  hvr_before=$(dg_counter "$prefix" hvr_sent) || exit 1
  done_before=$(dg_counter "$prefix" handshakes_completed) || exit 1
  dg_echo_client 5 "$line" "$@" >"$work/client.log"
  clients_ran=$((clients_ran + 1))
  local hvr_after done_after
  hvr_after=$(dg_counter "$prefix" hvr_sent) || exit 1
  done_after=$(dg_counter "$prefix" handshakes_completed) || exit 1
  local hvr=$((hvr_after - hvr_before))
  local completed=$((done_after - done_before))
  echo "$what: $hvr HVR sent, $completed handshake(s) completed"
  check "$what got an HVR" test "$hvr" -ge 1
  check "$what completed one handshake through dtlsgate" test "$completed" -eq 1
  if [ "$want_echo" = yes ]; then
    if grep -qF "$line" "$work/client.log"; then
      echo "ok: $what got its line echoed back"
    else
      echo "FAIL: $what got no echo of '$line'; its output:"
      sed 's/^/    /' "$work/client.log" | tail -15
      failed=1
    fi
  fi
}

for family in 4 6; do
  if [ "$family" = 4 ]; then ip=$DG_SRV_IP4; hostport=$DG_SRV_IP4:4433; else ip=$DG_SRV_IP6; hostport="[$DG_SRV_IP6]:4433"; fi
  run_client "openssl s_client -dtls1_2 (IPv$family)" yes \
    openssl s_client -dtls1_2 -quiet -no_ign_eof -connect "$hostport"
  run_client "openssl s_client -dtls1 (IPv$family)" yes \
    openssl s_client -dtls1 -cipher 'DEFAULT:@SECLEVEL=0' -quiet -no_ign_eof -connect "$hostport"
  run_client "openssl s_client -dtls1_2 -mtu 500 (IPv$family)" yes \
    openssl s_client -dtls1_2 -mtu 500 -quiet -no_ign_eof -connect "$hostport"
  run_client "gnutls-cli --udp (IPv$family)" yes gnutls-cli --udp --insecure -p 4433 "$ip"
  for coap in coap-client-openssl coap-client-gnutls; do
    command -v "$coap" >/dev/null || { echo "note: $coap not installed (libcoap3-bin)"; continue; }
    uri_host=$ip
    [ "$family" = 6 ] && uri_host="[$ip]"
    run_client "$coap coaps:// (IPv$family)" no "$coap" -m get -B 2 "coaps://$uri_host:4433/"
  done
done

# A reflection attempt at one victim /24 (203.0.113.0/24, spoofed): 3000 cookie-less hellos
# as fast as flood.py sends. The default guard answers its burst of 500 plus 1000/s and
# refuses the rest, and names the victim: over telemetry, in the stats line, and in the
# summary. Judged on the hellos that arrived: on a loaded machine the veth drops a share of a
# flood its peer cannot take (1522 and 1970 of the 3000 arrived in two such runs), and a slow
# sender stretches the flood, which earns it more of the 1000/s.
rx_before=$(dg_counter "$prefix" rx_packets) || exit 1
hvr_before=$(dg_counter "$prefix" hvr_sent) || exit 1
limited_before=$(dg_counter "$prefix" drop_rate_limited) || exit 1
flood_start=$(date +%s.%N)
ip netns exec "$DG_CLI" /usr/bin/python3 "$DG_TOOLS/flood.py" --iface "$DG_CLI_IF" \
  --dst-mac "$DG_SRV_MAC" --dst "$DG_SRV_IP4" --count 3000 --seconds 20 --rate 0 \
  --mix one_prefix=1 >/dev/null
flood_end=$(date +%s.%N)
sleep 2  # a stats interval, so a line reports the refusals
rx_after=$(dg_counter "$prefix" rx_packets) || exit 1
hvr_after=$(dg_counter "$prefix" hvr_sent) || exit 1
limited_after=$(dg_counter "$prefix" drop_rate_limited) || exit 1
arrived=$((rx_after - rx_before))
answered=$((hvr_after - hvr_before))
refused=$((limited_after - limited_before))
# The guard's promise (one worker here) over the flood's span, with 0.5 s for frames still
# queued at its end.
allowed=$(/usr/bin/python3 -c 'import sys; print(int(500 + 1000 * (float(sys.argv[2]) - float(sys.argv[1]) + 0.5)))' \
  "$flood_start" "$flood_end")
echo "one-prefix flood: $arrived of 3000 hellos arrived, $answered answered (at most $allowed" \
  "allowed), $refused refused"
check "the one-prefix flood reached dtlsgate past the guard's burst (> 1000 of 3000 hellos)" \
  test "$arrived" -gt 1000
check "the guard answered at most its burst of 500 plus 1000/s of the one-prefix flood" \
  test "$answered" -le "$allowed"
# Frames of the clients' namespace (neighbour discovery) may arrive in the window too.
check "the guard refused every other hello of the one-prefix flood" \
  test "$((answered + refused))" -ge "$((arrived - 10))" -a "$refused" -ge 1
refused_now=$("$DG_TOOLS/dtlsgate-stats" --file-prefix "$prefix" /dtlsgate/refused_prefixes)
echo "telemetry /dtlsgate/refused_prefixes: $refused_now"
first_refused=$(/usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["/dtlsgate/refused_prefixes"]["prefixes"][0])' \
  <<<"$refused_now" 2>/dev/null)
check "telemetry names the refused victim prefix first" test "$first_refused" = 203.0.113.0/24

kill -INT "$dtlsgate_pid"
wait "$dtlsgate_pid"
rc=$?
cat "$work/dtlsgate.log"
check "dtlsgate exits 0 on SIGINT" test "$rc" -eq 0
check "summary JSON written" test -s "$work/summary.json"
check "a stats line named the refused victim prefix" \
  grep -qF "refused_most 203.0.113.0/24" "$work/dtlsgate.log"
if [ -s "$work/summary.json" ]; then
  /usr/bin/python3 - "$work/summary.json" "$clients_ran" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))
clients = int(sys.argv[2])
verdicts = [k for k in s if k.startswith(("drop_", "passed_")) or k in ("hvr_sent", "arp_replied", "nd_replied")]
print(f"summary: {clients} clients ran; handshakes_completed {s['handshakes_completed']}, "
      f"ssl_objects_created {s['ssl_objects_created']}, passed_verified {s['passed_verified']}, "
      f"handshakes_failed {s['handshakes_failed']}, bytes_in {s['bytes_in']}, bytes_out {s['bytes_out']}")
checks = {
    "verdicts add up to rx_packets": sum(s[k] for k in verdicts) == s["rx_packets"],
    "ARP answered by dtlsgate": s["arp_replied"] >= 1,
    "neighbour solicitation answered by dtlsgate": s["nd_replied"] >= 1,
    f"handshakes_completed == {clients} clients that ran": s["handshakes_completed"] == clients,
    f"ssl_objects_created == {clients} distinct verified clients": s["ssl_objects_created"] == clients,
    "no handshake failed or timed out": s["handshakes_failed"] == 0 and s["handshakes_timed_out"] == 0,
    "echo: bytes_out == bytes_in > 0": s["bytes_out"] == s["bytes_in"] > 0,
    "slow path took every passed datagram":
        s["slow_path_received"] == s["passed_verified"] + s["passed_flow"] - s["ring_dropped"],
    "the summary names the victim /24 first, with an estimate near its refusals":
        bool(s["refused_prefixes"]) and s["refused_prefixes"][0]["prefix"] == "203.0.113.0/24"
        and abs(s["refused_prefixes"][0]["refused"] - s["drop_rate_limited"])
            <= 0.25 * s["drop_rate_limited"],
    "slow path sent every datagram (none dropped or unroutable)":
        s["slow_tx_packets"] == s["datagrams_out"] and s["slow_tx_dropped"] == 0
        and s["slow_tx_unroutable"] == 0,
}
for what, ok in checks.items():
    print(("ok: " if ok else "FAIL: ") + what)
sys.exit(0 if all(checks.values()) else 1)
PY
fi
[ "$failed" -eq 0 ] && echo "netns e2e test passed"
exit "$failed"
