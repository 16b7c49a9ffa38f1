#!/bin/bash
# Logins and idle sessions: scsipub against tgt (the reference target) with
# scsipub-sessions, side by side in one run.
#
#   bench/sessions.sh [--scsipub BIN] [--tool BIN] [--logins N] [--in-flight "1 32 128"]
#                     [--rss-sessions "1000 15000"] [--image-mib MIB] [--image-rss-sessions "1000"]
#                     [--disk-rss-sessions "1000 15000"] [--sessions-per-disk S]
#                     [--overlay-dir DIR] [--repeat R] [--live B] [--out FILE]
#
# Starts a private tgtd (one 64 MiB file-backed LUN) and a scsipub server
# (limits raised so only the machine limits the crowd: the load comes from 8
# source addresses standing in for thousands of hosts) on free 127.0.0.1
# ports. Then:
#   1. logins/s and target CPU per login with 1, 32 and 128 logins in flight
#      (N sessions logged in, then out; best of R repeats, each target in turn);
#   2. target RSS and fds per idle session with 1 000 and 15 000 sessions held
#      (scsipub `blank`, a catalog image of --image-mib MiB, and tgt's LUN),
#      and the target's CPU while they idle;
#   3. the same for provisioned disks (--disk-rss-sessions): an account and
#      `blank` disks made through `scsipub account` and the HTTP API, every
#      session logged in with CHAP, at most --sessions-per-disk (the tier
#      cap, 1..1024) per disk, so 15 000 sessions go to 15 disks. tgt has no
#      such target: its row there is its plain LUN without CHAP.
# An empty list ("") skips a phase; --in-flight "" skips the logins.
# Prints markdown tables with scsipub/tgt ratios; --out FILE appends them.
# --overlay-dir puts scsipub's free-tier overlays elsewhere (e.g. a tmpfs, to
# take the filesystem out of the login cost). --live B measures the logins
# while B other sessions (from 127.0.0.9-127.0.0.16) stay logged in to the
# same target: the cost of a login must not grow with the sessions live.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

scsipub_bin=$repo/build-rel/scsipub
tool=$repo/build-rel/bench/scsipub-sessions
logins=2000
in_flight="1 32 128"
rss_sessions="1000 15000"
image_rss_sessions="1000"
image_mib=1024
disk_rss_sessions="1000 15000"
sessions_per_disk=1024
overlay_dir=
repeat=2
hold=10
live=0
out=
cmdline="bench/sessions.sh$(printf ' %q' "$@")"
while (($#)); do
  case $1 in
    --scsipub) scsipub_bin=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    --logins) logins=$2; shift 2 ;;
    --in-flight) in_flight=$2; shift 2 ;;
    --rss-sessions) rss_sessions=$2; shift 2 ;;
    --image-rss-sessions) image_rss_sessions=$2; shift 2 ;;
    --image-mib) image_mib=$2; shift 2 ;;
    --disk-rss-sessions) disk_rss_sessions=$2; shift 2 ;;
    --sessions-per-disk) sessions_per_disk=$2; shift 2 ;;
    --overlay-dir) overlay_dir=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    --live) live=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) sed -n '2,29p' "$0" >&2; exit 2 ;;
  esac
done
[[ -x $tool ]] || die "no $tool (cmake --build build-rel --target scsipub-sessions)"
[[ -x $scsipub_bin ]] || die "no $scsipub_bin (cmake --build build-rel --target scsipub)"
require_tools tgtd tgtadm python3
if ! [[ $sessions_per_disk =~ ^[0-9]+$ ]] || ((sessions_per_disk < 1 || sessions_per_disk > 1024)); then
  die "--sessions-per-disk must be within 1..1024 (the tier limit max_sessions_per_disk)"
