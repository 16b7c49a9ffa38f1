# shellcheck shell=sh
# Helpers for the guest scenarios (busybox ash). Sourced by /init and by each
# scenario. Result lines go straight to the serial console, so they survive a
# scenario that is killed by its timeout.
#
#   e2e_pass / e2e_fail / e2e_skip NAME DETAIL    one E2E-RESULT line each
#   e2e_log TEXT                                  E2E-LOG line (diagnostics)
#   e2e_login IQN                                 iscsiadm --login on $E2E_PORTAL
#   e2e_logout IQN
#   e2e_disks IQN [SECONDS]                       block devices of IQN's session, LUN order
#   e2e_wait_disks IQN COUNT [SECONDS]           wait until COUNT disks appear; prints them
#   e2e_run_cmds NAME CMDS                        run the lines of CMDS (copy-paste from the API)
#   e2e_sess_of IQN INITIATOR / e2e_lun0_of IQN INITIATOR   one initiator's session dir / LUN 0 device
#   e2e_pr ARGS / e2e_pr_gen OUTPUT / e2e_pr_keys DEV       sg_persist helpers (persistent reservations)

E2E_CONSOLE=/dev/console
[ -w /dev/console ] || E2E_CONSOLE=/dev/stdout

e2e_result() { echo "E2E-RESULT $1 $2 $3" >"$E2E_CONSOLE"; }
e2e_pass() { e2e_result "$1" PASS "${2:-ok}"; }
e2e_fail() { e2e_result "$1" FAIL "${2:-failed}"; echo "$1" >>/tmp/e2e-fails; }
e2e_skip() { e2e_result "$1" SKIP "${2:-skipped}"; }
e2e_log() { echo "E2E-LOG $*" >"$E2E_CONSOLE"; }
# e2e_signal WHAT: ask the host to act (run.sh watches the console), e.g.
# "restart-target" (SIGKILL scsipub and start it again on the same port).
e2e_signal() { echo "E2E-SIGNAL $1" >"$E2E_CONSOLE"; }
e2e_uptime() { cut -d' ' -f1 /proc/uptime; }

# e2e_check NAME CMD...: PASS when CMD exits 0; FAIL with the tail of its output.
e2e_check() {
  _n=$1
  shift
  _out=$("$@" 2>&1)
  _rc=$?
  if [ $_rc -eq 0 ]; then
    e2e_pass "$_n" "$(echo "$_out" | tail -n 1 | cut -c1-160)"
    return 0
  fi
  e2e_fail "$_n" "rc=$_rc $(echo "$_out" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
  return 1
}

e2e_iqn() { echo "$E2E_IQN_PREFIX:$1"; }

e2e_login() {
  iscsiadm -m node -T "$1" -p "$E2E_PORTAL" --login
}
e2e_logout() {
  iscsiadm -m node -T "$1" -p "$E2E_PORTAL" --logout
}

# e2e_session_dir IQN: /sys/class/iscsi_session/sessionN of the target, if any.
e2e_session_dir() {
  for _s in /sys/class/iscsi_session/session*; do
    [ -f "$_s/targetname" ] || continue
    [ "$(cat "$_s/targetname")" = "$1" ] && { echo "$_s"; return 0; }
  done
  return 1
}

