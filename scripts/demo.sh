#!/usr/bin/env bash
# `make demo`: the main job end to end. Starts a render server on a free port, sends the example
# scenes (real glTF exported by pydrake, one per image type) through the render client, writes the
# images and human-viewable previews to out/, stops the server, and says where the images are.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/debug/gltf-cloud}
OUT=${OUT:-out}
mkdir -p "$OUT"
log=$(mktemp)
"$BIN" render-server --port 0 2>"$log" &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

url=""
for _ in $(seq 200); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -n 1 | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "demo: the render server failed to start" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { cat "$log" >&2; echo "demo: the render server did not report its address" >&2; exit 1; }
grep -m1 -o 'adapter.*' "$log" | sed 's/^/demo: /' || true
echo "demo: render server at $url"

for image_type in color depth label; do
  "$BIN" client --server-base-url "$url" --image-type "$image_type" --out "$OUT" "examples/$image_type/tabletop.gltf"
done
echo "demo: images and previews are in $OUT/:"
ls -1 "$OUT"
