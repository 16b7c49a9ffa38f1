#!/bin/bash
# Runs one of the C++ integration programs against a fresh server.
#
#   run_program.sh isolation PROGRAM SCSIPUB_BIN
#   run_program.sh hostile   PROGRAM SCSIPUB_BIN [extra hostile args]
#   run_program.sh isolation PROGRAM --tgtd      # negative control: tgt shares its LUN,
#   run_program.sh hostile   PROGRAM --tgtd      #   so isolation MUST report violations
#
# Against scsipub the test also fails when the server died during the run or
# does not exit 0 within 10 s of SIGTERM afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

(($# >= 3)) || { echo "usage: $0 isolation|hostile PROGRAM SCSIPUB_BIN|--tgtd [args]" >&2; exit 2; }
what=$1 prog=$2 server=$3
shift 3
[[ -x $prog ]] || { log "program not built: $prog"; exit 1; }

if [[ $what == hostile ]]; then
  # The hostile program bounds the growth of the server's VmRSS. An ASan build
  # parks up to 256 MiB of freed memory in its quarantine, which shows up as
  # RSS that grows with every allocation, bounded or not; 16 MiB keeps
  # use-after-free detection for recent frees and makes RSS mean something.
  # (No effect on a build without ASan.)
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi

if [[ $server == --tgtd ]]; then
  require_tools tgtd tgtadm
  start_tgtd
  make_images "$INTEG_TMP/images"
  blank_url=$TGT_URL
  image_file=$INTEG_TMP/images/test.img
  image_url=$(tgtd_add_lun 2 "$image_file")
  overlays=-
  port=$TGTD_PORT target=$TGT_IQN lun=1
  server_pid=$TGTD_PID
  # tgt shares its one LUN between logins: give the honest sessions of the
  # hostile program separate LBA ranges there, or they overwrite each other.
  hostile_extra=(--disjoint-regions)
else
  start_scsipub "$server"
  blank_url=$(scsipub_url blank)
  image_url=$(scsipub_url image.test)
  image_file=$SCSIPUB_IMAGES_DIR/test.img
  overlays=$SCSIPUB_DATA_DIR/overlays
  port=$SCSIPUB_PORT target=$IQN_BLANK lun=0
  server_pid=$SCSIPUB_PID
  hostile_extra=()
fi

rc=0
case $what in
  isolation)
    timeout -k 5 300 "$prog" "$blank_url" "$image_url" "$image_file" "$overlays" "$@" || rc=$?
    ;;
  hostile)
    timeout -k 5 600 "$prog" --host "$INTEG_HOST" --port "$port" --target "$target" --lun "$lun" \
      --honest-url "$blank_url" --server-pid "$server_pid" "${hostile_extra[@]}" "$@" || rc=$?
    ;;
  *) echo "unknown program kind $what" >&2; exit 2 ;;
esac
((rc == 124)) && log "$what timed out"

if [[ $server == --tgtd ]]; then
  exit "$rc"
fi
stop_scsipub || rc=1   # also fails, with an explanation, if the server died
exit "$rc"
