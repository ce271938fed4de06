#!/usr/bin/env bash
# Fuzzes a fresh `sonde serve` with Schemathesis through its own
# /openapi.json, once with an admin key and once with an organization key.
#
# Run it inside a network namespace of its own (`unshare -n`, as
# tests/e2e/fuzz.rs does): generated sources name arbitrary hosts, and there
# the only interface is loopback, so no check the fuzzer causes can send a
# packet, or a DNS query, off this machine.
#
#   fuzz.sh SONDE_BINARY PYTHON WORKDIR [SECONDS_PER_KEY [EXAMPLES_PER_OPERATION]]
#
# tests/py/fuzz_hooks.py draws positive cases within the rules between
# values that the document states in words (see schemathesis.toml).
#
# One worker: with two threads, Hypothesis's lambda descriptions call
# ast.parse concurrently, and CPython 3.11 then fails now and then with
# "AST constructor recursion depth mismatch" inside Schemathesis itself
# (seen in CI on this branch), which is no finding about Sonde.
set -euo pipefail
sonde=$1 python=$2 work=$3 seconds=${4:-55} examples=${5:-100}
here=$(cd "$(dirname "$0")" && pwd)
ip link set lo up
mkdir -p "$work/plugins"
port=7979
admin=fuzz-admin-key-0001 org=fuzz-acme-key-0002
cat > "$work/sonde.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
plugins_dir = "$work/plugins"
cache_dir = "${SONDE_CACHE_DIR:-$work/compiled}"

# Generated sources are checked on their own schedule too: keep them cheap.
[defaults]
timeout = "2s"
retries = 0

[[keys]]
key = "$admin"
role = "admin"

[[keys]]
key = "$org"
organization = "org_acme"

[[sources]]
name = "seeded"
organization = "org_acme"
workspace = "6a1f3c2e-9b8d-4e7f-a1c2-3d4e5f6a7b8c"
type = "tcp"
config = { host = "127.0.0.1", port = $port }
TOML
"$sonde" serve --config "$work/sonde.toml" > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  "$python" -c "import urllib.request; urllib.request.urlopen('$base/livez')" 2>/dev/null && break
  sleep 0.1
done

# A source made over the API (file sources are the file's), so that the
# fuzzing phase updates a real one, not only random ids that answer 404.
export SONDE_FUZZ_SOURCE=$("$python" -c "
import json, sys, urllib.request
body = json.dumps({'name': 'fuzz-target', 'organization': 'org_acme', 'type': 'tcp',
                   'config': {'host': '127.0.0.1', 'port': $port}, 'interval': '1h'}).encode()
r = urllib.request.Request('$base/api/v1/sources/', data=body, method='POST',
                           headers={'x-api-key': sys.argv[1], 'content-type': 'application/json'})
print(json.load(urllib.request.urlopen(r))['id'])" "$admin")

status=0
for who in admin org; do
  key=${!who}
  echo "=== schemathesis with the $who key (${seconds}s)"
  "$python" -c "import sys, urllib.request; r = urllib.request.Request('$base/openapi.json', headers={'x-api-key': sys.argv[1]}); sys.stdout.write(urllib.request.urlopen(r).read().decode())" "$key" > "$work/openapi-$who.json"
  (cd "$work" && PYTHONPATH="$here" SCHEMATHESIS_HOOKS=fuzz_hooks \
      "$(dirname "$python")/st" --config-file "$here/schemathesis.toml" run "$work/openapi-$who.json" \
      --url "$base" -H "x-api-key: $key" --checks all --max-time "$seconds" --workers 1 \
      --max-examples "$examples" \
      --request-timeout 15 --seed 20261201 --report junit --report-dir "$work/report-$who") || status=1
done
if ! kill -0 $pid 2>/dev/null; then
  echo "sonde serve died during the run:"; tail -50 "$work/serve.log"; exit 1
fi
if grep -q "panicked" "$work/serve.log"; then
  echo "sonde serve panicked:"; grep -A5 panicked "$work/serve.log"; exit 1
fi
exit $status
