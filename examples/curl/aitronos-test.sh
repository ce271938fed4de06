#!/usr/bin/env bash
# Aitronos's "Test source connectivity"
# (seed: aitronos-test-source-connectivity.md): checks a stored source now.
#
#   SONDE_URL=... SONDE_KEY=... ./aitronos-test.sh SOURCE_ID [ORG_ID]
#
# SOURCE_ID is a source's id (GET /api/v1/sources); ORG_ID its organization
# (default org_acme, as in examples/sonde.toml). Both may be given in the
# environment instead. Prints {"status", "job_info"}.
set -euo pipefail
SOURCE_ID="${1:-${SOURCE_ID:?usage: aitronos-test.sh SOURCE_ID [ORG_ID]}}"
ORG_ID="${2:-${ORG_ID:-org_acme}}"
SONDE_URL="${SONDE_URL:-http://127.0.0.1:7878}"
ACCESS_TOKEN="${SONDE_KEY:-change-me-admin-key}" # the admin key of examples/sonde.toml

curl -sS --fail-with-body -X POST "${SONDE_URL}/v1/organizations/${ORG_ID}/knowledge/connectors/sources/test" \
  -H "Authorization: Bearer $ACCESS_TOKEN" \
  -H "Content-Type: application/json" \
  -d "{\"source_id\": \"${SOURCE_ID}\"}"
echo
