# Sourced by the namespace tests (tests/eal/*.sh) and tools/demo: two network namespaces
# joined by a veth, dtlsgate on the server end (net_af_packet), kernel clients on the other.
#
#   dg_test_begin ...    a test's root check, tool checks, work directory and cleanup trap
#   dg_netns_up NAME     creates ${NAME}-srv / ${NAME}-cli and the veth; sets DG_* variables
#   dg_spawn VAR CMD...  runs CMD in the background, records its PID for dg_netns_down
#   dg_netns_down        kills the recorded PIDs (only those), deletes both namespaces
#   dg_echo_client ...   a kernel client that sends a line until it comes back echoed
#   dg_counter P NAME    a counter of the dtlsgate with --file-prefix P, over telemetry
#
# Addresses: the client is 10.77.0.1 / fd77::1 (kernel stack); dtlsgate answers for
# 10.77.0.2 / fd77::2 on UDP 4433 and for their ARP / neighbour solicitations. The server-side
# veth has no kernel address, so only dtlsgate answers there.

DG_PIDS=()
DG_NETNS=()

# A test's verdict line: "ok: WHAT" or "FAIL: WHAT" (and failed=1, which the caller set to 0
# and exits with). check DESCRIPTION COMMAND...
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failed=1; fi
}

dg_require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (network namespaces, veth, af_packet)"
    return 1
  fi
  for tool in ip ethtool timeout; do
    command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; return 1; }
  done
  if ! ip netns add dgprobe$$ 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here"
    return 1
  fi
  ip netns del dgprobe$$
}

# A namespace test's start, at its top level: root, namespaces and the TOOLs are there (else
# exit 77, skipped, with the reason), $work is a fresh directory, failed=0, and on exit
# everything is cleaned up: the recorded PIDs and namespaces (dg_netns_down), $work and the EAL
# runtime directories of the PREFIXes.
#   dg_test_begin "PREFIX..." [TOOL...]
dg_test_begin() {
  DG_TEST_PREFIXES=$1
  shift
  dg_require_root || exit 77
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
  done
  work=$(mktemp -d)
  failed=0
  trap dg_test_cleanup EXIT
  trap 'exit 130' INT TERM
}

# A self-signed P-256 test certificate for dtlsgate's slow path: $work/cert.pem and
# $work/key.pem (after dg_test_begin), or a FAIL line and exit 1.
#   dg_test_cert CN
dg_test_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null ||
    { echo "FAIL: openssl req could not make a test certificate"; exit 1; }
}

dg_test_cleanup() {
  dg_netns_down
  rm -rf "$work"
  local p
  for p in $DG_TEST_PREFIXES; do rm -rf "/var/run/dpdk/$p"; done
}

