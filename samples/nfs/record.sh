#!/usr/bin/env bash
# Records nfsv3.pcap and nfsv4.pcap: nfs-ganesha (VFS FSAL) exporting a
# scratch directory on 127.0.0.1, driven by libnfs-utils (nfs-ls, nfs-cat,
# nfs-cp). NFSv3 traffic includes MOUNT (EXPORT, MNT); libnfs 4.0 speaks
# NFSv4.0 (SETCLIENTID, COMPOUNDs). Each capture ends with an nfs-cat of a
# missing file (NFS3ERR_NOENT / NFS4ERR_NOENT).
# Needs: rpcbind, nfs-ganesha, nfs-ganesha-vfs, libnfs-utils, tcpdump. Root.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
rs_need rpcbind ganesha.nfsd nfs-ls nfs-cat nfs-cp tcpdump
HERE="$SAMPLES_DIR/nfs"
# A fixed export path keeps the MOUNT arguments the same on every run.
EXPORT=/tmp/rpcscope-nfs-export
MNT_PORT=20048
PLUGINS=$(dirname "$(dpkg -L nfs-ganesha-vfs 2>/dev/null | grep 'libfsalvfs.so$' | head -n1)")
[[ -d "$PLUGINS" ]] || { rs_log "libfsalvfs.so not found: install nfs-ganesha-vfs"; exit 2; }

for port in 2049 $MNT_PORT; do
  if rs_port_busy tcp $port; then rs_log "port $port is in use"; exit 3; fi
done

rm -rf "$EXPORT"
mkdir -p "$EXPORT/sub/deeper" "$RS_TMP/recovery" "$RS_TMP/down"
cleanup_export() { rm -rf "$EXPORT"; }
trap 'cleanup_export; rs_cleanup' EXIT
printf 'hello nfs\n' >"$EXPORT/hello.txt"
printf 'rpcscope sample: a small text file in a subdirectory\n' >"$EXPORT/sub/inner.txt"
printf 'deepest\n' >"$EXPORT/sub/deeper/leaf.txt"
# repeat TEXT BYTES: TEXT lines cut to BYTES (yes's SIGPIPE is expected).
repeat() { (yes "$1" || true) | head -c "$2"; }
repeat 'rpcscope NFS sample data, one line of many' 262144 >"$EXPORT/big.bin"
repeat 'upload line' 102400 >"$RS_TMP/upload-v3.bin"
repeat 'v4 upload' 3000 >"$RS_TMP/upload-v4.bin"   # libnfs 4.0 fails v4 WRITEs above ~3.9 KB

cat >"$RS_TMP/ganesha.conf" <<CONF
NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1;
  NFS_Port = 2049;
  MNT_Port = $MNT_PORT;
  Protocols = 3, 4;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Plugins_Dir = "$PLUGINS";
}
NFSv4 {
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = "$RS_TMP/recovery";
}
EXPORT {
  Export_Id = 1;
  Path = "$EXPORT";
  Pseudo = "/export";
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 3, 4;
  Transports = TCP;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = WARN; }
CONF

rs_start_rpcbind
rs_bg ganesha ganesha.nfsd -F -f "$RS_TMP/ganesha.conf" -L "$RS_TMP/ganesha-server.log" -p "$RS_TMP/ganesha.pid" -N NIV_WARN
GANESHA_PID=$RS_LAST_PID
rs_wait_port tcp 2049 100
rs_wait_port tcp $MNT_PORT 100
sleep 1

run() { rs_log "\$ $*"; "$@" || rs_log "(exit $?)"; }
FILTER="port 111 or port 2049 or port $MNT_PORT"

V3="nfs://127.0.0.1$EXPORT"
rs_start_capture "$RS_TMP/nfsv3.pcap" "$FILTER"
run nfs-ls -D nfs://127.0.0.1/                             # MOUNT EXPORT
run nfs-ls -R "$V3?version=3"                              # MNT, FSINFO, READDIRPLUS, LOOKUP...
run nfs-cat "$V3/hello.txt?version=3"                      # LOOKUP, ACCESS, READ
run nfs-cp "$V3/big.bin?version=3" "$RS_TMP/down/big3.bin" # READs
run nfs-cp "$RS_TMP/upload-v3.bin" "$V3/sub/upload-v3.bin?version=3"   # CREATE, WRITEs
run nfs-cat "$V3/missing.txt?version=3"                    # NFS3ERR_NOENT
rs_stop_capture

V4="nfs://127.0.0.1/export"
rs_start_capture "$RS_TMP/nfsv4.pcap" "$FILTER"
run nfs-ls -R "$V4?version=4"                              # SETCLIENTID, PUTROOTFH, READDIR...
run nfs-cat "$V4/hello.txt?version=4"                      # OPEN, READ, CLOSE
run nfs-cp "$V4/big.bin?version=4" "$RS_TMP/down/big4.bin" # READs
run nfs-cp "$RS_TMP/upload-v4.bin" "$V4/sub/upload-v4.bin?version=4"   # OPEN(create), WRITE
run nfs-cat "$V4/missing.txt?version=4"                    # NFS4ERR_NOENT
rs_stop_capture

cmp "$EXPORT/big.bin" "$RS_TMP/down/big3.bin"
cmp "$EXPORT/big.bin" "$RS_TMP/down/big4.bin"
cmp "$RS_TMP/upload-v3.bin" "$EXPORT/sub/upload-v3.bin"
cmp "$RS_TMP/upload-v4.bin" "$EXPORT/sub/upload-v4.bin"

rs_stop "$GANESHA_PID"
rs_stop_rpcbind
rs_install "$RS_TMP/nfsv3.pcap" "$HERE/nfsv3.pcap"
rs_install "$RS_TMP/nfsv4.pcap" "$HERE/nfsv4.pcap"
