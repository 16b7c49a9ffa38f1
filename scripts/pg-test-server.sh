#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for the MetaStore tests.
#
#   scripts/pg-test-server.sh start DIR   # prints the URL as the last line
#   scripts/pg-test-server.sh stop DIR    # stops the cluster and removes DIR
#
# The cluster lives in DIR (created; must not exist or be empty), is owned by
# the `postgres` system user when run as root (by the caller otherwise),
# trusts every local connection (-A trust: test use only), listens on a unix
# socket in DIR and on 127.0.0.1 at a free port, and has a database
# `scsipub_test`. Typical use:
#
#   export SCSIPUB_TEST_PG_URL=$(scripts/pg-test-server.sh start /tmp/scsipub-pg | tail -1)
#   ctest ...   # or build/tests/db/db_tests
#   scripts/pg-test-server.sh stop /tmp/scsipub-pg
set -euo pipefail

# shellcheck source=lib/test_server.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/test_server.sh"
test_server_args "$@"

# Server binaries: PG_BINDIR, else pg_config's (server package), else Debian's.
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/15/bin; do
    if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then
      bindir=$candidate
      break
    fi
  done
fi
[ -n "$bindir" ] && [ -x "$bindir/pg_ctl" ] || {
  echo "$0: PostgreSQL server binaries not found (apt-get install -y postgresql, or set PG_BINDIR)" >&2
  exit 1
}

# Runs a command as the cluster owner.
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  id "$owner" >/dev/null 2>&1 || { echo "$0: no '$owner' system user" >&2; exit 1; }
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

case "$cmd" in
start)
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    echo "$0: $dir exists and is not empty" >&2
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chown "$owner" "$dir"
  chmod 700 "$dir"
  # The owner must be able to reach DIR (e.g. not under /root).
  as_owner test -w "$dir" || { echo "$0: $owner cannot write $dir; use a directory under /tmp" >&2; exit 1; }

  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

  # A port found free can be taken before the server binds it: retry a few.
  started=
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    # -w -t: bounded wait for the server to accept connections.
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on" start >/dev/null; then
      started=1
      break
    fi
  done
  [ -n "$started" ] || { echo "$0: server did not start" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"

  as_owner "$bindir/createdb" -h "$dir" -p "$port" -U postgres scsipub_test || {
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    exit 1
  }
  echo "postgresql://postgres@127.0.0.1:$port/scsipub_test"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
