#!/usr/bin/env bash
# Re-records every real-software sample, then regenerates tshark's reference
# decodes. Run as root on Debian 12 with the packages listed in
# samples/README.md. Each record.sh starts and stops its own daemons and
# leaves no process behind; they run one after another because several
# use rpcbind's fixed port 111.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
for scenario in rpcbind demo-service nfs libvirt; do
  echo "== $scenario" >&2
  "$HERE/$scenario/record.sh"
done
"$HERE/make-references.sh"
