#!/usr/bin/env bash
# Hasura's source health API (seed: hasura-source-health-check-api.md):
#   GET /healthz/sources, admin only.
#
#   SONDE_URL=http://127.0.0.1:7878 SONDE_KEY=<admin key> ./hasura.sh
#
# Prints {"<source name>": {"status", "error", "timestamp"}, ...}.
set -euo pipefail
SONDE_URL="${SONDE_URL:-http://127.0.0.1:7878}"
SONDE_KEY="${SONDE_KEY:-change-me-admin-key}" # the admin key of examples/sonde.toml

curl -sS --fail-with-body "${SONDE_URL}/healthz/sources" \
  -H "X-Hasura-Role: admin" \
  -H "X-Hasura-Admin-Secret: ${SONDE_KEY}"
echo
