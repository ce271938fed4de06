#!/usr/bin/env bash
# Aitronos's connector "Health check" (seed: aitronos-connector-health-check.md):
# the public check, then the organization-scoped one.
#
#   SONDE_URL=... SONDE_KEY=... ./aitronos-health.sh [ORG_ID]
#
# ORG_ID (argument or environment; default org_acme, as in
# examples/sonde.toml) is an organization the key may see. Prints one
# {"status", "available"} line per check; an unavailable service answers
# 503, and the script fails after printing it.
set -euo pipefail
ORG_ID="${1:-${ORG_ID:-org_acme}}"
SONDE_URL="${SONDE_URL:-http://127.0.0.1:7878}"
ACCESS_TOKEN="${SONDE_KEY:-change-me-admin-key}" # the admin key of examples/sonde.toml

# cURL — Public
curl -sS --fail-with-body "${SONDE_URL}/v1/knowledge/connectors/health"
echo

# cURL — Org-scoped
curl -sS --fail-with-body "${SONDE_URL}/v1/organizations/${ORG_ID}/knowledge/connectors/health" \
  -H "Authorization: Bearer $ACCESS_TOKEN"
echo
