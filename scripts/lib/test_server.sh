# shellcheck shell=bash
# What the throwaway test servers (scripts/pg-test-server.sh,
# scripts/ceph-test-cluster.sh) share: their `start|stop DIR` command line and
# a free loopback port. Sourced; messages name the sourcing script ($0).

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

# test_server_args ARGS...: sets cmd and dir from `start|stop DIR`, or prints
# the usage and exits 2.
test_server_args() {
  [ $# -eq 2 ] || usage
  # shellcheck disable=SC2034  # read by the sourcing script
  cmd=$1
  dir=$2
  [ -n "$dir" ] || usage
}

# A TCP port free on 127.0.0.1 this instant (another process may take it
# before the caller binds it).
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}
