#!/bin/sh
# e2e-group: reconnect
# e2e-targets: scsipub
# e2e-needs: disk
# Two cluster nodes on one provisioned disk: two open-iscsi ifaces with their
# own InitiatorName (nodeA, nodeB), one session each (same CHAP credentials),
# so LUN 0 shows up twice. The fencing sequence with SCSI-3 persistent
# reservations: A and B register (0xa1, 0xb2), A reserves Write Exclusive; B
# reads but its WRITE gets RESERVATION CONFLICT; the keys and the reservation
# survive a kill -9 of scsipub (same PRgeneration, both sessions log in again
# by themselves); A releases, B writes; A reserves again, B preempts A (A's
# writes conflict, only 0xb2 left); B logs out and in again: same ISID (same
# I_T nexus, B still holds the reservation) or a new one (a new nexus, which
# must register and preempt the old one). Clean-up: CLEAR, logouts, ifaces.
. /e2e/params.sh
. /e2e/lib.sh
if [ -z "${E2E_DISK_IQN:-}" ]; then
  e2e_fail pr2-setup "no provisioned disk in params (see the host-provision result)"
  exit 1
fi
IQN=$E2E_DISK_IQN
P=$E2E_DISK_PORTAL
INA=iqn.2025-01.pub.scsipub.e2e:node-a
INB=iqn.2025-01.pub.scsipub.e2e:node-b
KA=0xa1 KB=0xb2
# 4 KiB WRITE(10)s go to LBA 0x180000 (768 MiB) of LUN 0, away from 85's data.
LBA_HEX="00 18 00 00"
iscsiadm -m discoverydb -t sendtargets -p "$P" -o delete >/dev/null 2>&1
iscsiadm -m node -o delete >/dev/null 2>&1

sess_dir() { e2e_sess_of "$IQN" "$1"; }
lun0() { e2e_lun0_of "$IQN" "$1"; }
pr() { e2e_pr "$@"; }
gen() { e2e_pr_gen "$1"; }
# regs DEV: READ FULL STATUS as "KEY TRANSPORTID" lines (TransportID =
# InitiatorName,i,0xISID: the I_T nexus as the target sees it; the kernel
# does not show the ISID in sysfs).
regs() { pr -i -s "$1" | awk '/Key=/ { k = $0; sub(/.*Key=/, "", k); sub(/ .*/, "", k) } /,i,0x/ { print k " " $NF }'; }
# isid_of REGS INITIATORNAME: the ISIDs (0x...) of that initiator's registrations.
isid_of() { echo "$1" | grep " $2,i," | sed 's/.*,i,//' | tr '\n' ' ' | sed 's/ $//'; }
keys() { e2e_pr_keys "$1"; }
# try_write DEV: one 4 KiB WRITE(10) with sg_raw (past the page cache and the
# kernel's retries); prints ok, conflict or what else the target answered.
# A UNIT ATTENTION is retried (at most twice) and noted.
try_write() {
  head -c 4096 /dev/urandom >/tmp/pr2.w
  _note=
  for _ in 1 2 3; do
    _o=$(sg_raw -s 4096 -i /tmp/pr2.w "$1" 2a 00 $LBA_HEX 00 00 08 00 2>&1)
    _r=$?
    if [ $_r -eq 0 ]; then echo "ok$_note"; return 0; fi
    if echo "$_o" | grep -qi 'reservation conflict'; then echo "conflict$_note"; return 0; fi
    if echo "$_o" | grep -qi 'unit attention'; then
      _note="$_note (after UA: $(echo "$_o" | grep -i 'additional sense' | head -n 1 | sed 's/^ *//' | cut -c1-80))"
      continue
    fi
    echo "rc=$_r $(echo "$_o" | tr '\n' ' ' | cut -c1-200)"
    return 0
  done
  echo "UA three times$_note"
}
# expect_write NAME DEV WANT: WANT is ok or conflict.
expect_write() {
  _w=$(try_write "$2")
  case $_w in
    "$3"*) e2e_pass "$1" "WRITE(10) from $(basename "$2"): $_w" ;;
    *) e2e_fail "$1" "WRITE(10) from $(basename "$2"): got '$_w', want $3" ;;
  esac
}
# rd_ok DEV: a 4 KiB O_DIRECT read through the block layer works.
rd_ok() { dd if="$1" of=/dev/null bs=4096 count=1 skip=$((0x180000 / 8)) iflag=direct 2>/dev/null; }

