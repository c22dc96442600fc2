#!/usr/bin/env bash
# Bad command lines, as a specification: every binary a user or a script runs answers a bad
# option, a missing value or a bad value with exactly one line on stderr (naming the problem),
# nothing on stdout and exit code 2, before it touches EAL, a port or a socket.
#
#   tests/cli/usage_errors_test.sh NAME=PATH...   (meson passes every binary it built)
#
# Each row: binary name, the expected stderr text (a fixed substring), then the arguments.
set -u

declare -A bin
for pair in "$@"; do bin[${pair%%=*}]=${pair#*=}; done

nl=$'\n'
failures=0
rows=0
check() {  # name expected args...
  local name=$1 expected=$2
  shift 2
  local path=${bin[$name]:-}
  if [ -z "$path" ]; then
    echo "usage-errors: $name: not built, row skipped: ${*//$nl/\\n}"
    return
  fi
  rows=$((rows + 1))
  local out err rc
  out=$(mktemp) err=$(mktemp)
  timeout 20 "$path" "$@" >"$out" 2>"$err" </dev/null
  rc=$?
  local lines
  lines=$(wc -l <"$err")
  local why=""
  [ "$rc" -eq 2 ] || why+=" exit $rc (want 2);"
  [ -s "$out" ] && why+=" wrote to stdout;"
  [ "$lines" -eq 1 ] || why+=" $lines lines on stderr (want 1);"
  grep -qF -- "$expected" "$err" || why+=" stderr lacks '$expected';"
  if [ -n "$why" ]; then
    failures=$((failures + 1))
    printf 'FAIL %s %s:%s\n' "$name" "${*//$nl/\\n}" "$why"
    sed 's/^/  stderr: /' "$err" | head -5
  else
    printf 'ok   %s %s -> %s\n' "$name" "${*//$nl/\\n}" "$(cat "$err")"
  fi
  rm -f "$out" "$err"
}

# The app and the flood: EAL options before "--", theirs after.
check dtlsgate "unknown option '--bogus'" -- --addr 192.0.2.1 --bogus
check dtlsgate "unknown option '--bogus'" -- --bogus --addr 192.0.2.1
check dtlsgate "--rotation needs a value" -- --addr 192.0.2.1 --rotation
check dtlsgate "--rotation 'soon'" -- --addr 192.0.2.1 --rotation soon
check dtlsgate "no --addr given" --
check dtlsgate "unknown option" -- --addr 192.0.2.1 "--evil${nl}second line"
check dtlsgate-flood "unknown option '--bogus'" -- --dst-ip 192.0.2.1 --packets 1 --bogus
check dtlsgate-flood "--rate needs a value" -- --dst-ip 192.0.2.1 --packets 1 --rate
check dtlsgate-flood "--mix" -- --dst-ip 192.0.2.1 --packets 1 --mix "hvr${nl}evil"
check dtlsgate-flood "--dst-ip is required" -- --packets 1
# The benches and the stock baseline.
check dtlsgate-pipeline "unknown option '--bogus'" --bogus
check dtlsgate-pipeline "unknown option '--bogus'" --seconds 1 --bogus
check dtlsgate-pipeline "--seconds needs a value" --seconds
check dtlsgate-pipeline "--seconds: expected" --seconds 0
check dtlsgate-pipeline "unknown kind" --mix "hvr${nl}evil"
check dtlsgate-pps-inproc "unknown option '--bogus'" --bogus
check dtlsgate-pps-inproc "--warmup needs a value" --warmup
check dtlsgate-pps-inproc "--frame-writes: stream, store or auto" --frame-writes disk
check openssl-listen-server "unknown option '--bogus'" --bogus
check openssl-listen-server "unknown option '--bogus'" --duration 1 --bogus
check openssl-listen-server "--port needs a value" --port
check openssl-listen-server "refusing to run unbounded" --port 4433
check udp-flood "unknown option '--bogus'" --bogus
check udp-flood "--packets needs a value" --duration 1 --packets
check udp-flood "--dst: '256.1.1.1' is not an IPv4 address" --dst 256.1.1.1 --duration 1

echo "usage-errors: $rows rows, $failures failed"
[ "$rows" -gt 0 ] && [ "$failures" -eq 0 ]
