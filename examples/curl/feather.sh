#!/usr/bin/env bash
# Feather's "Get Sync Status" (seed: feather-get-sync-status.md).
#
#   SONDE_URL=... SONDE_KEY=... ./feather.sh KB_ID SOURCE_ID
#
# KB_ID is the source's workspace (its `workspace` in the configuration),
# SOURCE_ID its id (GET /api/v1/sources); both may be given in the
# environment instead. Prints Feather's SyncStatusResponse.
set -euo pipefail
KB_ID="${1:-${KB_ID:?usage: feather.sh KB_ID SOURCE_ID}}"
SOURCE_ID="${2:-${SOURCE_ID:?usage: feather.sh KB_ID SOURCE_ID}}"
SONDE_URL="${SONDE_URL:-http://127.0.0.1:7878}"
SONDE_KEY="${SONDE_KEY:-change-me-admin-key}" # the admin key of examples/sonde.toml

curl -sS --fail-with-body "${SONDE_URL}/v1/knowledge-base/knowledge-bases/${KB_ID}/sources/${SOURCE_ID}/sync/status" \
  -H "x-api-key: ${SONDE_KEY}"
echo
