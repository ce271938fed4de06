#!/usr/bin/env bash
# Starts three replicas on one PostgreSQL (see sonde.toml beside this file)
# and stops them all on Ctrl-C. Run from the repository root after
# `cargo build`; set SONDE_STORE_URL first (a database the role owns).
set -euo pipefail
: "${SONDE_STORE_URL:?set SONDE_STORE_URL=postgres://user:password@host:5432/database}"
export SONDE_ADMIN_KEY="${SONDE_ADMIN_KEY:-change-me-admin-key}"
export SONDE_ACME_KEY="${SONDE_ACME_KEY:-change-me-acme-key}"
config="$(dirname "$0")/sonde.toml"
pids=()
for i in 1 2 3; do
  ./target/debug/sonde serve --config "$config" --replica-id "replica-$i" \
    --listen "127.0.0.1:788$i" &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM EXIT
wait
