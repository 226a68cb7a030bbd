#!/usr/bin/env bash
# Records libvirt-test.pcap: libvirtd (private config, TCP on 127.0.0.1, no
# auth, no hypervisor driver modules) serving libvirt's built-in test driver
# to virsh over test+tcp://127.0.0.1/default: list, dominfo, an unknown
# domain (error reply), define/start/suspend/resume/destroy/undefine, while a
# second virsh receives the lifecycle events (libvirt MESSAGE packets).
# Needs: libvirt-daemon, libvirt-clients, tcpdump. Run as root.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
rs_need libvirtd virsh tcpdump
HERE="$SAMPLES_DIR/libvirt"

# 16509 is the port tshark's libvirt dissector knows; take another one only
# when it is busy, and tell make-references.sh through a tshark-args file.
PORT=16509
rm -f "$HERE/libvirt-test.pcap.tshark-args"
if rs_port_busy tcp $PORT; then
  PORT=16519
  rs_port_busy tcp $PORT && { rs_log "ports 16509 and 16519 are in use"; exit 3; }
  echo "-d tcp.port==$PORT,libvirt" >"$HERE/libvirt-test.pcap.tshark-args"
fi

mkdir -p "$RS_TMP/run" "$RS_TMP/no-drivers"
cat >"$RS_TMP/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
tcp_port = "$PORT"
listen_addr = "127.0.0.1"
auth_tcp = "none"
unix_sock_dir = "$RS_TMP/run"
log_outputs = "3:file:$RS_TMP/libvirtd-daemon.log"
CONF
cat >"$RS_TMP/demo2.xml" <<'XML'
<domain type='test'>
  <name>demo2</name>
  <uuid>0f0e0d0c-0b0a-4908-8706-050403020100</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
XML

# An empty driver directory: libvirtd refuses to start while loading its
# QEMU driver here, and the test driver is built into libvirt itself.
rs_bg libvirtd env LIBVIRT_DRIVER_DIR="$RS_TMP/no-drivers" \
  libvirtd --listen -f "$RS_TMP/libvirtd.conf" -p "$RS_TMP/libvirtd.pid"
LIBVIRTD_PID=$RS_LAST_PID
rs_wait_port tcp $PORT 100

URI="test+tcp://127.0.0.1:$PORT/default"
run() { rs_log "\$ virsh $*"; virsh -c "$URI" "$@" || rs_log "(exit $?)"; }

rs_start_capture "$RS_TMP/libvirt.pcap" "tcp port $PORT"
rs_bg virsh-event virsh -c "$URI" event --all --loop --timeout 6
EVENT_PID=$RS_LAST_PID
sleep 1.5   # let it register its event callbacks
run list --all
run dominfo test
run dominfo no-such-domain          # error reply (status ERROR)
run define "$RS_TMP/demo2.xml"
run start demo2
run suspend test
run resume test
run destroy demo2
run undefine demo2
run list --all
wait "$EVENT_PID" || true
cat "$RS_TMP/virsh-event.log" >&2
rs_stop_capture
rs_stop "$LIBVIRTD_PID"
grep -q "event 'lifecycle' for domain 'demo2': Started" "$RS_TMP/virsh-event.log" ||
  { rs_log "the event listener saw no events"; exit 1; }
rs_install "$RS_TMP/libvirt.pcap" "$HERE/libvirt-test.pcap"
