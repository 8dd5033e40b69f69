#!/usr/bin/env bash
# The ansible playbook for real, against this machine (connection local): ansible-lint is
# clean; the first run installs dist/wirebox_*.deb (built by packaging/build-deb if absent),
# configures, starts wireboxd, waits for /healthz and registers the first admin; the second run
# reports changed=0; then the admin can log in.
#
# Needs root. Where systemd is not PID 1 (CI), the role's "direct" mode starts the installed
# wireboxd in the background as the wirebox user with CAP_NET_BIND_SERVICE (setpriv); with
# systemd it uses the unit. Listens on 127.0.0.1 only (HTTPS 443, TURN 23478/25349), and stops
# wireboxd and purges the package at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
SUDO=""
[ "$(id -u)" != 0 ] && SUDO=sudo
passed=0 failed=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() { echo "ansible: $passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

if (cd ansible && ansible-lint -q --offline wirebox.yml roles/wirebox > "$root/build/ansible-lint.log" 2>&1); then
  pass "ansible-lint"
else
  cat build/ansible-lint.log
  fail "ansible-lint"
fi

deb=$(ls -t dist/wirebox_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
  packaging/build-deb > build/deb-build.log 2>&1 || { tail -40 build/deb-build.log; fail "packaging/build-deb"; finish; }
  deb=$(ls -t dist/wirebox_*.deb | head -1)
fi

work=$(mktemp -d)
cleanup() {
  local pid
  for pid in $(pgrep -u wirebox -x wireboxd); do
    $SUDO kill -TERM "$pid"
    timeout 20 tail --pid="$pid" -f /dev/null
  done
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq wirebox > /dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/inventory.yml" <<INVENTORY
all:
  children:
    wirebox:
      hosts:
        localhost:
          ansible_connection: local
          ansible_python_interpreter: /usr/bin/python3
      vars:
        wirebox_deb: $root/$deb
        wirebox_domain: wirebox.test
        wirebox_listen_address: 127.0.0.1
        wirebox_port: 443
        wirebox_turn_listen_address: 127.0.0.1
        wirebox_turn_port: 23478
        wirebox_turn_tls_port: 25349
        wirebox_turn_relay_address: 127.0.0.1
        wirebox_registration: open
        wirebox_admin_email: admin@wirebox.test
        wirebox_admin_password: ansible-test-password
INVENTORY

run_playbook() {
  local n=$1 start=$(date +%s)
  ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=default $SUDO ansible-playbook -i "$work/inventory.yml" ansible/wirebox.yml \
    > "$work/run$n.log" 2>&1
  local rc=$?
  recap=$(grep -A2 '^PLAY RECAP' "$work/run$n.log" | grep 'localhost')
  echo "  run $n ($(($(date +%s) - start)) s): $recap"
  return $rc
}

if run_playbook 1 && grep -q 'failed=0' <<<"$recap" && ! grep -q 'changed=0 ' <<<"$recap"; then
  pass "first run installs and starts wirebox"
else
  cat "$work/run1.log"
  fail "first run"
  finish
fi
grep -q 'wirebox is running: https://wirebox.test' "$work/run1.log" && pass "prints the URL" || fail "prints the URL"
if run_playbook 2 && grep -q 'changed=0 .*failed=0' <<<"$recap"; then
  pass "second run reports changed=0"
else
  cat "$work/run2.log"
  fail "second run is not idempotent"
fi

health=$(curl -sk --max-time 5 https://127.0.0.1:443/healthz)
[ "$health" = '{"status":"ok"}' ] && pass "/healthz" || fail "/healthz answered '$health'"
login=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"email":"admin@wirebox.test","password":"ansible-test-password"}' https://127.0.0.1:443/login)
[ "$login" = 200 ] && pass "the first admin can log in" || fail "admin login answered $login"
users=$($SUDO wirectl --config /etc/wirebox/wirebox.conf user list --json 2>&1)
grep -q '"admin@wirebox.test"' <<<"$users" && pass "wirectl (admin socket in /run/wirebox) lists the first admin" ||
  fail "wirectl user list answered: $users"
finish
