#!/usr/bin/env bash
# Checks systemd/wireboxd.service without a running systemd (CI has none as PID 1):
# `systemd-analyze verify` accepts it, and `systemd-analyze security --offline=true` scores its
# exposure at most 2.0. Usage: tests/packaging/systemd_unit.sh [WIREBOXD_BINARY]
# verify checks that ExecStart's binary exists: the unit names /usr/sbin/wireboxd, so a copy
# pointing at WIREBOXD_BINARY (default build/src/apps/wireboxd/wireboxd) is verified, unless the
# package is installed; man pages are checked by the package test instead.
set -uo pipefail
cd "$(dirname "$0")/../.."
unit=systemd/wireboxd.service
binary=${1:-build/src/apps/wireboxd/wireboxd}
max_exposure=2.0
passed=0 failed=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -x /usr/sbin/wireboxd ]; then
  cp "$unit" "$tmp/wireboxd.service"
else
  sed "s|/usr/sbin/wireboxd|$(realpath "$binary")|g" "$unit" > "$tmp/wireboxd.service"
fi

if out=$(systemd-analyze verify --man=no "$tmp/wireboxd.service" 2>&1) && [ -z "$out" ]; then
  pass "systemd-analyze verify"
else
  fail "systemd-analyze verify: $out"
fi

report=$(systemd-analyze security --offline=true "$unit" 2>&1)
score=$(sed -n 's/.*Overall exposure level for wireboxd.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [ -n "$score" ] && awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
  pass "systemd-analyze security --offline=true: exposure $score <= $max_exposure"
else
  fail "systemd-analyze security --offline=true: exposure '${score:-?}' (max $max_exposure)"
  echo "$report" | grep -v '^✓' | head -40
fi

for key in "Type=notify" "User=wirebox" "StateDirectory=wirebox" "ConfigurationDirectory=wirebox" \
           "RuntimeDirectory=wirebox" "AmbientCapabilities=CAP_NET_BIND_SERVICE" "Restart=on-failure" \
           'ExecReload=/bin/kill -HUP $MAINPID'; do
  if grep -qxF "$key" "$unit"; then pass "$key"; else fail "$key missing"; fi
done

echo "systemd unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
