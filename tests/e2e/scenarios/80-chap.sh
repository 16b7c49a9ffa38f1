#!/bin/sh
# e2e-group: reconnect
# e2e-targets: scsipub
# e2e-needs: disk
# A provisioned disk (run.sh made one over the API before this boot) requires
# CHAP: anonymous SendTargets does not list it; a login with AuthMethod None,
# a login with the right user and a wrong secret, and a CHAP discovery with a
# wrong secret all fail with iscsiadm's "authorization failure" (exit 24:
# the target answered login status 02/01), and no session is left. At most 3 failed CHAP
# attempts, below the server's per-address limit (chap_failures_per_minute,
# default 5), so the next scenario can still log in from the same address.
. /e2e/params.sh
. /e2e/lib.sh
if [ -z "${E2E_DISK_IQN:-}" ]; then
  e2e_fail chap-setup "no provisioned disk in params (see the host-provision result)"
  exit 1
fi
IQN=$E2E_DISK_IQN
P=$E2E_DISK_PORTAL
node() { iscsiadm -m node -T "$IQN" -p "$P" "$@"; }
dbst() { iscsiadm -m discoverydb -t sendtargets -p "$P" "$@"; }
no_session() { ! iscsiadm -m session 2>/dev/null | grep -q " $IQN "; }
# Earlier scenarios ran anonymous discovery on this portal: start clean.
dbst -o delete >/dev/null 2>&1
iscsiadm -m node -o delete >/dev/null 2>&1

# 1. Anonymous SendTargets lists the free targets, not the disk.
out=$(iscsiadm -m discovery -t sendtargets -p "$P" 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  e2e_fail chap-anon-discovery "iscsiadm rc=$rc: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
elif echo "$out" | grep -q "$IQN"; then
  e2e_fail chap-anon-discovery "anonymous SendTargets lists the disk: $(echo "$out" | grep "$IQN")"
elif echo "$out" | grep -q " $E2E_BLANK_IQN\$"; then
  e2e_pass chap-anon-discovery "$(echo "$out" | wc -l) free target(s), not disk.$E2E_DISK_ID"
else
  e2e_fail chap-anon-discovery "the free targets are missing: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
fi
iscsiadm -m node -o delete >/dev/null 2>&1
dbst -o delete >/dev/null 2>&1

# 2. AuthMethod None (a plain `-o new` + --login, as for a free target).
node -o new >/dev/null
node -o update -n node.session.auth.authmethod -v None
out=$(node --login 2>&1)
rc=$?
if [ $rc -eq 24 ] && no_session; then
  e2e_pass chap-none-refused "rc=$rc: $(echo "$out" | grep -i 'fail\|error' | tail -n 1 | cut -c1-160)"
else
  e2e_fail chap-none-refused "login without CHAP: rc=$rc $(echo "$out" | tail -n 1)"
  node --logout >/dev/null 2>&1
fi

# 3. The right user, a wrong secret.
node -o update -n node.session.auth.authmethod -v CHAP
node -o update -n node.session.auth.username -v "$E2E_DISK_USER"
node -o update -n node.session.auth.password -v "$E2E_DISK_WRONG_SECRET"
out=$(node --login 2>&1)
rc=$?
if [ $rc -eq 24 ] && no_session; then
  e2e_pass chap-wrong-secret-refused "rc=$rc: $(echo "$out" | grep -i 'fail\|error' | tail -n 1 | cut -c1-160)"
else
  e2e_fail chap-wrong-secret-refused "login with a wrong secret: rc=$rc $(echo "$out" | tail -n 1)"
  node --logout >/dev/null 2>&1
fi
node -o delete >/dev/null 2>&1

# 4. CHAP discovery with a wrong secret finds nothing.
dbst -o new >/dev/null
dbst -o update -n discovery.sendtargets.auth.authmethod -v CHAP
dbst -o update -n discovery.sendtargets.auth.username -v "$E2E_DISK_USER"
dbst -o update -n discovery.sendtargets.auth.password -v "$E2E_DISK_WRONG_SECRET"
out=$(dbst --discover 2>&1)
rc=$?
if [ $rc -eq 24 ] && ! echo "$out" | grep -q "$IQN"; then
  e2e_pass chap-wrong-secret-discovery "rc=$rc: $(echo "$out" | tail -n 1 | cut -c1-160)"
else
  e2e_fail chap-wrong-secret-discovery "rc=$rc: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
fi
dbst -o delete >/dev/null 2>&1
iscsiadm -m node -o delete >/dev/null 2>&1
exit 0
