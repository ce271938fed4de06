#!/usr/bin/env bash
# Unstructured's "Get source connection check"
# (seed: unstructured-get-source-connection-check.md).
#
#   SONDE_URL=... SONDE_KEY=... ./unstructured.sh SOURCE_ID
#
# SOURCE_ID (argument or environment) is a source's id, from
# GET /api/v1/sources. The source needs a check first (one runs every
# interval; POST to the same URL asks for one now), else the answer is 404.
# Prints {"id", "status", "reason", "created_at", "reported_at"}.
set -euo pipefail
SOURCE_ID="${1:-${SOURCE_ID:?usage: unstructured.sh SOURCE_ID}}"
UNSTRUCTURED_API_URL="${SONDE_URL:-http://127.0.0.1:7878}"
UNSTRUCTURED_API_KEY="${SONDE_KEY:-change-me-admin-key}" # the admin key of examples/sonde.toml

curl -sS --fail-with-body --request GET \
  --url "${UNSTRUCTURED_API_URL}/api/v1/sources/${SOURCE_ID}/connection-check" \
  --header "unstructured-api-key: ${UNSTRUCTURED_API_KEY}"
echo
