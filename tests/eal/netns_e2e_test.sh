#!/usr/bin/env bash
# End to end: dtlsgate on one end of a veth (net_af_packet, --no-huge) in its own network
# namespace; real kernel clients in another. For each client (openssl s_client -dtls1_2 and
# gnutls-cli --udp, IPv4 and IPv6) dtlsgate must send an HVR and then count the client's
# cookie-bearing ClientHello as passed_verified (read live over DPDK telemetry). dtlsgate
# answers ARP and neighbour solicitations itself. SIGINT stops it with exit 0 and a summary
# whose verdicts add up to rx_packets.
#   netns_e2e_test.sh DTLSGATE        (needs root; exit 77 = skipped, with the reason)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DG_TOOLS=$(cd "$here/../../tools" && pwd)
dtlsgate=$(realpath "$1")
source "$DG_TOOLS/netns-lib.sh"

dg_require_root || exit 77
for tool in openssl gnutls-cli; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done

prefix=dge2e$$
work=$(mktemp -d)
cleanup() {
  dg_netns_down
  rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
check() {  # description, condition command...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failed=1; fi
}

dg_netns_up "$prefix"
# shellcheck disable=SC2046
dg_spawn dtlsgate_pid ip netns exec "$DG_SRV" timeout 120 "$dtlsgate" $(dg_eal_args "$prefix") \
  --no-shconf -- --addr "$DG_SRV_IP4" --addr "$DG_SRV_IP6" --summary-json "$work/summary.json" \
  >"$work/dtlsgate.log" 2>&1
if ! dg_wait_ready "$prefix"; then
  echo "FAIL: dtlsgate did not come up"
  cat "$work/dtlsgate.log"
  exit 1
fi

counter() {  # name -> current value over telemetry
  "$DG_TOOLS/dtlsgate-stats" --file-prefix "$prefix" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["/dtlsgate/stats"][sys.argv[1]])' "$1"
}

run_client() {  # description, command... (inside the client namespace, bounded)
  local what=$1
  shift
  local hvr_before verified_before
  hvr_before=$(counter hvr_sent)
  verified_before=$(counter passed_verified)
  echo | ip netns exec "$DG_CLI" timeout 4 "$@" >"$work/client.log" 2>&1
  local hvr=$(($(counter hvr_sent) - hvr_before))
  local verified=$(($(counter passed_verified) - verified_before))
  echo "$what: $hvr HVR sent, $verified cookie-bearing ClientHello(s) verified"
  check "$what got an HVR" test "$hvr" -ge 1
  check "$what came back with a cookie dtlsgate verified" test "$verified" -ge 1
}

run_client "openssl s_client -dtls1_2 (IPv4)" openssl s_client -dtls1_2 -connect "$DG_SRV_IP4:4433"
run_client "openssl s_client -dtls1_2 (IPv6)" openssl s_client -dtls1_2 -connect "[$DG_SRV_IP6]:4433"
run_client "gnutls-cli --udp (IPv4)" gnutls-cli --udp --insecure -p 4433 "$DG_SRV_IP4"
run_client "gnutls-cli --udp (IPv6)" gnutls-cli --udp --insecure -p 4433 "$DG_SRV_IP6"

kill -INT "$dtlsgate_pid"
wait "$dtlsgate_pid"
rc=$?
cat "$work/dtlsgate.log"
check "dtlsgate exits 0 on SIGINT" test "$rc" -eq 0
check "summary JSON written" test -s "$work/summary.json"
if [ -s "$work/summary.json" ]; then
  /usr/bin/python3 - "$work/summary.json" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))
verdicts = [k for k in s if k.startswith(("drop_", "passed_")) or k in ("hvr_sent", "arp_replied", "nd_replied")]
checks = {
    "verdicts add up to rx_packets": sum(s[k] for k in verdicts) == s["rx_packets"],
    "ARP answered by dtlsgate": s["arp_replied"] >= 1,
    "neighbour solicitation answered by dtlsgate": s["nd_replied"] >= 1,
    "passed_verified >= 4": s["passed_verified"] >= 4,
    "slow-path consumer took every passed datagram":
        s["slow_path_received"] == s["passed_verified"] + s["passed_flow"] - s["ring_dropped"],
}
for what, ok in checks.items():
    print(("ok: " if ok else "FAIL: ") + what)
sys.exit(0 if all(checks.values()) else 1)
PY
fi
[ "$failed" -eq 0 ] && echo "netns e2e test passed"
exit "$failed"
