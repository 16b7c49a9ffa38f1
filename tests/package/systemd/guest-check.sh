#!/bin/bash
# guest-check.sh — runs inside the systemd VM (scsipub-vm-check.service) and
# checks the packaged unit the way an operator meets it. Prints, to the serial
# console, one line per check: "VMCHECK ok|fail NAME detail", notes as
# "VMCHECK note NAME detail", long outputs as "VMLOG text", then "VMCHECK done".
# The unit powers the VM off when this script ends, whatever it returns.
#
# Everything it needs is in its own directory (the host put it there):
# params.sh, scsipub.deb, config-le.toml and config-caddy.toml (the package's
# conffile with [tls] pointed at certbot's or Caddy's layout), certs/*.crt|key.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$HERE/params.sh"  # GRACE_MS COOLDOWN_S EXPOSURE_MAX
export LC_ALL=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0

ok() { echo "VMCHECK ok $1 $(echo "${*:2}" | tr '\n' ' ')"; }
fail() { echo "VMCHECK fail $1 $(echo "${*:2}" | tr '\n' ' ')"; }
note() { echo "VMCHECK note $1 $(echo "${*:2}" | tr '\n' ' ')"; }
vmlog() { sed 's/^/VMLOG /'; }
# check NAME DETAIL CMD...: ok when CMD succeeds.
check() {
  local name=$1 detail=$2
  shift 2
  if "$@"; then ok "$name" "$detail"; else fail "$name" "$detail"; fi
}
# verdict NAME DETAIL: ok when the command just before it succeeded.
verdict() {
  local rc=$?
  if ((rc == 0)); then ok "$@"; else fail "$@"; fi
}
# wait_for SECS CMD...: polls CMD every 0.5 s until it succeeds or SECS pass.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
main_pid() { systemctl show -p MainPID --value scsipub.service; }
is_active() { [[ $(systemctl is-active scsipub.service) == active ]]; }
listening() { ss -ltnH "sport = :$1" | grep -q LISTEN; }
all_listening() { listening 3260 && listening 3261 && listening 8080; }
served_fp() {
  timeout 20 openssl s_client -connect 127.0.0.1:3261 </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
metric() { curl -sf --max-time 10 http://127.0.0.1:8080/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
journal_since() { journalctl -u scsipub.service -o cat --no-pager --since "@$1"; }
# restart_with CONFIG: CONFIG's text into /etc/scsipub/scsipub.toml (the
# package's owner and mode stay) and a restart.
restart_with() {
  cat "$HERE/$1" >/etc/scsipub/scsipub.toml
  systemctl daemon-reload
  timeout 90 systemctl restart scsipub.service
}
# expect_fp NAME WANT-FILE SECS: new handshakes serve WANT-FILE's certificate within SECS.
expect_fp() {
  local name=$1 want t0 got=
  want=$(file_fp "$2")
  t0=$(now_ms)
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    got=$(served_fp)
    [[ $got == "$want" ]] && break
    sleep 0.5
  done
  if [[ $got == "$want" ]]; then
    ok "$name" "handshake serves ${2##*/} (${want:0:23}...) after $(($(now_ms) - t0)) ms"
  else
    fail "$name" "handshake serves ${got:-nothing} after $3 s, want ${2##*/} $want"
  fi
}

# Where boot time goes (TCG is slow): kernel + initrd until systemd's first journal line.
pid1=$(journalctl -b -o short-monotonic --no-pager 2>/dev/null | grep -m1 'systemd\[1\]' | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
echo "VMCHECK note boot systemd (PID 1) logging at ${pid1:-?} s, checks start at $(cut -d' ' -f1 /proc/uptime) s of uptime"

# --- the package, installed the way an operator does, under a running systemd
t0=$(now_ms)
if out=$(timeout 300 apt-get install -y --no-install-recommends "$HERE/scsipub.deb" 2>&1); then
  ok package-install "apt-get install ./scsipub.deb in $(($(now_ms) - t0)) ms"
else
  fail package-install "apt-get install failed"
  echo "$out" | tail -n 20 | vmlog
fi
state=$(systemctl is-enabled scsipub.service 2>&1)
if [[ $state == enabled && -L /etc/systemd/system/multi-user.target.wants/scsipub.service ]]; then
  ok unit-enabled "is-enabled: $state, wanted by multi-user.target"
else
  fail unit-enabled "is-enabled: $state; /etc/systemd/system/multi-user.target.wants/scsipub.service $(ls -l /etc/systemd/system/multi-user.target.wants/scsipub.service 2>&1)"
fi
if wait_for 60 is_active; then
  ok postinst-started "active after the install (postinst started it), MainPID $(main_pid)"
else
  fail postinst-started "not active after the install: $(systemctl is-active scsipub.service)"
fi

# --- certbot's layout: live/ symlinks into archive/, readable by group scsipub
LE=/etc/letsencrypt
install -d -m 0750 -g scsipub "$LE" "$LE/live" "$LE/archive" "$LE/live/vmtest" "$LE/archive/vmtest"
install -m 0644 "$HERE/certs/le1.crt" "$LE/archive/vmtest/fullchain1.pem"
install -m 0640 -g scsipub "$HERE/certs/le1.key" "$LE/archive/vmtest/privkey1.pem"
ln -sfn ../../archive/vmtest/fullchain1.pem "$LE/live/vmtest/fullchain.pem"
ln -sfn ../../archive/vmtest/privkey1.pem "$LE/live/vmtest/privkey.pem"

t0=$(date +%s)
restart_with config-le.toml
if wait_for 60 is_active && wait_for 60 all_listening; then
  ok active "systemctl is-active: $(systemctl is-active scsipub.service) with [tls] on $LE/live/vmtest"
else
  fail active "systemctl is-active: $(systemctl is-active scsipub.service)"
fi
systemctl status scsipub.service --no-pager -l -n 8 2>&1 | vmlog
PID=$(main_pid)

# --- listeners, owned by the service's main process
ss_out=$(ss -ltnpH)
for port in 3260 3261 8080; do
  line=$(echo "$ss_out" | awk -v p=":$port" '$4 ~ p"$"')
  if [[ -n $line && $line == *"pid=$PID,"* ]]; then
    ok "listen-$port" "$(echo "$line" | awk '{print $4, $6}')"
  else
    fail "listen-$port" "MainPID $PID; ss: ${line:-nothing listens}"
  fi
done

# --- the sandbox as the kernel sees it
status=/proc/$PID/status
field() { awk -v f="$1:" '$1 == f { print $2 }' "$status"; }
user=$(ps -o user= -p "$PID" | tr -d ' ')
check run-as-user "user $user (uid $(field Uid))" test "$user" = scsipub
for f in CapEff CapPrm CapBnd CapInh CapAmb; do
  check "caps-$f" "$f $(field $f)" test "$(field $f)" = 0000000000000000
done
check no-new-privs "NoNewPrivs $(field NoNewPrivs)" test "$(field NoNewPrivs)" = 1
check seccomp "Seccomp $(field Seccomp) (2 = filter)" test "$(field Seccomp)" = 2
# ProtectSystem=strict: / read-only in the service's mount namespace, the data dir writable.
root_opts=$(awk '$5 == "/" { print $6 }' "/proc/$PID/mountinfo" | tail -n 1)
data_opts=$(awk '$5 == "/var/lib/scsipub" { print $6 }' "/proc/$PID/mountinfo" | tail -n 1)
[[ $root_opts == ro* && $data_opts == rw* ]]
verdict sandbox-readonly-root "/ mounted ${root_opts:-?}, /var/lib/scsipub ${data_opts:-not a mount}"
sec=$(timeout 120 systemd-analyze security --no-pager scsipub.service 2>&1)
echo "$sec" | grep -E '^✗' | vmlog
exposure=$(echo "$sec" | sed -n 's/.*Overall exposure level for scsipub.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
if [[ -n $exposure ]] && awk -v e="${exposure%% *}" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(e <= m) }'; then
  ok security-exposure "systemd-analyze security: $exposure (at most $EXPOSURE_MAX)"
else
  fail security-exposure "systemd-analyze security: ${exposure:-no score} (want at most $EXPOSURE_MAX)"
  echo "$sec" | tail -n 5 | vmlog
fi

# --- logins: libiscsi on the plain portal, a TLS handshake on 3261
if out=$(timeout 60 iscsi-inq iscsi://127.0.0.1/iqn.2025-01.pub.scsipub:blank/0 2>&1); then
  ok login-libiscsi "iscsi-inq: $(echo "$out" | grep -iE 'vendor|product' | head -n 2 | tr -s ' ')"
else
  fail login-libiscsi "iscsi-inq: $(echo "$out" | tail -n 2)"
fi
hs=$(timeout 30 openssl s_client -connect 127.0.0.1:3261 -brief </dev/null 2>&1)
if echo "$hs" | grep -q 'CONNECTION ESTABLISHED'; then
  ok tls-handshake "$(echo "$hs" | grep -E 'Protocol version|Ciphersuite' | tr -s ' ')"
else
  fail tls-handshake "$(echo "$hs" | tail -n 2)"
fi
expect_fp tls-serves-certbot-cert "$LE/archive/vmtest/fullchain1.pem" 30

# --- certbot renews: new files in archive/, live/ symlinks switched
r0=$(metric scsipub_tls_reloads_total)
install -m 0644 "$HERE/certs/le2.crt" "$LE/archive/vmtest/fullchain2.pem"
install -m 0640 -g scsipub "$HERE/certs/le2.key" "$LE/archive/vmtest/privkey2.pem"
ln -sfn ../../archive/vmtest/privkey2.pem "$LE/live/vmtest/privkey.pem.new"
ln -sfn ../../archive/vmtest/fullchain2.pem "$LE/live/vmtest/fullchain.pem.new"
mv -T "$LE/live/vmtest/privkey.pem.new" "$LE/live/vmtest/privkey.pem"
mv -T "$LE/live/vmtest/fullchain.pem.new" "$LE/live/vmtest/fullchain.pem"
sleep "$COOLDOWN_S"
expect_fp reload-certbot "$LE/archive/vmtest/fullchain2.pem" $((COOLDOWN_S + 30))
r1=$(metric scsipub_tls_reloads_total)
[[ -n $r0 && -n $r1 ]] && ((r1 > r0))
verdict reload-certbot-metric "scsipub_tls_reloads_total ${r0:-?} -> ${r1:-?}"

# --- SIGTERM: an open-iscsi session is asked to log out within shutdown_grace_ms
T=iqn.2025-01.pub.scsipub:blank
modprobe iscsi_tcp 2>/dev/null
if out=$(timeout 60 iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 2>&1) && echo "$out" | grep -q " $T\$" &&
  out=$(timeout 60 iscsiadm -m node -T "$T" -p 127.0.0.1:3260 --login 2>&1); then
  ok iscsiadm-login "$(echo "$out" | tail -n 1)"
else
  fail iscsiadm-login "$(echo "$out" | tail -n 2)"
fi
disk_of_session() {
  local b
  for b in /sys/class/iscsi_session/session*/device/target*/*/block/*; do
    [[ -e $b ]] && { echo "${b##*/}"; return; }
  done
}
session_has_disk() { [[ -n $(disk_of_session) ]]; }
modprobe sd_mod 2>/dev/null
if wait_for 60 session_has_disk && dev=/dev/$(disk_of_session) &&
  dd if="$dev" of=/dev/null bs=4096 count=16 iflag=direct 2>/dev/null; then
  ok iscsiadm-disk "$dev: $(blockdev --getsize64 "$dev") bytes, read 64 KiB"
else
  fail iscsiadm-disk "no readable disk for the session: $(iscsiadm -m session -P 3 2>&1 | grep -E 'State|Attached' | tr -s ' \t' ' ')"
  dmesg | grep -iE 'scsi|sd[a-z]' | tail -n 10 | vmlog
fi
PID=$(main_pid)
since=$(date +%s)
sleep 1  # journal --since has one-second resolution
t0=$(now_ms)
timeout 120 systemctl stop scsipub.service
stop_ms=$(($(now_ms) - t0))
if ((stop_ms < GRACE_MS)); then
  ok sigterm-stop-time "systemctl stop took $stop_ms ms, under shutdown_grace_ms $GRACE_MS: the initiator logged out when asked"
else
  fail sigterm-stop-time "systemctl stop took $stop_ms ms, shutdown_grace_ms $GRACE_MS: the grace period ran out"
fi
result=$(systemctl show -p Result --value scsipub.service) code=$(systemctl show -p ExecMainStatus --value scsipub.service)
check sigterm-exit "Result=$result ExecMainStatus=$code" test "$result/$code" = success/0
jl=$(journal_since "$since")
echo "$jl" | tail -n 8 | vmlog
line=$(echo "$jl" | grep -m1 'SIGTERM received: logging out')
[[ $line =~ logging\ out\ [1-9] ]]
verdict sigterm-logs-out "${line:-no 'SIGTERM received: logging out' line}"
echo "$jl" | grep -q 'stopped$'
verdict sigterm-stopped "scsipub logged 'stopped'"
il=$(journalctl -u iscsid.service -o cat --no-pager --since "@$since" 2>/dev/null | grep -i -m1 'requests logout')
check initiator-saw-logout-request "iscsid: ${il:-no 'requests logout' line}" test -n "$il"
note sessions-after-stop "$(iscsiadm -m session -P 1 2>&1 | grep -E 'Target:|iSCSI Session State|Internal iscsid' | tr -s ' \t' ' ')"
timeout 30 iscsiadm -m node -T "$T" -p 127.0.0.1:3260 --logout >/dev/null 2>&1
timeout 30 iscsiadm -m node -o delete >/dev/null 2>&1

# --- Caddy's layout under /var/lib/caddy: a new file renamed over the old one
id caddy >/dev/null 2>&1 || useradd --system --home-dir /var/lib/caddy --shell /usr/sbin/nologin caddy
CD=/var/lib/caddy/.local/share/caddy/certificates/local/vmtest
install -d -m 0750 -o caddy -g scsipub /var/lib/caddy /var/lib/caddy/.local /var/lib/caddy/.local/share \
  /var/lib/caddy/.local/share/caddy /var/lib/caddy/.local/share/caddy/certificates \
  /var/lib/caddy/.local/share/caddy/certificates/local "$CD"
install -m 0640 -o caddy -g scsipub "$HERE/certs/caddy1.crt" "$CD/vmtest.crt"
install -m 0640 -o caddy -g scsipub "$HERE/certs/caddy1.key" "$CD/vmtest.key"
DROPIN=/etc/systemd/system/scsipub.service.d/caddy-certs.conf
rm -f "$DROPIN"
since=$(date +%s)
restart_with config-caddy.toml
wait_for 60 is_active && wait_for 30 listening 8080
sleep 1
if listening 3261 && [[ $(served_fp) == "$(file_fp "$CD/vmtest.crt")" ]]; then
  note caddy-without-dropin "TLS serves $CD/vmtest.crt with the packaged unit alone (ProtectSystem=strict leaves /var/lib/caddy readable)"
else
  note caddy-without-dropin "TLS does not start with the packaged unit alone: $(journal_since "$since" | grep -m1 -i 'tls')"
fi
mkdir -p "${DROPIN%/*}"
printf '[Service]\nReadOnlyPaths=/var/lib/caddy\n' >"$DROPIN"
since=$(date +%s)
restart_with config-caddy.toml
if wait_for 60 is_active && wait_for 60 all_listening; then
  ok caddy-dropin-active "active with $DROPIN: $(systemctl show -p DropInPaths --value scsipub.service)"
else
  fail caddy-dropin-active "$(systemctl is-active scsipub.service); $(journal_since "$since" | grep -m1 -i 'tls')"
fi
expect_fp tls-serves-caddy-cert "$CD/vmtest.crt" 30
r0=$(metric scsipub_tls_reloads_total)
install -m 0640 -o caddy -g scsipub "$HERE/certs/caddy2.key" "$CD/.vmtest.key.tmp"
install -m 0640 -o caddy -g scsipub "$HERE/certs/caddy2.crt" "$CD/.vmtest.crt.tmp"
mv -T "$CD/.vmtest.key.tmp" "$CD/vmtest.key"
mv -T "$CD/.vmtest.crt.tmp" "$CD/vmtest.crt"
sleep "$COOLDOWN_S"
expect_fp reload-caddy "$CD/vmtest.crt" $((COOLDOWN_S + 30))
r1=$(metric scsipub_tls_reloads_total)
[[ -n $r0 && -n $r1 ]] && ((r1 > r0))
verdict reload-caddy-metric "scsipub_tls_reloads_total ${r0:-?} -> ${r1:-?}"
errors=$(journalctl -u scsipub.service -p err -o cat --no-pager -b 2>/dev/null | grep -v '^-- ' | head -n 5)
[[ -n $errors ]] && echo "$errors" | sed 's/^/errors logged: /' | vmlog
echo "VMCHECK note checks-done after $(cut -d' ' -f1 /proc/uptime) s of uptime"
echo "VMCHECK done"
