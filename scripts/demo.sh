#!/usr/bin/env bash
# make demo: the three roles on this machine, on the bundled images.
#  1. msai evaluate: every image through the roles in-process, with every metric (OUT/evaluate/);
#  2. msai batch + msai report: the same images (and at the paper's 256x256), a report with tables
#     and histogram plots (OUT/batch/report.html);
#  3. msai up: the cloud and the data center as HTTP services on loopback, SQLite in OUT/roles/;
#  4. msai edge Datasets --verify: detect, mask, scramble, seal, send; recover each frame back
#     with the recoverer token (audited) and check it equals the original bit for bit;
#  5. msai frames: what a viewer gets (the masked view) and what the audit log says;
#  6. stop the roles (SIGTERM) and say where everything is.
set -euo pipefail
cd "$(dirname "$0")/.."
MSAI=.build/release/msai
OUT=${1:-runs/demo}
rm -rf "$OUT"
mkdir -p "$OUT/roles"

echo "== 1. msai evaluate Datasets (in-process roles, all metrics)"
"$MSAI" evaluate Datasets --out "$OUT/evaluate" > "$OUT/evaluate.txt"
grep -h '"psnr_recovered"' "$OUT"/evaluate/*.metrics.json | sort | uniq -c | sed 's/^/   psnr_recovered over all images:/'

echo "== 2. msai batch Datasets, then msai report (tables and histogram plots)"
"$MSAI" batch Datasets --out "$OUT/batch" > "$OUT/batch.txt"
grep -E "evaluated, " "$OUT/batch.txt" | sed 's/^/   /'
"$MSAI" report "$OUT/batch" | sed 's/^/   /'

echo "== 3. msai up (cloud and data center on loopback)"
"$MSAI" init --config "$OUT/roles/msai.json" --database "$OUT/roles/datacenter.sqlite" --cloud-port 0 --datacenter-port 0 --force > /dev/null
"$MSAI" up --config "$OUT/roles/msai.json" > "$OUT/roles/up.log" 2>&1 &
UP=$!
trap 'kill -TERM $UP 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "stop with" "$OUT/roles/up.log" 2>/dev/null && break; sleep 0.1; done
sed 's/^/   /' "$OUT/roles/up.log"
# The roles took free ports: tell the edge where they are.
export MSAI_DATACENTER_URL=$(sed -n 's/^data center listening on \(http[^ ]*\).*/\1/p' "$OUT/roles/up.log")
export MSAI_CLOUD_URL=$(sed -n 's/^cloud listening on \(http[^ ]*\).*/\1/p' "$OUT/roles/up.log")
[ -n "$MSAI_DATACENTER_URL" ] && [ -n "$MSAI_CLOUD_URL" ] || { echo "the roles did not start"; exit 1; }

echo "== 4. msai edge Datasets --verify"
"$MSAI" edge Datasets --config "$OUT/roles/msai.json" --verify | tee "$OUT/edge.txt" | tail -n 1 | sed 's/^/   /'

echo "== 5. msai frames: a viewer's masked view, and the audit log (a recoverer's)"
FIRST=$("$MSAI" frames list --config "$OUT/roles/msai.json" --json | sed -n 's/.*"frame_id" : "\([0-9a-f]*\)".*/\1/p' | head -n 1)
"$MSAI" frames masked "$FIRST" --config "$OUT/roles/msai.json" --out "$OUT/roles/first.masked-view.png" | sed 's/^/   /'
"$MSAI" frames audit --config "$OUT/roles/msai.json" > "$OUT/roles/audit.txt"
echo "   audit log: $(grep -c ' accepted ' "$OUT/roles/audit.txt") accepted, $(grep -c ' recovered ' "$OUT/roles/audit.txt") recovered (each with its reason), $(grep -c ' viewed masked ' "$OUT/roles/audit.txt") masked view(s)"

echo "== 6. stopping the roles"
kill -TERM $UP
wait $UP || true
trap - EXIT
tail -n 1 "$OUT/roles/up.log" | sed 's/^/   /'
echo
echo "Where things are:"
echo "  $OUT/evaluate/NAME.sealed: each frame exactly as it leaves the edge (only its tau id readable)"
echo "  $OUT/evaluate/NAME.{masked,areas,recovered}.png and NAME.metrics.json: inside the seal, the masked view, the original"
echo "  $OUT/batch/report.html: per-image tables, the paper's Tables 2 and 3 beside this run, histograms"
echo "  $OUT/roles/datacenter.sqlite: sealed frames, wrapped keys and the audit log; its master key is $OUT/roles/msai.master.key"
echo "  $OUT/roles/msai.json: the roles' addresses and tokens; $OUT/edge.txt: what the edge sent; $OUT/roles/audit.txt"