# --- 1. two ifaces, two sessions ------------------------------------------
ok=1
for n in A B; do
  eval iname=\$IN$n
  iscsiadm -m iface -I node$n -o new >/dev/null || ok=0
  iscsiadm -m iface -I node$n -o update -n iface.initiatorname -v "$iname" >/dev/null || ok=0
  iscsiadm -m iface -I node$n -o update -n iface.transport_name -v tcp >/dev/null || ok=0
done
if [ $ok = 1 ] && iscsiadm -m iface -I nodeB | grep -q "^iface.initiatorname = $INB\$"; then
  e2e_pass pr2-ifaces "nodeA ($INA), nodeB ($INB)"
else
  e2e_fail pr2-ifaces "$(iscsiadm -m iface 2>&1 | tr '\n' ' ')"
  exit 1
fi
# The API's static commands (-o new, CHAP updates, --login), each with -I.
for n in A B; do
  cmds=$(printf '%s\n' "$E2E_DISK_STATIC_CMDS" | sed "/./s/\$/ -I node$n/")
  e2e_run_cmds pr2-login-$n "$cmds" || exit 1
done
DA=$(lun0 "$INA") && DB=$(lun0 "$INB") && [ "$DA" != "$DB" ] ||
  { e2e_fail pr2-two-devices "LUN 0 of A '$DA', of B '$DB'; $(iscsiadm -m session 2>&1 | tr '\n' ' ')"; exit 1; }
SA=$(sess_dir "$INA") SB=$(sess_dir "$INB")
e2e_pass pr2-two-devices "LUN 0 twice: A $DA ($(basename "$SA")), B $DB ($(basename "$SB"))"

# --- 2. register both, A reserves Write Exclusive ---------------------------
k=$(keys "$DA")
e2e_expect pr2-no-keys "$k" "" "no registration on the disk yet"
e2e_check pr2-register-a pr -o -G -S $KA "$DA"
e2e_check pr2-register-b pr -o -G -S $KB "$DB"
e2e_check pr2-reserve-a pr -o -R -K $KA -T 1 "$DA"
# Same CHAP user, two nexuses: one registration per InitiatorName+ISID.
R1=$(regs "$DB")
ISID_A=$(isid_of "$R1" "$INA") ISID_B=$(isid_of "$R1" "$INB")
if [ "$(echo "$R1" | wc -l)" = 2 ] && echo "$R1" | grep -q "^$KA $INA,i,0x" && echo "$R1" | grep -q "^$KB $INB,i,0x"; then
  e2e_pass pr2-full-status "$(echo "$R1" | tr '\n' ';')"
else
  e2e_fail pr2-full-status "READ FULL STATUS: $(pr -i -s "$DB" | tr -s ' \n' ' ' | cut -c1-300)"
fi

# --- 3. B reads, B's writes conflict ----------------------------------------
if rd_ok "$DB"; then e2e_pass pr2-b-reads "O_DIRECT read from $DB"; else e2e_fail pr2-b-reads "dd iflag=direct from $DB failed"; fi
expect_write pr2-b-write-conflicts "$DB" conflict
dmesg -c >/dev/null 2>&1
head -c 4096 /dev/urandom >/tmp/pr2.dd
if dd if=/tmp/pr2.dd of="$DB" bs=4096 count=1 seek=$((0x180000 / 8)) oflag=direct conv=notrunc 2>/dev/null; then
  e2e_fail pr2-b-dd-fails "dd oflag=direct from B succeeded under A's Write Exclusive reservation"
else
  e2e_pass pr2-b-dd-fails "dd oflag=direct fails; kernel: $(dmesg | grep -i 'conflict\|error' | tail -n 1 | cut -c1-120)"
fi
expect_write pr2-a-writes "$DA" ok
k=$(keys "$DB")
e2e_expect pr2-keys-from-b "$k" "$KA $KB " "B reads keys $k"
out=$(pr -i -k "$DB")
G1=$(gen "$out")
res=$(pr -i -r "$DB")
RES1=$(echo "$res" | grep -v 'generation' | tr -s ' \n' ' ')
if echo "$res" | grep -q "Key=$KA" && echo "$res" | grep -q 'type: Write Exclusive$'; then
  e2e_pass pr2-reservation-from-b "generation $G1,$RES1"