dg_netns_up() {
  local name=$1
  DG_SRV=${name}-srv
  DG_CLI=${name}-cli
  # Interface names are at most 15 bytes.
  DG_SRV_IF=dgs$$
  DG_CLI_IF=dgc$$
  DG_SRV_IP4=10.77.0.2
  DG_CLI_IP4=10.77.0.1
  DG_SRV_IP6=fd77::2
  DG_CLI_IP6=fd77::1
  ip netns add "$DG_SRV" && DG_NETNS+=("$DG_SRV")
  ip netns add "$DG_CLI" && DG_NETNS+=("$DG_CLI")
  ip link add "$DG_SRV_IF" netns "$DG_SRV" type veth peer name "$DG_CLI_IF" netns "$DG_CLI"
  # dtlsgate's side: up, no address; IPv6 off so the kernel sends nothing on its own.
  ip netns exec "$DG_SRV" sysctl -qw "net.ipv6.conf.$DG_SRV_IF.disable_ipv6=1"
  ip -n "$DG_SRV" link set "$DG_SRV_IF" up
  ip -n "$DG_SRV" link set lo up
  DG_SRV_MAC=$(ip -n "$DG_SRV" -o link show "$DG_SRV_IF" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
  # Client side: a normal kernel stack. TX checksum offload off, or af_packet sees partial sums.
  ip -n "$DG_CLI" link set lo up
  ip -n "$DG_CLI" addr add "$DG_CLI_IP4/24" dev "$DG_CLI_IF"
  ip -n "$DG_CLI" addr add "$DG_CLI_IP6/64" dev "$DG_CLI_IF" nodad
  ip -n "$DG_CLI" link set "$DG_CLI_IF" up
  ip netns exec "$DG_CLI" ethtool -K "$DG_CLI_IF" tx off >/dev/null
}

dg_spawn() {  # VAR CMD...: background CMD, PID into VAR and into the cleanup list
  local var=$1
  shift
  "$@" &
  local pid=$!
  DG_PIDS+=("$pid")
  printf -v "$var" '%s' "$pid"
}

dg_netns_down() {
  local pid
  for pid in "${DG_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${DG_PIDS[@]}"; do
    # Give dtlsgate a moment to stop cleanly, then insist.
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  DG_PIDS=()
  local ns
  for ns in "${DG_NETNS[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  DG_NETNS=()
}

# A kernel client in the client namespace that sends LINE and prints all it printed. Its input
# stays open until LINE comes back, and LINE goes again every second meanwhile, as an
# application over DTLS must: application data is not retransmitted, and a loaded machine drops
# some. At most SECONDS, less if the client exits first. Then its input ends, and the client
# closes its session and exits (openssl s_client -quiet needs -no_ign_eof for that, or it waits
# out SECONDS). A subshell: its SIGPIPE disposition (a client that gave up before a resend)
# stays its own.
dg_echo_client() (  # SECONDS LINE COMMAND...
  seconds=$1
  line=$2
  shift 2
  trap '' PIPE
  dir=$(mktemp -d)
  mkfifo "$dir/in"
  ip netns exec "$DG_CLI" timeout "$seconds" "$@" <"$dir/in" >"$dir/out" 2>&1 &
  client_pid=$!
  exec {feed}>"$dir/in"
  for tick in $(seq 0 $((seconds * 10 - 1))); do
    ((tick % 10 == 0)) && echo "$line" >&"$feed"
    grep -qF "$line" "$dir/out" && break
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
  done
  exec {feed}>&-
  wait "$client_pid"
  cat "$dir/out"
  rm -rf "$dir"
)

# EAL arguments for dtlsgate on the server veth. PREFIX: its own --file-prefix (telemetry socket).
dg_eal_args() {  # PREFIX
  echo "-l 0-1 --no-huge -m 512 --no-pci --file-prefix $1 --vdev net_af_packet0,iface=$DG_SRV_IF,qpairs=2"
}

# A dtlsgate counter (/dtlsgate/stats) over telemetry; PREFIX is dtlsgate's --file-prefix.
# Retried: a loaded machine can starve the telemetry thread for seconds, and an empty answer
# must never read as a number.
dg_counter() {  # PREFIX NAME
  local value _
  for _ in 1 2 3; do
    value=$("$DG_TOOLS/dtlsgate-stats" --file-prefix "$1" |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["/dtlsgate/stats"][sys.argv[1]])' \
        "$2") && [ -n "$value" ] && { echo "$value"; return 0; }
    sleep 1
  done
  echo "telemetry did not answer for $2 (3 tries)" >&2
  return 1
}

# Waits until dtlsgate's telemetry answers its commands (it is up and polling), at most ~10 s.
# EAL opens the telemetry socket before dtlsgate registers its commands, and until then a
# command's answer is null.
dg_wait_ready() {  # PREFIX
  local i answer
  for i in $(seq 1 50); do
    answer=$("$DG_TOOLS/dtlsgate-stats" --file-prefix "$1" 2>/dev/null) &&
      [[ $answer != *': null'* ]] && return 0
    sleep 0.2
  done
  return 1
}
