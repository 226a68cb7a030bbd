#!/usr/bin/env bash
# Records the demo service (demo.x, built with rpcgen + libtirpc):
#   demo-tcp-udp.pcap + client-log.jsonl   full workload over TCP and UDP,
#       server registered with rpcbind, client looks it up (GETADDR);
#   baseline-1.pcap, baseline-2.pcap       the same short TCP workload twice;
#   variant-error.pcap                     server built with -DVARIANT_ERROR;
#   variant-delay.pcap                     server built with -DVARIANT_DELAY;
#   variant-extra-call.pcap                client run with -x (one more call);
# each regression capture with its <name>.client-log.jsonl.
# Needs: rpcbind, rpcgen, gcc, libtirpc-dev, tcpdump. Run as root.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
rs_need rpcbind rpcgen gcc tcpdump
HERE="$SAMPLES_DIR/demo-service"
PORT=23456   # must match tshark-args
BIN="$RS_TMP/build"
"$HERE/build.sh" "$BIN" >/dev/null

if rs_port_busy tcp $PORT || rs_port_busy udp $PORT; then
  rs_log "port $PORT is in use"; exit 3
fi

start_server() { # BINARY [ARGS...]
  rs_bg demo-server "$BIN/$1" -p $PORT "${@:2}"
  SERVER_PID=$RS_LAST_PID
  rs_wait_port tcp $PORT
  rs_wait_port udp $PORT
}

# --- the full workload, via rpcbind ---------------------------------------
rs_start_rpcbind
start_server demo-server -r
rs_start_capture "$RS_TMP/demo.pcap" "port 111 or port $PORT"
"$BIN/demo-client" -m full -l "$RS_TMP/client-log.jsonl"
rs_stop_capture
rs_stop "$SERVER_PID"
rs_stop_rpcbind
rs_install "$RS_TMP/demo.pcap" "$HERE/demo-tcp-udp.pcap"
rs_install "$RS_TMP/client-log.jsonl" "$HERE/client-log.jsonl"

# --- regression samples: TCP only, fixed port, no rpcbind ------------------
record_regression() { # NAME SERVER-BINARY [CLIENT-FLAGS...]
  local name="$1" server="$2"; shift 2
  start_server "$server"
  rs_start_capture "$RS_TMP/$name.pcap" "tcp port $PORT"
  "$BIN/demo-client" -m baseline -d $PORT -l "$RS_TMP/$name.jsonl" "$@"
  rs_stop_capture
  rs_stop "$SERVER_PID"
  rs_install "$RS_TMP/$name.pcap" "$HERE/$name.pcap"
  rs_install "$RS_TMP/$name.jsonl" "$HERE/$name.client-log.jsonl"
}
record_regression baseline-1 demo-server
record_regression baseline-2 demo-server
record_regression variant-error demo-server-error
record_regression variant-delay demo-server-delay
record_regression variant-extra-call demo-server -x