else
  e2e_fail pr2-reservation-from-b "$(echo "$res" | tr '\n' ' ')"
fi

# --- 4. kill -9 + restart of scsipub ----------------------------------------
e2e_signal restart-target
t0=$(e2e_uptime)
down=0
for _ in $(seq 1 150); do
  if [ "$(cat "$SA/state" 2>/dev/null)" != LOGGED_IN ] || [ "$(cat "$SB/state" 2>/dev/null)" != LOGGED_IN ]; then down=1; break; fi
  sleep 0.1
done
back=0
if [ $down = 1 ]; then
  for _ in $(seq 1 120); do
    sleep 0.5
    [ "$(cat "$SA/state" 2>/dev/null)" = LOGGED_IN ] && [ "$(cat "$SB/state" 2>/dev/null)" = LOGGED_IN ] || continue
    # The first command of each nexus after the restart may get a UNIT
    # ATTENTION; the block layer's read retries it.
    rd_ok "$DA" && rd_ok "$DB" && { back=1; break; }
  done
fi
t1=$(e2e_uptime)
if [ $back = 1 ]; then
  e2e_pass pr2-relogin "both sessions LOGGED_IN again after $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s, no manual login"
else
  e2e_fail pr2-relogin "dropped=$down A=$(cat "$SA/state" 2>/dev/null) B=$(cat "$SB/state" 2>/dev/null)"
  exit 1
fi
k=$(keys "$DB")
out=$(pr -i -k "$DB")
e2e_expect pr2-keys-survive "$k $(gen "$out")" "$KA $KB  $G1" "keys $k generation $(gen "$out")"
res=$(pr -i -r "$DB")
e2e_expect pr2-reservation-survives "$(gen "$res"),$(echo "$res" | grep -v 'generation' | tr -s ' \n' ' ')" "$G1,$RES1"
R2=$(regs "$DB")
e2e_expect pr2-nexuses-survive "$(echo "$R2" | tr '\n' ';')" "$(echo "$R1" | tr '\n' ';')" "same registrations (ISIDs $ISID_A, $ISID_B)"
expect_write pr2-b-write-conflicts-after-restart "$DB" conflict
expect_write pr2-a-writes-after-restart "$DA" ok

# --- 5. A releases, B writes -------------------------------------------------
e2e_check pr2-release-a pr -o -L -K $KA -T 1 "$DA"
res=$(pr -i -r "$DB")
echo "$res" | grep -qi 'NO reservation held' && e2e_pass pr2-released "no reservation" || e2e_fail pr2-released "$(echo "$res" | tr '\n' ' ')"
expect_write pr2-b-writes-after-release "$DB" ok

# --- 6. A reserves again, B preempts A ----------------------------------------
e2e_check pr2-reserve-a-again pr -o -R -K $KA -T 1 "$DA"
expect_write pr2-b-conflicts-again "$DB" conflict
e2e_check pr2-preempt-b pr -o -P -K $KB -S $KA -T 1 "$DB"
expect_write pr2-a-write-conflicts-after-preempt "$DA" conflict
k=$(keys "$DA")
e2e_expect pr2-only-b-key "$k" "$KB " "keys $k (read from A)"
res=$(pr -i -r "$DA")
echo "$res" | grep -q "Key=$KB" && echo "$res" | grep -q 'type: Write Exclusive$' &&
  e2e_pass pr2-b-holds "$(echo "$res" | tr -s ' \n' ' ')" || e2e_fail pr2-b-holds "$(echo "$res" | tr '\n' ' ')"
expect_write pr2-b-writes-as-holder "$DB" ok

