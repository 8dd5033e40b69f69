#!/usr/bin/env bash
# TURN conformance against a real peer: coturn's turnutils_uclient (apt package coturn) allocates
# and relays through a real wireboxd on loopback over UDP (channels and Send/Data indications),
# TCP and TLS (on the TURN TLS port and on the HTTPS port, turn.tls_on_https_port), with
# turnutils_peer as the UDP echo peer; a wrong secret and an expired username must fail to
# allocate. Usage: tests/calling/turn_interop.sh [path/to/wireboxd]
# Prints "N passed, N failed"; exits non-zero if any case failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
wireboxd=${1:-build/src/apps/wireboxd/wireboxd}
for tool in turnutils_uclient turnutils_peer openssl; do
  command -v $tool >/dev/null || { echo "turn interop: $tool missing (scripts/install-deps --test)"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${KEEP_TURN_LOGS:-}" ] && echo "logs in $work" || rm -rf "$work"
}
trap cleanup EXIT

# Port 0 everywhere: wireboxd binds free ports and logs them.
"$wireboxd" --data-dir "$work/data" --listen 127.0.0.1:0 --turn-allow-loopback-peers --set turn.loops=2 \
  >"$work/wireboxd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "turn: listening" "$work/wireboxd.log" && break; sleep 0.1; done
line=$(grep "turn: listening" "$work/wireboxd.log") || { echo "wireboxd did not start:"; cat "$work/wireboxd.log"; exit 1; }
udp=$(sed -E 's/.*udp=([0-9]+).*/\1/' <<<"$line")
tcp=$(sed -E 's/.*tcp=([0-9]+).*/\1/' <<<"$line")
tls=$(sed -E 's/.*tls=([0-9]+).*/\1/' <<<"$line")
for _ in $(seq 100); do grep -q "wireboxd: listening" "$work/wireboxd.log" && break; sleep 0.1; done
https=$(grep "wireboxd: listening" "$work/wireboxd.log" | sed -E 's/.* port=([0-9]+).*/\1/')
[ -n "$https" ] || { echo "wireboxd did not report its HTTPS port:"; cat "$work/wireboxd.log"; exit 1; }

# An echo peer on a free UDP port (retry if taken).
for _ in 1 2 3 4 5; do
  peer_port=$((20000 + RANDOM % 20000))
  turnutils_peer -L 127.0.0.1 -p $peer_port >"$work/peer.log" 2>&1 &
  peer_pid=$!
  sleep 0.2
  kill -0 $peer_pid 2>/dev/null && break
done
pids+=($peer_pid)

secret=$(tail -n 1 "$work/data/secrets/turn-secret")
credential() { printf %s "$1" | openssl dgst -sha512 -hmac "$2" -binary | base64 -w0; }
user="d=$(( $(date +%s) + 600 )).v=1.k=0.t=s.r=interop"
expired="d=$(( $(date +%s) - 10 )).v=1.k=0.t=s.r=interop"

passed=0
failed=0
# run NAME EXPECT(ok|fail) uclient-args...
run() {
  local name=$1 expect=$2
  shift 2
  local out="$work/$name.log"
  timeout 60 turnutils_uclient -e 127.0.0.1 -r $peer_port -X 127.0.0.1 -c "$@" 127.0.0.1 >"$out" 2>&1
  local sent recv lost
  sent=$(grep -oE 'tot_send_msgs=[0-9]+' "$out" | tail -1 | cut -d= -f2)
  recv=$(grep -oE 'tot_recv_msgs=[0-9]+' "$out" | tail -1 | cut -d= -f2)
  lost=$(grep -oE 'Total lost packets [0-9]+' "$out" | tail -1 | awk '{print $4}')
  local ok=0
  if [ "$expect" = ok ]; then
    [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ] && [ "${lost:-1}" = 0 ] && ok=1
  else
    grep -q "Cannot complete Allocation" "$out" && [ -z "$recv" -o "${recv:-0}" = 0 ] && ok=1
  fi
  if [ $ok = 1 ]; then
    passed=$((passed + 1))
    echo "ok   $name (sent=${sent:-0} recv=${recv:-0} lost=${lost:--})"
  else
    failed=$((failed + 1))
    echo "FAIL $name — last lines of $name.log:"
    tail -5 "$out" | sed 's/^/    /'
  fi
}

common=(-n 200 -l 500 -m 4 -z 5 -u "$user" -w "$(credential "$user" "$secret")")
run udp-channels ok -p "$udp" "${common[@]}"
run udp-send-indications ok -p "$udp" -s "${common[@]}"
run tcp ok -t -p "$tcp" "${common[@]}"
run tls ok -t -S -p "$tls" "${common[@]}"
run tls-https-port ok -t -S -p "$https" "${common[@]}"
run wrong-secret fail -p "$udp" -n 5 -u "$user" -w "$(credential "$user" not-the-secret)"
run expired-username fail -p "$udp" -n 5 -u "$expired" -w "$(credential "$expired" "$secret")"

echo "turn interop: $passed passed, $failed failed"
[ $failed = 0 ]
