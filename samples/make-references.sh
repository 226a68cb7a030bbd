#!/usr/bin/env bash
# Writes tshark's reference decode beside every capture under samples/
# (including samples/synthetic/ when it exists):
#   <capture>.tshark.ndjson           one line per ONC-RPC message
#   <capture>.tshark-libvirt.ndjson   one line per libvirt message (only when
#                                     tshark's libvirt dissector finds any)
# The tshark command and the normalisation live in tshark-normalize.mjs;
# `node samples/tshark-normalize.mjs --command CAPTURE` prints the command.
# Usage: samples/make-references.sh [CAPTURE...]   (default: all captures)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
command -v tshark >/dev/null || { echo "make-references: tshark is not installed" >&2; exit 2; }
NORMALIZE="$HERE/tshark-normalize.mjs"

if (($# > 0)); then
  captures=("$@")
else
  mapfile -t captures < <(find "$HERE" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
fi

for capture in "${captures[@]}"; do
  rel="${capture#"$HERE"/}"
  tmp="$(mktemp)"
  node "$NORMALIZE" "$capture" >"$tmp"
  mv "$tmp" "$capture.tshark.ndjson"
  chmod 644 "$capture.tshark.ndjson"
  calls=$(grep -c '"kind":"call"' "$capture.tshark.ndjson" || true)
  replies=$(grep -c '"kind":"reply"' "$capture.tshark.ndjson" || true)
  line="$rel: $calls calls, $replies replies"

  tmp="$(mktemp)"
  node "$NORMALIZE" --libvirt "$capture" >"$tmp"
  if [[ -s "$tmp" ]]; then
    mv "$tmp" "$capture.tshark-libvirt.ndjson"
    chmod 644 "$capture.tshark-libvirt.ndjson"
    line="$line, $(wc -l <"$capture.tshark-libvirt.ndjson") libvirt messages"
  else
    rm -f "$tmp" "$capture.tshark-libvirt.ndjson"
  fi
  echo "$line"
done