# --- 7. B (the holder) logs out and in again ----------------------------------
nodeb() { iscsiadm -m node -T "$IQN" -p "$P" -I nodeB "$@"; }
e2e_check pr2-b-logout nodeb --logout
e2e_check pr2-b-login nodeb --login
DB=$(lun0 "$INB") || { e2e_fail pr2-b-relogin-device "no LUN 0 for B"; exit 1; }
SB=$(sess_dir "$INB")
rd_ok "$DB" || rd_ok "$DB" || true # consume a UNIT ATTENTION of the new login
R3=$(regs "$DB")
e2e_log "pr2 after B's re-login, registrations: $(echo "$R3" | tr '\n' ';')"
w=$(try_write "$DB")
case $w in
  ok*)
    e2e_pass pr2-b-write-after-relogin "WRITE(10) from $(basename "$DB"): $w"
    # Expected when open-iscsi kept the ISID: the same I_T nexus, still the
    # holder. Proof from the target: REGISTER AND IGNORE with the same key
    # leaves one registration of node-b (a new nexus would add a second).
    e2e_check pr2-b-reregister-same-key pr -o -I -S $KB "$DB"
    R4=$(regs "$DB")
    if [ "$(isid_of "$R4" "$INB")" = "$ISID_B" ]; then
      e2e_pass pr2-b-isid "ISID unchanged ($ISID_B) after logout + login: same I_T nexus, B still holds the reservation and writes"
    else
      e2e_fail pr2-b-isid "B's write worked, but node-b is now registered as: $(isid_of "$R4" "$INB")"
    fi
    ;;
  conflict*)
    e2e_pass pr2-b-write-after-relogin "WRITE(10) from $(basename "$DB"): $w (a new nexus)"
    # A new nexus (SPC-4): the old registration (0xb2, old ISID) still holds
    # the Write Exclusive reservation; the new nexus reads but cannot write
    # until it registers (REGISTER AND IGNORE EXISTING KEY) and preempts the
    # old registration.
    e2e_check pr2-b-register-ignore pr -o -I -S 0xb3 "$DB"
    R4=$(regs "$DB")
    ISID_B2=$(isid_of "$R4" "$INB")
    ISID_B2=${ISID_B2#"$ISID_B "}
    if [ -n "$ISID_B2" ] && [ "$ISID_B2" != "$ISID_B" ] && echo "$R4" | grep -q "^$KB $INB,i,$ISID_B\$"; then
      e2e_pass pr2-b-isid "ISID changed $ISID_B -> $ISID_B2 after logout + login: a new I_T nexus, its write conflicted"
    else
      e2e_fail pr2-b-isid "B's write conflicted, but the registrations are: $(echo "$R4" | tr '\n' ';')"
    fi
    e2e_check pr2-b-preempt-old-nexus pr -o -P -K 0xb3 -S $KB -T 1 "$DB"
    expect_write pr2-b-writes-after-reregister "$DB" ok
    KB=0xb3
    ;;
  *) e2e_fail pr2-b-isid "B's write after re-login: $w" ;;
esac
expect_write pr2-a-still-conflicts "$DA" conflict

# --- 8. clean up -------------------------------------------------------------
e2e_check pr2-clear pr -o -C -K $KB "$DB"
k=$(keys "$DA")
res=$(pr -i -r "$DA")
if [ -z "$k" ] && echo "$res" | grep -qi 'NO reservation held'; then e2e_pass pr2-cleared "no keys, no reservation"; else
  e2e_fail pr2-cleared "keys '$k' $(echo "$res" | tr '\n' ' ')"; fi
expect_write pr2-a-writes-after-clear "$DA" ok
bad=
for n in A B; do
  iscsiadm -m node -T "$IQN" -p "$P" -I node$n --logout >/tmp/pr2.c 2>&1 || bad="$bad logout-$n: $(tail -n 1 /tmp/pr2.c);"
done
# Both node records of the target (one per iface) at once.
iscsiadm -m node -T "$IQN" -p "$P" -o delete >/tmp/pr2.c 2>&1 || bad="$bad node delete: $(tail -n 1 /tmp/pr2.c);"
iscsiadm -m node 2>/dev/null | grep -q " $IQN\$" && bad="$bad node records left: $(find /etc/iscsi/nodes | tr '\n' ' ');"
for n in A B; do
  iscsiadm -m iface -I node$n -o delete >/tmp/pr2.c 2>&1 || bad="$bad iface-$n: $(tail -n 1 /tmp/pr2.c);"
done
iscsiadm -m session 2>/dev/null | grep -q "$IQN" && bad="$bad session left: $(iscsiadm -m session 2>&1 | tr '\n' ' ')"
if [ -z "$bad" ]; then e2e_pass pr2-cleanup "both logged out, node records and ifaces deleted"; else e2e_fail pr2-cleanup "$bad"; fi
exit 0
