#!/usr/bin/env bash
# Records rpcinfo-tcp-udp.pcap(ng): Debian's rpcbind and rpcinfo talking over
# TCP and UDP, IPv4 and IPv6 on loopback, with every RPC reply status rpcbind
# can be made to send (SUCCESS, PROG_MISMATCH, PROG_UNAVAIL, PROC_UNAVAIL).
# Needs: rpcbind, rpcinfo, tcpdump, editcap, gcc, libtirpc-dev. Run as root.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
rs_need rpcbind rpcinfo tcpdump editcap gcc
HERE="$SAMPLES_DIR/rpcbind"

gcc -O1 -Wall -I/usr/include/tirpc -o "$RS_TMP/rpc-probe" "$HERE/rpc-probe.c" -ltirpc
probe="$RS_TMP/rpc-probe"
# A made-up program in the transient range, registered and removed again.
FAKE_PROG=0x20000099

rs_start_rpcbind
rs_start_capture "$RS_TMP/rpcinfo.pcap" 'port 111'

run() { rs_log "\$ $*"; "$@" || rs_log "(exit $?)"; }
run rpcinfo -p 127.0.0.1                              # v4 GETADDR (tcp) + v2 DUMP
run "$probe" pmap-set $FAKE_PROG 1 17 40001           # v2 SET (udp)
run "$probe" pmap-getport $FAKE_PROG 1 17             # v2 GETPORT (udp)
run rpcinfo -T udp 127.0.0.1 100000 2                 # v2 NULL over udp
run rpcinfo -T tcp 127.0.0.1 100000 3                 # v3 NULL
run rpcinfo -T tcp 127.0.0.1 100000 4                 # v4 NULL
run rpcinfo -T tcp 127.0.0.1 100000 7                 # PROG_MISMATCH (low 2, high 4)
run "$probe" call tcp 111 100003 3 0                  # PROG_UNAVAIL: NFS is not served on 111
run "$probe" call tcp 111 100000 2 99                 # PROC_UNAVAIL over tcp
run "$probe" call udp 111 100000 4 42                 # PROC_UNAVAIL over udp
run rpcinfo -T tcp6 ::1 100000 4                      # IPv6, tcp
run rpcinfo -T udp6 ::1 100000 3                      # IPv6, udp
run rpcinfo -l 127.0.0.1 100000 4                     # v4 GETADDRLIST
run rpcinfo -m 127.0.0.1                              # v4 GETSTAT
run rpcinfo -s 127.0.0.1                              # v3 DUMP
run "$probe" pmap-unset $FAKE_PROG 1                  # v2 UNSET (udp)

rs_stop_capture
rs_stop_rpcbind

editcap -F pcapng "$RS_TMP/rpcinfo.pcap" "$RS_TMP/rpcinfo.pcapng"
rs_install "$RS_TMP/rpcinfo.pcap" "$HERE/rpcinfo-tcp-udp.pcap"
rs_install "$RS_TMP/rpcinfo.pcapng" "$HERE/rpcinfo-tcp-udp.pcapng"