# e2e_disks IQN: /dev/sdX of every LUN of IQN's session, sorted by LUN.
e2e_disks() {
  _s=$(e2e_session_dir "$1") || return 1
  for _b in "$_s"/device/target*/*:*:*:*/block/*; do
    [ -e "$_b" ] || continue
    _hctl=$(basename "$(dirname "$(dirname "$_b")")")
    echo "${_hctl##*:} /dev/$(basename "$_b")"
  done | sort -n | cut -d' ' -f2
}

e2e_wait_disks() {
  _iqn=$1 _want=$2 _secs=${3:-30}
  _i=0
  while [ $_i -lt $((_secs * 10)) ]; do
    _d=$(e2e_disks "$_iqn")
    if [ -n "$_d" ] && [ "$(echo "$_d" | wc -l)" -ge "$_want" ]; then
      _ok=1
      for _x in $_d; do [ -b "$_x" ] || _ok=0; done
      [ $_ok = 1 ] && { echo "$_d"; return 0; }
    fi
    sleep 0.1
    _i=$((_i + 1))
  done
  echo "$_d"
  return 1
}

# e2e_sha DEV OFFSET_BYTES LEN_BYTES: sha256 of a range read with O_DIRECT.
# OFFSET and LEN must be multiples of 512.
e2e_sha() {
  dd if="$1" bs=512 skip=$(($2 / 512)) count=$(($3 / 512)) iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
}

# e2e_add_node IQN: create the node record for IQN at $E2E_PORTAL. With
# E2E_NODE_MODE=discovery (default) through SendTargets, which must hand out
# $E2E_PORTAL; with E2E_NODE_MODE=static through `-o new` (for targets such as
# tgt that advertise the address they listen on, 127.0.0.1 on the host, which
# the guest cannot reach).
e2e_add_node() {
  if [ "${E2E_NODE_MODE:-discovery}" = static ]; then
    iscsiadm -m node -o new -T "$1" -p "$E2E_PORTAL" >/dev/null
  else
    iscsiadm -m discovery -t sendtargets -p "$E2E_PORTAL" >/dev/null
  fi
}

# e2e_pattern FILE BYTES: BYTES of random data in FILE.
e2e_pattern() {
  head -c "$2" /dev/urandom >"$1"
}

# e2e_write DEV FILE OFFSET: write FILE at byte OFFSET with O_DIRECT, one write.
e2e_write() {
  _len=$(stat -c %s "$2")
  dd if="$2" of="$1" bs="$_len" count=1 seek="$3" oflag=seek_bytes,direct conv=notrunc 2>&1
}

# e2e_read_sha DEV OFFSET LEN: sha256 of LEN bytes at OFFSET, one O_DIRECT read.
e2e_read_sha() {
  dd if="$1" bs="$3" count=1 skip="$2" iflag=skip_bytes,direct 2>/dev/null | sha256sum | cut -d' ' -f1
}

# e2e_zero_sha LEN: sha256 of LEN zero bytes.
e2e_zero_sha() {
  head -c "$1" /dev/zero | sha256sum | cut -d' ' -f1
}

# e2e_expect NAME GOT WANT [DETAIL]: PASS when GOT = WANT.
e2e_expect() {
  if [ "$2" = "$3" ]; then e2e_pass "$1" "${4:-$2}"; else e2e_fail "$1" "got '$2' want '$3'"; fi
}

# e2e_run_cmds NAME CMDS: run each line of CMDS (shell command lines, as the
# API hands them out for copy-paste) with `sh -c`, in order, stopping at the
# first that fails. Every command and its output go to /tmp/NAME.out (the
# caller greps it, e.g. for what --discover printed). PASS/FAIL line NAME.
e2e_run_cmds() {
  _name=$1
  printf '%s\n' "$2" >/tmp/"$_name".cmds
  : >/tmp/"$_name".out
  _n=0
  while IFS= read -r _c; do
    [ -n "$_c" ] || continue
    _n=$((_n + 1))
    echo "\$ $_c" >>/tmp/"$_name".out
    sh -c "$_c" >>/tmp/"$_name".out 2>&1
    _rc=$?
    if [ $_rc -ne 0 ]; then
      e2e_fail "$_name" "command $_n rc=$_rc: $(echo "$_c" | cut -c1-160) -> $(tail -n 2 /tmp/"$_name".out | tr '\n' ' ' | cut -c1-200)"
      return 1
    fi
  done </tmp/"$_name".cmds
  e2e_pass "$_name" "$_n command(s), all exit 0"
}

# e2e_session_state IQN: the kernel's state of IQN's session (LOGGED_IN,
# FAILED, FREE, ...), empty when there is none.
e2e_session_state() {
  _s=$(e2e_session_dir "$1") || return 1
  cat "$_s/state" 2>/dev/null
}

# e2e_sess_of IQN INITIATORNAME: /sys/class/iscsi_session/sessionN of that
# initiator's session to IQN (several ifaces, one InitiatorName each).
e2e_sess_of() {
  for _s in /sys/class/iscsi_session/session*; do
    [ -f "$_s/targetname" ] || continue
    [ "$(cat "$_s/targetname")" = "$1" ] && [ "$(cat "$_s/initiatorname" 2>/dev/null)" = "$2" ] && { echo "$_s"; return 0; }
  done
  return 1
}

# e2e_lun0_of IQN INITIATORNAME: /dev/sdX of LUN 0 of that session (waits 30 s).
e2e_lun0_of() {
  for _ in $(seq 1 300); do
    if _s=$(e2e_sess_of "$1" "$2"); then
      for _b in "$_s"/device/target*/*:*:*:0/block/*; do
        [ -b "/dev/${_b##*/}" ] && { echo "/dev/${_b##*/}"; return 0; }
      done
    fi
    sleep 0.1
  done
  return 1
}

# e2e_pr ARGS...: sg_persist, once more when the first answer is a UNIT
# ATTENTION (registrations preempted / reservations released or cleared are
# reported to the other nexuses that way, SPC-4 5.13).
e2e_pr() {
  _o=$(sg_persist -n "$@" 2>&1)
  _r=$?
  if [ $_r -ne 0 ] && echo "$_o" | grep -qi 'unit attention'; then
    echo "$_o" | sed 's/^/(UA, retried) /'
    _o=$(sg_persist -n "$@" 2>&1)
    _r=$?
  fi
  echo "$_o"
  return $_r
}

# e2e_pr_gen OUTPUT: the PR generation sg_persist printed.
e2e_pr_gen() { echo "$1" | sed -n 's/.*PR generation=\(0x[0-9a-f]*\).*/\1/p' | head -n 1; }

# e2e_pr_keys DEV: the registered keys, sorted, space separated ("" when none).
e2e_pr_keys() { e2e_pr -i -k "$1" | grep -o '^ *0x[0-9a-f]*' | tr -d ' ' | sort | tr '\n' ' '; }
