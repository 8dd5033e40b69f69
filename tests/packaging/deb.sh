#!/usr/bin/env bash
# The Debian package end to end: packaging/build-deb builds it (time printed), `apt-get install`
# installs it on this machine, lintian reports no errors, the installed files, user, secrets
# and certificate are in place, the installed unit passes `systemd-analyze verify`, and the
# installed wireboxd answers /api-version and /deeplink.json on loopback. Then remove keeps
# the data and purge deletes it.
#
# Needs root (apt, the wirebox user). CI machines have no systemd as PID 1, so the daemon is
# not started by the package; this script starts the installed binary itself the way the unit
# would: as the wirebox user, with the installed configuration and only CAP_NET_BIND_SERVICE
# (setpriv), listening on 127.0.0.1:443 (TURN on free loopback ports).
# The .deb stays in dist/ (tests/packaging/ansible.sh installs it again).
set -uo pipefail
cd "$(dirname "$0")/../.."
SUDO=""
[ "$(id -u)" != 0 ] && SUDO=sudo
passed=0 failed=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
finish() { echo "deb package: $passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

start=$(date +%s)
if ! packaging/build-deb > build/deb-build.log 2>&1; then
  tail -40 build/deb-build.log
  fail "packaging/build-deb"
  finish
fi
deb=$(ls -t dist/wirebox_*.deb | head -1)
pass "packaging/build-deb built $deb in $(($(date +%s) - start)) s"

lintian_out=$(lintian --tag-display-limit 0 "$deb" 2>&1)
echo "$lintian_out" | sed 's/^/  lintian: /'
check "lintian reports no errors" bash -c '! grep -q "^E:" <<<"$1"' _ "$lintian_out"

$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" > build/deb-install.log 2>&1 ||
  { cat build/deb-install.log; fail "apt-get install ./$deb"; finish; }
pass "apt-get install ./$deb"

check "wirebox system user and group" bash -c 'getent passwd wirebox | grep -q ":/usr/sbin/nologin$" && getent group wirebox >/dev/null'
for f in /usr/sbin/wireboxd /usr/bin/wirectl /lib/systemd/system/wireboxd.service /usr/share/wirebox/web/index.html \
         /usr/share/man/man8/wireboxd.8.gz /usr/share/man/man8/wirectl.8.gz /usr/share/doc/wirebox/copyright; do
  check "installed $f" test -s "$f"
done
check "/etc/wirebox/wirebox.conf is a conffile" bash -c 'dpkg-query -W -f="\${Conffiles}" wirebox | grep -q /etc/wirebox/wirebox.conf'
check "/etc/wirebox/wirebox.conf root:wirebox 0640" bash -c '[ "$(stat -c %U:%G:%a /etc/wirebox/wirebox.conf)" = root:wirebox:640 ]'
for f in tls/cert.pem tls/key.pem secrets/token-signing.pem secrets/turn-secret; do
  check "generated /var/lib/wirebox/$f (wirebox, 0600)" \
    bash -c '[ "$(stat -c %U:%a "/var/lib/wirebox/$1")" = wirebox:600 ]' _ "$f"
done
check "self-signed certificate covers localhost" \
  bash -c 'openssl x509 -in /var/lib/wirebox/tls/cert.pem -noout -ext subjectAltName | grep -q "DNS:localhost"'
check "systemd-analyze verify (installed unit)" \
  bash -c 'out=$(systemd-analyze verify /lib/systemd/system/wireboxd.service 2>&1) && [ -z "$out" ] || { echo "$out"; false; }'
check "installed configuration is valid" \
  $SUDO setpriv --reuid=wirebox --regid=wirebox --init-groups /usr/sbin/wireboxd --config /etc/wirebox/wirebox.conf --check-config

if ss -ltn 2>/dev/null | grep -q '127.0.0.1:443 \|0.0.0.0:443 \|\*:443 '; then
  fail "port 443 on loopback is in use; cannot start the installed wireboxd"
  finish
fi
log=$(mktemp)
# What the unit's RuntimeDirectory=wirebox would create: the directory of the admin socket.
$SUDO install -d -o wirebox -g wirebox -m 0750 /run/wirebox
$SUDO setpriv --reuid=wirebox --regid=wirebox --init-groups --inh-caps=+net_bind_service \
  --ambient-caps=+net_bind_service /usr/sbin/wireboxd --config /etc/wirebox/wirebox.conf \
  --listen 127.0.0.1:443 --set turn.listen_udp=127.0.0.1:0 --set turn.listen_tcp=127.0.0.1:0 \
  --set turn.listen_tls=127.0.0.1:0 > "$log" 2>&1 &
pid=$!
api=$(curl -sk --retry 15 --retry-connrefused --retry-max-time 30 --max-time 5 https://127.0.0.1:443/api-version)
check "installed wireboxd (user wirebox, CAP_NET_BIND_SERVICE) answers /api-version on 127.0.0.1:443" \
  bash -c 'grep -q "\"supported\"" <<<"$1"' _ "$api"
deeplink=$(curl -sk --max-time 5 https://127.0.0.1:443/deeplink.json)
start_page=$(curl -sk --max-time 5 https://127.0.0.1:443/)
check "installed wireboxd serves the start page from /usr/share/wirebox/web" bash -c 'grep -q "<h1>wirebox</h1>" <<<"$1"' _ "$start_page"
check "installed wireboxd serves /deeplink.json" bash -c 'grep -q "\"backendURL\":\"https://wirebox.localhost\"" <<<"$1"' _ "$deeplink"
status=$($SUDO wirectl --config /etc/wirebox/wirebox.conf status --json 2>&1)
check "wirectl status (as root, over /run/wirebox/admin.sock) reports the daemon" \
  bash -c 'grep -q "\"uptime_seconds\"" <<<"$1" || { echo "$1"; false; }' _ "$status"
check "the admin socket is wirebox:wirebox 0660" \
  bash -c '[ "$(stat -c %U:%G:%a /run/wirebox/admin.sock)" = wirebox:wirebox:660 ]'
check "it runs as wirebox" bash -c '[ "$(ps -o user= -p "$(pgrep -P "$1" -x wireboxd || echo "$1")")" = wirebox ]' _ "$pid"
if $SUDO kill -TERM "$pid" && timeout 20 tail --pid="$pid" -f /dev/null; then
  pass "stops on SIGTERM"
else
  fail "stops on SIGTERM"
  $SUDO kill -KILL "$pid" 2>/dev/null
fi
[ "$failed" = 0 ] || sed 's/^/  wireboxd: /' "$log"
rm -f "$log"

$SUDO apt-get remove -y -qq wirebox > /dev/null 2>&1
check "remove keeps /var/lib/wirebox and the configuration" \
  bash -c 'test -s /var/lib/wirebox/secrets/token-signing.pem && test -s /etc/wirebox/wirebox.conf && ! test -e /usr/sbin/wireboxd'
$SUDO apt-get purge -y -qq wirebox > /dev/null 2>&1
check "purge deletes /var/lib/wirebox, /etc/wirebox and the wirebox user" \
  bash -c '! test -e /var/lib/wirebox && ! test -e /etc/wirebox && ! getent passwd wirebox >/dev/null'
finish
