#!/usr/bin/env bash
# Soak: dtlsgate (net_af_packet on a veth, in its own namespace) under a spoofed mix sent as
# fast as tools/flood.py can (cookie-less hellos, forged cookies, garbage, non-DTLS UDP and IP,
# a real cookie replayed from other addresses and from its own 5-tuple) while real clients
# (openssl s_client -dtls1_2 and gnutls-cli --udp, alternating) complete N handshakes, each
# with an echoed line. Asserts:
#   - all N clients complete and get their echo (each resends its line every second until it
#     comes back, at most 30 s); handshakes_completed >= N;
#   - N <= ssl_objects_created <= N + E, E = the 5-tuples the flood got real cookies for (1 for
#     its replays; replays from the same 5-tuple must never make a second SSL object, and the
#     handshake timeout is set longer than the soak, so a half-open session outlives it);
#   - counters add up: the sum of the verdicts == rx_packets;
#   - per-second rx (telemetry, sampled every second) never falls to 0 while the flood runs;
#   - the mbuf pool never ran dry (rx_nombuf == 0), and mbufs in use return to their idle
#     level when the app reports them (mbufs_in_use, when present);
#   - VmRSS grows by less than SOAK_RSS_GROWTH_MB (default 64) from 3 s into the flood to the end.
# SOAK_MIX picks the flood's frame kinds (tools/flood.py --mix), SOAK_RATE its pps,
# SOAK_DTLSGATE_ARGS adds dtlsgate options (e.g. "--hvr-rate-per-prefix 1000").
# Bounded form (meson test, tools/test): SOAK_HANDSHAKES=24, about 25 s. Longer form by hand:
#   SOAK_SECONDS=1800 SOAK_HANDSHAKES=500 tests/eal/soak_test.sh build/dpdk_app/dtlsgate
# The flood runs while the clients do, at most SOAK_SECONDS (segments of 10 s / 10M frames).
#   soak_test.sh DTLSGATE        (needs root; exit 77 = skipped, with the reason)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DG_TOOLS=$(cd "$here/../../tools" && pwd)
dtlsgate=$(realpath "$1")
source "$DG_TOOLS/netns-lib.sh"

soak_seconds=${SOAK_SECONDS:-90}  # the most the flood runs; it stops when the clients are done
handshakes=${SOAK_HANDSHAKES:-24}
rss_growth_mb=${SOAK_RSS_GROWTH_MB:-64}
# Offered rate: af_packet on a veth with flood, clients and dtlsgate sharing 2 cores delivers
# ~300k frames/s to dtlsgate; above that the kernel drops frames before dtlsgate sees them,
# real clients' too (RELIABILITY.md). 0 = as fast as flood.py sends (~700k/s here).
rate=${SOAK_RATE:-150000}
mix=${SOAK_MIX:-hello=40,forged=20,garbage=15,nondtls=10,replay_other=10,replay_same=5}

prefix=dgsoak$$
dg_test_begin "$prefix" openssl gnutls-cli

dg_test_cert dtlsgate-soak

dg_netns_up "$prefix"
# shellcheck disable=SC2046
dg_spawn wrapper_pid ip netns exec "$DG_SRV" timeout $((soak_seconds + 120)) "$dtlsgate" \
  $(dg_eal_args "$prefix") --no-shconf -- --addr "$DG_SRV_IP4" --cert "$work/cert.pem" \
  --key "$work/key.pem" --handshake-timeout $((soak_seconds + 120)) --stats-interval 0 \
  --summary-json "$work/summary.json" ${SOAK_DTLSGATE_ARGS:-} >"$work/dtlsgate.log" 2>&1
if ! dg_wait_ready "$prefix"; then
  echo "FAIL: dtlsgate did not come up"
  cat "$work/dtlsgate.log"
  exit 1
fi
dtlsgate_pid=$(pgrep -P "$wrapper_pid" | head -1)  # timeout's child: dtlsgate itself

stats() {  # prints "rx_packets vmrss_kb mbufs_in_use|-" (telemetry and /proc)
  local i
  for i in 1 2 3; do  # a telemetry read under load now and then comes back empty: retry
    stats_once 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
stats_once() {
  "$DG_TOOLS/dtlsgate-stats" --file-prefix "$prefix" |
    /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)["/dtlsgate/stats"]
rss = [l.split()[1] for l in open(f"/proc/{sys.argv[1]}/status") if l.startswith("VmRSS:")][0]
print(s["rx_packets"], rss, s.get("mbufs_in_use", "-"))' "$dtlsgate_pid"
}
idle_mbufs=$(stats | cut -d' ' -f3)

# The flood, from the client namespace, in segments of at most 10 s (flood.py stops at 10M
# frames anyway), until the clients are done or SOAK_SECONDS have passed.
flood_loop() {
  local start=$SECONDS i=0
  while [ ! -e "$work/clients-done" ] && [ $((SECONDS - start)) -lt "$soak_seconds" ]; do
    ip netns exec "$DG_CLI" /usr/bin/python3 "$DG_TOOLS/flood.py" --iface "$DG_CLI_IF" \
      --dst-mac "$DG_SRV_MAC" --dst "$DG_SRV_IP4" --count 10000000 --seconds 10 \
      --rate "$rate" --mix "$mix" --report "$work/flood-$i.json" >/dev/null || return 1
    i=$((i + 1))
  done
}
dg_spawn flood_pid flood_loop
# Samples once a second while the flood runs: rx_packets, VmRSS, mbufs in use.
sampler() {
  local n
  for n in $(seq 1 $((soak_seconds + 30))); do
    kill -0 "$flood_pid" 2>/dev/null || break
    line=$(stats) && echo "$(date +%s.%N) $line" >>"$work/samples"
    sleep 1
  done
}
dg_spawn sampler_pid sampler
sleep 2

