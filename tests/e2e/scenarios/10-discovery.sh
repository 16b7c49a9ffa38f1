#!/bin/sh
# e2e-group: basic
# e2e-targets: scsipub tgt
# SendTargets from the kernel initiator's userspace (iscsiadm -> iscsid) lists
# every expected target at the portal the guest can reach (10.0.2.2:PORT).
. /e2e/params.sh
. /e2e/lib.sh

out=$(iscsiadm -m discovery -t sendtargets -p "$E2E_PORTAL" 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  e2e_fail discovery "iscsiadm rc=$rc: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
  exit 1
fi
e2e_pass discovery "$(echo "$out" | wc -l) record(s)"
for t in $E2E_TARGETS; do
  if echo "$out" | grep -q "^$E2E_ADVERTISED_PORTAL,[0-9]* $t\$"; then
    e2e_pass "discovery-lists:${t##*:}" "$E2E_ADVERTISED_PORTAL $t"
  else
    e2e_fail "discovery-lists:${t##*:}" "not in: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
  fi
done
# Node records were created for each, under the advertised portal.
nodes=$(iscsiadm -m node 2>&1)
n=$(echo "$nodes" | grep -c .)
want=$(echo $E2E_TARGETS | wc -w)
if [ "$n" -ge "$want" ]; then e2e_pass discovery-node-records "$n"; else e2e_fail discovery-node-records "$n < $want: $nodes"; fi
iscsiadm -m node -o delete >/dev/null 2>&1
exit 0
