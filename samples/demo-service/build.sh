#!/usr/bin/env bash
# Builds the demo service into OUT_DIR (default: a new temp dir, printed on
# stdout): rpcgen output, demo-server, its variants demo-server-error
# (-DVARIANT_ERROR) and demo-server-delay (-DVARIANT_DELAY), and demo-client.
# Needs rpcgen (rpcsvc-proto), gcc and libtirpc-dev. Nothing is written
# beside the sources.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$(mktemp -d /tmp/rpcscope-demo.XXXXXX)}"
mkdir -p "$OUT"
cp "$HERE/demo.x" "$OUT/demo.x"
cd "$OUT"
# -N: several arguments per procedure; -i 0: no inline code (bool arrays).
RPCGEN=(rpcgen -N -i 0)
"${RPCGEN[@]}" -h demo.x -o demo.h
"${RPCGEN[@]}" -c demo.x -o demo_xdr.c
"${RPCGEN[@]}" -m demo.x -o demo_svc.c
"${RPCGEN[@]}" -l demo.x -o demo_clnt.c
CC=(gcc -O1 -g -Wall -Wno-unused-variable -Wno-cast-function-type -I"$OUT" -I/usr/include/tirpc)
"${CC[@]}" -o demo-server "$HERE/demo_server.c" demo_svc.c demo_xdr.c -ltirpc
"${CC[@]}" -DVARIANT_ERROR -o demo-server-error "$HERE/demo_server.c" demo_svc.c demo_xdr.c -ltirpc
"${CC[@]}" -DVARIANT_DELAY -o demo-server-delay "$HERE/demo_server.c" demo_svc.c demo_xdr.c -ltirpc
"${CC[@]}" -o demo-client "$HERE/demo_client.c" demo_clnt.c demo_xdr.c -ltirpc
echo "$OUT"
