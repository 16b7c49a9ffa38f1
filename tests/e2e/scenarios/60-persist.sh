#!/bin/sh
# e2e-group: more
# e2e-targets: scsipub tgt
# SCSI inquiry and persistent reservations through the kernel (SG_IO on the
# sd device): sg_inq, then sg_persist register / read keys / reserve (Write
# Exclusive) / read reservation / write as holder / release / unregister.
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN
e2e_add_node "$IQN" || { e2e_fail pr-node "cannot create node record"; exit 1; }
e2e_check pr-login e2e_login "$IQN" || exit 1
dev=$(e2e_wait_disks "$IQN" 1 30 | head -n 1) || { e2e_fail pr-disk "no disk"; exit 1; }
inq=$(sg_inq "$dev" 2>&1)
echo "$inq"
vendor=$(echo "$inq" | sed -n 's/^ *Vendor identification: *//p')
product=$(echo "$inq" | sed -n 's/^ *Product identification: *//p')
[ -n "$vendor" ] && e2e_pass sg-inq "vendor='$vendor' product='$product'" || e2e_fail sg-inq "$(echo "$inq" | tail -n 2)"
e2e_check sg-inq-vpd83 sg_inq -p 0x83 "$dev"

KEY=0x123abc
keys=$(sg_persist -n -i -k "$dev" 2>&1)
if echo "$keys" | grep -qi 'invalid opcode\|command not supported'; then
  # The target has no PERSISTENT RESERVE IN/OUT. scsipub and tgt both have
  # it, so this is a failure unless E2E_REQUIRE_PR=0 (another target).
  if [ "${E2E_REQUIRE_PR:-1}" = 1 ]; then
    e2e_fail pr-supported "$(echo "$keys" | tr '\n' ' ')"
  else
    e2e_skip pr-supported "target rejects PERSISTENT RESERVE IN: $(echo "$keys" | tail -n 1)"
  fi
  e2e_check pr-logout e2e_logout "$IQN"
  exit 0
fi
e2e_pass pr-supported "PERSISTENT RESERVE IN answered"
echo "$keys" | grep -qi 'there are NO registered reservation keys' && e2e_pass pr-no-keys "none registered" || e2e_fail pr-no-keys "$(echo "$keys" | tr '\n' ' ')"
e2e_check pr-register sg_persist -n -o -G -S $KEY "$dev"
keys=$(sg_persist -n -i -k "$dev" 2>&1)
echo "$keys" | grep -qi "$KEY" && e2e_pass pr-read-keys "$(echo "$keys" | tr '\n' ' ' | cut -c1-120)" || e2e_fail pr-read-keys "$(echo "$keys" | tr '\n' ' ')"
e2e_check pr-reserve-we sg_persist -n -o -R -K $KEY -T 1 "$dev"
res=$(sg_persist -n -i -r "$dev" 2>&1)
echo "$res" | grep -qi "Key=$KEY" && echo "$res" | grep -qi 'Write Exclusive' && e2e_pass pr-read-reservation "$(echo "$res" | tr '\n' ' ' | cut -c1-160)" || e2e_fail pr-read-reservation "$(echo "$res" | tr '\n' ' ')"
e2e_pattern /tmp/pr.pat 4096
e2e_write "$dev" /tmp/pr.pat 0 >/dev/null
e2e_expect pr-holder-can-write "$(e2e_read_sha "$dev" 0 4096)" "$(sha256sum </tmp/pr.pat | cut -d' ' -f1)" "holder's write read back"
e2e_check pr-release sg_persist -n -o -L -K $KEY -T 1 "$dev"
res=$(sg_persist -n -i -r "$dev" 2>&1)
echo "$res" | grep -qi 'there is NO reservation held' && e2e_pass pr-released "no reservation" || e2e_fail pr-released "$(echo "$res" | tr '\n' ' ')"
e2e_check pr-unregister sg_persist -n -o -G -K $KEY -S 0 "$dev"
keys=$(sg_persist -n -i -k "$dev" 2>&1)
echo "$keys" | grep -qi 'there are NO registered reservation keys' && e2e_pass pr-unregistered "none left" || e2e_fail pr-unregistered "$(echo "$keys" | tr '\n' ' ')"
e2e_check pr-logout e2e_logout "$IQN"
exit 0