fi
if [[ -n ${disk_rss_sessions// /} ]]; then
  require_tools curl jq
  # shellcheck source=../tests/integration/provisioned_lib.sh
  source "$repo/tests/integration/provisioned_lib.sh"
  # shellcheck disable=SC2034 # read by scsipub_cli in provisioned_lib.sh
  PROV_BIN=$scsipub_bin
fi
# Every session is a socket in both processes; each stays under the hard limit.
ulimit -n "$(ulimit -Hn)"
sources=127.0.0.1-127.0.0.8

start_tgtd "" 64 || die "tgtd did not start"

cat >"$INTEG_TMP/sessions.toml" <<TOML
[iscsi]
max_sessions = 60000
max_connections = 60000
reserved_auth_sessions = 0
max_sessions_per_ip = 60000
max_connections_per_ip = 60000
max_logins_in_progress_per_ip = 256
[free_tier]
overlay_bytes_per_ip = 0
overlay_bytes_total = 0
# Provisioned disks: every crowd logs in with CHAP, from 8 addresses, with up
# to 128 exchanges at once; the brute-force throttle must not count them.
[auth]
chap_failures_per_minute = 1000000
chap_attempts_per_minute_per_ip = 1000000
[tiers.bench]
max_disks = 1000
max_sessions_per_disk = $sessions_per_disk
TOML
mkdir -p "$INTEG_TMP/images"
truncate -s "${image_mib}M" "$INTEG_TMP/images/big.img"
extra=()
[[ -n $overlay_dir ]] && extra+=(--overlay-dir "$overlay_dir")
fresh_scsipub() {
  if [[ -n $SCSIPUB_PID ]]; then stop_scsipub || log "scsipub did not stop cleanly"; fi
  rm -rf "$INTEG_TMP/data"
  SCSIPUB_LOG_LEVEL=warn start_scsipub "$scsipub_bin" --config "$INTEG_TMP/sessions.toml" --tls-listen off \
    "${extra[@]}" || die "scsipub did not start"
}
fresh_tgtd() {
  stop_tgtd
  start_tgtd "" 64 || die "tgtd did not start"
}
fresh_scsipub

# make_disks N: an account on the bench tier and enough `blank` disks for N
# sessions at $sessions_per_disk each; writes "IQN CHAP_USER CHAP_SECRET" per
# disk to $INTEG_TMP/disks.txt for scsipub-sessions --targets-file.
make_disks() {
  local n=$1 d count
  count=$(((n + sessions_per_disk - 1) / sessions_per_disk))
  prov_account bench --config "$INTEG_TMP/sessions.toml" || die "account create --tier bench failed"
  : >"$INTEG_TMP/disks.txt"
  chmod 600 "$INTEG_TMP/disks.txt"
  for ((d = 0; d < count; d++)); do
    create_disk "$ACC_TOKEN" '["blank"]' || die "cannot create disk $((d + 1)) of $count"
    [[ -n $DISK_TARGET && -n $DISK_USER && -n $DISK_SECRET ]] || die "disk without target or CHAP: $DISK_JSON"
    echo "$DISK_TARGET $DISK_USER $DISK_SECRET" >>"$INTEG_TMP/disks.txt"
  done
  DISK_COUNT=$count
}

# run TARGET-KIND SESSIONS IN-FLIGHT HOLD -> the RESULT line (or "RESULT failed=ERR")
run() {
  local kind=$1 n=$2 k=$3 secs=$4 portal pid res which
  case $kind in
    tgt) portal=$INTEG_HOST:$TGTD_PORT which=(--target "$TGT_IQN") pid=$TGTD_PID ;;
    blank) portal=$INTEG_HOST:$SCSIPUB_PORT which=(--target "$IQN_BLANK") pid=$SCSIPUB_PID ;;
    image) portal=$INTEG_HOST:$SCSIPUB_PORT which=(--target "$IQN_PREFIX:image.big") pid=$SCSIPUB_PID ;;
    disk) portal=$INTEG_HOST:$SCSIPUB_PORT which=(--targets-file "$INTEG_TMP/disks.txt") pid=$SCSIPUB_PID ;;
  esac
  res=$(timeout -k 5 600 "$tool" --portal "$portal" "${which[@]}" --sessions "$n" --in-flight "$k" \
    --sources "$sources" --target-pid "$pid" --hold "$secs" --settle 2 --give-up-seconds 90 2>"$INTEG_TMP/tool.err" | grep '^RESULT') ||
    { log "$kind n=$n k=$k: $(tail -n 2 "$INTEG_TMP/tool.err" | tr '\n' ' ')"; }
  echo "${res:-RESULT failed=ERR}"
}
field() { # field NAME RESULT-LINE
  python3 -c '
import sys
kv = dict(x.split("=", 1) for x in sys.argv[2].split()[1:] if "=" in x)
print(kv.get(sys.argv[1], "N/A"))' "$1" "$2"
}
ratio() {
  python3 -c '
import sys
try:
    a, b = float(sys.argv[1]), float(sys.argv[2])
    print(f"{a / b:.2f}" if b else "N/A")
except ValueError:
    print("N/A")' "$1" "$2"
}
best() { # best FIELD MODE LINES... -> the line with the max (mode max) or min field
  python3 -c '
import sys
name, mode, lines = sys.argv[1], sys.argv[2], sys.argv[3:]
def val(l):
    kv = dict(x.split("=", 1) for x in l.split()[1:] if "=" in x)
    try: return float(kv.get(name, "nan"))
    except ValueError: return float("nan")
ok = [l for l in lines if val(l) == val(l)]
print((max if mode == "max" else min)(ok, key=val) if ok else lines[0])' "$@"
}

# hold_live KIND: B sessions held in the background until the EXIT trap or unhold_live.
holder=
hold_live() {
  ((live > 0)) || return 0
  local portal target
  case $1 in
    tgt) portal=$INTEG_HOST:$TGTD_PORT target=$TGT_IQN ;;
    *) portal=$INTEG_HOST:$SCSIPUB_PORT target=$IQN_BLANK ;;
  esac
  "$tool" --portal "$portal" --target "$target" --sessions "$live" --in-flight 128 --sources 127.0.0.9-127.0.0.16 \
    --initiator-prefix iqn.2026-12.pub.scsipub.bench:live --hold 3600 --settle 0 >"$INTEG_TMP/live.out" 2>&1 &
  holder=$!
  integ_on_exit "kill -KILL $holder 2>/dev/null || true"
  local i
  for ((i = 0; i < 1800; i++)); do
    grep -q '^held' "$INTEG_TMP/live.out" && break
    sleep 0.1
  done
  log "$(grep '^held' "$INTEG_TMP/live.out" || echo 'held nothing') in the background on $1"
}
unhold_live() {
  [[ -n $holder ]] || return 0
  kill -TERM "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  holder=
}