# Real clients, alternating, each sending one line and expecting it echoed (at most 30 s each:
# room for the handshake's own retransmissions, 1, 2, 4, 8 s ... A client normally finishes in
# ~1 s; with a parallel build starving the two cores, one in ~24 openssl clients still had
# printed nothing after 15 s, in 2 of 15 full runs, while the flood went on.)
ok_clients=0
for i in $(seq 1 "$handshakes"); do
  line="soak client $i"
  if [ $((i % 2)) -eq 1 ]; then
    cmd=(openssl s_client -dtls1_2 -quiet -no_ign_eof -connect "$DG_SRV_IP4:4433")
  else
    cmd=(gnutls-cli --udp --insecure -p 4433 "$DG_SRV_IP4")
  fi
  out=$(dg_echo_client 30 "$line" "${cmd[@]}")
  if grep -qF "$line" <<<"$out"; then
    ok_clients=$((ok_clients + 1))
  else
    echo "client $i (${cmd[0]}) got no echo; last lines:"
    tail -3 <<<"$out" | sed 's/^/    /'
  fi
done
flood_running_at_end=no
kill -0 "$flood_pid" 2>/dev/null && flood_running_at_end=yes
touch "$work/clients-done"
wait "$flood_pid"
flood_rc=$?
wait "$sampler_pid"
sleep 2  # let the slow path settle (close_notify, drained rings)
end_stats=$(stats)
kill -INT "$wrapper_pid"
wait "$wrapper_pid"
rc=$?

echo "clients: $ok_clients of $handshakes got their echo (flood still running when they were done: $flood_running_at_end)"
check "the flood ran to its end" test "$flood_rc" -eq 0
check "the flood ran for as long as the clients did" test "$flood_running_at_end" = yes
check "all $handshakes real clients completed a handshake and got their echo" \
  test "$ok_clients" -eq "$handshakes"
check "dtlsgate exits 0" test "$rc" -eq 0
/usr/bin/python3 - "$work" "$handshakes" "$rss_growth_mb" "$idle_mbufs" "$end_stats" <<'PY' || failed=1
import glob, json, sys
work, n, rss_growth_mb, idle_mbufs, end_stats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = json.load(open(f"{work}/summary.json"))
floods = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/flood-*.json"))]
sent = sum(f["sent"] for f in floods)
# Each flood segment does its own real exchanges (new randoms, new cookies): a new hello each.
exchanges = sum(f.get("exchanges", 0) for f in floods)
secs = sum(f["seconds"] for f in floods)
by_kind = {}
for f in floods:
    for k, v in f["by_kind"].items():
        by_kind[k] = by_kind.get(k, 0) + v
samples = [l.split() for l in open(f"{work}/samples")]
rx = [int(x[1]) for x in samples]
rss = [int(x[2]) for x in samples]
per_second = [b - a for a, b in zip(rx, rx[1:])]
verdicts = [k for k in s if k.startswith(("drop_", "passed_")) or k in ("hvr_sent", "arp_replied", "nd_replied")]
print(f"flood: {sent} frames in {secs:.1f} s ({sent / secs:.0f} pps offered): {by_kind}")
print(f"per-second rx (telemetry): min {min(per_second)} median {sorted(per_second)[len(per_second) // 2]} max {max(per_second)} over {len(per_second)} s")
print(f"VmRSS: {rss[0] // 1024} MiB at start of sampling, {rss[min(3, len(rss) - 1)] // 1024} MiB at 3 s, max {max(rss) // 1024} MiB, end {rss[-1] // 1024} MiB")
keys = ("rx_packets", "hvr_sent", "passed_verified", "passed_flow", "drop_bad_cookie",
        "drop_expired_cookie", "drop_not_for_us", "drop_not_udp", "drop_record_short",
        "drop_not_handshake", "drop_bad_version", "drop_malformed_hello", "drop_rate_limited",
        "ring_dropped", "tx_dropped", "imissed", "rx_nombuf", "ssl_objects_created",
        "handshakes_completed", "handshakes_failed", "handshakes_timed_out", "sessions_open")
print("summary: " + ", ".join(f"{k} {s[k]}" for k in keys if k in s))
checks = {
    "verdicts add up to rx_packets": sum(s[k] for k in verdicts) == s["rx_packets"],
    "per-second rx never 0 while the flood runs": len(per_second) >= 5 and min(per_second) > 0,
    f"VmRSS grew by less than {rss_growth_mb} MiB after the first 3 s":
        max(rss[3:] or rss) - rss[min(3, len(rss) - 1)] < rss_growth_mb * 1024,
    "mbuf pool never ran dry (rx_nombuf == 0)": s["rx_nombuf"] == 0,
    f"handshakes_completed >= {n}": s.get("handshakes_completed", 0) >= n,
    f"{n} <= ssl_objects_created <= {n} clients + {exchanges} flood 5-tuples with real cookies":
        n <= s.get("ssl_objects_created", -1) <= n + exchanges,
}
end_mbufs = end_stats.split()[2] if len(end_stats.split()) > 2 else "-"
if idle_mbufs != "-" and end_mbufs != "-":
    checks["mbufs in use back to their idle level"] = int(end_mbufs) <= int(idle_mbufs)
else:
    print("note: dtlsgate reports no mbufs_in_use: the mbuf-return check is off")
for what, ok in checks.items():
    print(("ok: " if ok else "FAIL: ") + what)
sys.exit(0 if all(checks.values()) else 1)
PY
if [ "$failed" -ne 0 ]; then tail -20 "$work/dtlsgate.log"; fi
[ "$failed" -eq 0 ] && echo "soak test passed"
exit "$failed"
