# Shared helpers for the samples/*/record.sh scripts. Source it; do not run it.
#
# Every daemon and the capture itself are started through rs_bg, which keeps
# their PIDs; an EXIT trap ends them (by PID, newest first) and removes the
# scratch directory, so a failed or interrupted run leaves nothing behind.
# Only loopback addresses (127.0.0.1, ::1) are ever used.

set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RS_TMP="$(mktemp -d /tmp/rpcscope-rec.XXXXXX)"
chmod 755 "$RS_TMP"
RS_PIDS=()
RS_CAPTURE_PID=""

rs_log() { printf '[%s] %s\n' "$(basename "$(dirname "$0")")" "$*" >&2; }

rs_cleanup() {
  local i pid
  for ((i = ${#RS_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${RS_PIDS[$i]}"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      # Give a daemon a moment to unregister and exit; then insist.
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  RS_PIDS=()
  if [[ -z "${RS_KEEP_TMP:-}" ]]; then rm -rf "$RS_TMP"; else rs_log "kept $RS_TMP"; fi
}
trap rs_cleanup EXIT

rs_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { rs_log "missing command: $c"; exit 2; }
  done
}

# rs_bg LOGNAME CMD ARGS... : start a background process, remember its PID.
rs_bg() {
  local name="$1"; shift
  "$@" >"$RS_TMP/$name.log" 2>&1 &
  RS_LAST_PID=$!
  RS_PIDS+=("$RS_LAST_PID")
}

# rs_stop PID : end one process we started and forget it.
rs_stop() {
  local pid="$1" i
  kill "$pid" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for i in "${!RS_PIDS[@]}"; do
    [[ "${RS_PIDS[$i]}" == "$pid" ]] && unset 'RS_PIDS[$i]'
  done
  RS_PIDS=("${RS_PIDS[@]}")
}

rs_port_busy() { # PROTO(tcp|udp) PORT
  local flag=-lnt
  [[ "$1" == udp ]] && flag=-lnu
  ss "$flag" "sport = :$2" | tail -n +2 | grep -q .
}

rs_wait_port() { # PROTO PORT [TRIES]
  local tries="${3:-50}"
  while ((tries-- > 0)); do
    rs_port_busy "$1" "$2" && return 0
    sleep 0.1
  done
  rs_log "nothing listens on $1 port $2"; return 1
}

# rpcbind in the foreground (-f) so its PID is ours; -w for warm start as
# Debian runs it. Its warm-start files are removed first: they would replay
# registrations left by an earlier run (e.g. NFS) into `rpcinfo -p`.
rs_start_rpcbind() {
  if rs_port_busy tcp 111 || rs_port_busy udp 111; then
    rs_log "port 111 is in use: stop the running rpcbind first"; exit 3
  fi
  rm -f /run/rpcbind/rpcbind.xdr /run/rpcbind/portmap.xdr
  rs_bg rpcbind rpcbind -f -w
  RS_RPCBIND_PID=$RS_LAST_PID
  rs_wait_port tcp 111
  rs_wait_port udp 111
}

rs_stop_rpcbind() {
  rs_stop "$RS_RPCBIND_PID"
  rm -f /run/rpcbind/rpcbind.xdr /run/rpcbind/portmap.xdr
}

# rs_start_capture OUTFILE FILTER : tcpdump on lo, then one second of quiet.
rs_start_capture() {
  local out="$1" filter="$2"
  rm -f "$out"
  rs_bg tcpdump tcpdump -i lo -U -s 0 -Z root -w "$out" "$filter"
  RS_CAPTURE_PID=$RS_LAST_PID
  local tries=50
  while ((tries-- > 0)) && ! grep -q listening "$RS_TMP/tcpdump.log" 2>/dev/null; do sleep 0.1; done
  sleep 1
}

rs_stop_capture() {
  sleep 1
  rs_stop "$RS_CAPTURE_PID"
  RS_CAPTURE_PID=""
  grep -E 'captured|dropped' "$RS_TMP/tcpdump.log" >&2 || true
}

# rs_install SRC DEST : move a finished capture into the samples tree.
rs_install() {
  install -m 644 "$1" "$2"
  rs_log "wrote $2 ($(stat -c %s "$2") bytes)"
}
