#!/usr/bin/env bash
# Runs schemathesis (property-based tests generated from the OpenAPI documents) against the
# roles as `msai up` starts them over TLS on loopback, in a fresh deployment that is removed
# afterwards. Bounded: MAX_EXAMPLES per operation (default 50) and 5 minutes per run.
#
#   scripts/schemathesis.sh MSAI_BINARY
#
# Three runs: the data center as a recoverer (every check: a request the schema allows must not
# be refused, every answer must be documented), the data center and the cloud as an edge (the
# same checks but positive_data_acceptance: a τ or a membrane larger than the roles accept is
# valid by the schema alone, since JSON Schema cannot bound width × height).
set -euo pipefail
msai=$(realpath "$1")
examples=${MAX_EXAMPLES:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.build/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis==4.32.5'
fi

folder=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$folder"' EXIT
cd "$folder"
"$msai" init > /dev/null
ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r cloud_port dc_port <<< "$ports"
python3 - "$cloud_port" "$dc_port" <<'EOF'
import json, sys
c = json.load(open("msai.json"))
cloud, dc = sys.argv[1], sys.argv[2]
c.update(cloud_listen=f"127.0.0.1:{cloud}", cloud_url=f"https://127.0.0.1:{cloud}",
         datacenter_listen=f"127.0.0.1:{dc}", datacenter_url=f"https://127.0.0.1:{dc}")
json.dump(c, open("msai.json", "w"), indent=2)
EOF
"$msai" up > up.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "cloud listening" up.log && break; sleep 0.1; done
grep -q "cloud listening" up.log || { cat up.log; exit 1; }

field() { python3 -c "import json; c = json.load(open('msai.json')); print($1)"; }
recoverer=$(field 'c["recoverer_tokens"][0]')
edge=$(field 'c["edge_token"]')
metrics=$(field 'c["metrics_tokens"][0]')
dc_ca=$(field 'c["tls"]["datacenter_ca"]')
cloud_ca=$(field 'c["tls"]["cloud_ca"]')
st() {
    timeout 300 "$venv/bin/st" run --max-examples "$examples" --request-timeout 20 --no-color "$@"
}
status=0
echo "== data center, as a recoverer"
st "$here/docs/openapi/datacenter.json" --url "https://127.0.0.1:$dc_port" --tls-verify "$dc_ca" \
    -H "Authorization: Bearer $recoverer" --exclude-path /v1/keys --exclude-path /v1/taus --exclude-path /v1/frames --exclude-path /metrics --exclude-method POST || status=1
echo "== data center, as an edge"
st "$here/docs/openapi/datacenter.json" --url "https://127.0.0.1:$dc_port" --tls-verify "$dc_ca" \
    -H "Authorization: Bearer $edge" --include-path /v1/taus --exclude-checks positive_data_acceptance || status=1
echo "== cloud, as an edge"
st "$here/docs/openapi/cloud.json" --url "https://127.0.0.1:$cloud_port" --tls-verify "$cloud_ca" \
    -H "Authorization: Bearer $edge" --exclude-path /metrics --exclude-checks positive_data_acceptance || status=1
echo "== both, as a metrics scraper"
st "$here/docs/openapi/datacenter.json" --url "https://127.0.0.1:$dc_port" --tls-verify "$dc_ca" \
    -H "Authorization: Bearer $metrics" --include-path /metrics || status=1
st "$here/docs/openapi/cloud.json" --url "https://127.0.0.1:$cloud_port" --tls-verify "$cloud_ca" \
    -H "Authorization: Bearer $metrics" --include-path /metrics || status=1
exit $status