# rss_row SESSIONS TARGET-LABEL RESULT-LINE: one row of the idle-sessions table.
rss_row() {
  echo "| $1 | $2 | $(field logged_in "$3") | $(field rss_kb_per_session "$3") | $(field fds_per_session "$3") | $(field idle_cpu_pct "$3") | $(field rss_kb_base "$3") | $(field rss_kb_after_logout "$3") |"
}

login_rows=() login_ratios=()
for k in $in_flight; do
  t_runs=() s_runs=()
  for ((r = 0; r < repeat; r++)); do
    log "logins: $logins sessions, $k in flight, round $((r + 1))"
    hold_live tgt
    t_runs+=("$(run tgt "$logins" "$k" 0)")
    unhold_live
    hold_live blank
    s_runs+=("$(run blank "$logins" "$k" 0)")
    unhold_live
  done
  t=$(best logins_per_s max "${t_runs[@]}") s=$(best logins_per_s max "${s_runs[@]}")
  tc=$(best cpu_ms_per_login min "${t_runs[@]}") sc=$(best cpu_ms_per_login min "${s_runs[@]}")
  login_rows+=("| $k | $(field logins_per_s "$t") | $(field logins_per_s "$s") | $(field cpu_ms_per_login "$tc") | $(field cpu_ms_per_login "$sc") | $(field retried "$s") |")
  login_ratios+=("| $k | $(ratio "$(field logins_per_s "$s")" "$(field logins_per_s "$t")") | $(ratio "$(field cpu_ms_per_login "$sc")" "$(field cpu_ms_per_login "$tc")") |")
done

rss_rows=()
for n in $rss_sessions; do
  for kind in tgt blank image; do
    if [[ $kind == image && " $image_rss_sessions " != *" $n "* ]]; then continue; fi
    log "idle: $n sessions on $kind"
    # A fresh process each time: memory freed by an earlier crowd is reused
    # without showing in RSS, which would understate the cost.
    if [[ $kind == tgt ]]; then fresh_tgtd; else fresh_scsipub; fi
    res=$(run "$kind" "$n" 128 "$hold")
    rss_rows+=("$(rss_row "$n" "$kind" "$res")")
  done
done

# Provisioned disks: CHAP logins to `blank` disks of a paid account, next to
# tgt's plain LUN (measured here unless the loop above already did).
for n in $disk_rss_sessions; do
  if [[ " $rss_sessions " != *" $n "* ]]; then
    log "idle: $n sessions on tgt (plain LUN, no CHAP)"
    fresh_tgtd
    rss_rows+=("$(rss_row "$n" "tgt (plain LUN, no CHAP)" "$(run tgt "$n" 128 "$hold")")")
  fi
  fresh_scsipub
  make_disks "$n"
  plural=
  ((DISK_COUNT > 1)) && plural=s
  log "idle: $n CHAP sessions on $DISK_COUNT provisioned disk$plural (at most $sessions_per_disk each)"
  rss_rows+=("$(rss_row "$n" "disk (CHAP, $DISK_COUNT blank disk$plural)" "$(run disk "$n" 128 "$hold")")")
done

stop_scsipub || log "scsipub did not stop cleanly"

report=$(
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — logins and idle sessions, scsipub vs tgt"
  echo
  echo "Command: \`$cmdline\` ($(nproc) CPUs shared with other jobs, $(uname -sr), load average at the end $(cut -d" " -f1-3 /proc/loadavg); scsipub-sessions from 8 source addresses ($sources); fd limit $(ulimit -n) per process; scsipub binary $scsipub_bin${overlay_dir:+, overlays in $overlay_dir})"
  echo
  echo "Logins ($logins sessions logged in per run, best of $repeat, $live other sessions live; CPU = target utime+stime over the login phase):"
  echo
  echo "| logins in flight | tgt logins/s | scsipub logins/s | tgt CPU ms/login | scsipub CPU ms/login | scsipub retries |"
  echo "|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${login_rows[@]}"
  echo
  echo "| logins in flight | logins/s scsipub/tgt | CPU per login scsipub/tgt |"
  echo "|---:|---:|---:|"
  printf '%s\n' "${login_ratios[@]}"
  echo
  echo "Idle sessions (target RSS and fds per session over the baseline, idle CPU over ${hold}s of hold):"
  echo
  echo "| sessions | target | logged in | RSS KB/session | fds/session | idle CPU % | RSS KB before | RSS KB after logout |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rss_rows[@]}"
)
echo "$report"
if [[ -n $out ]]; then
  printf '\n%s\n' "$report" >>"$out"
  log "appended to $out"
fi
