#!/usr/bin/env bash
# Run the whole suite. With CI=true a test whose real peer is missing fails instead of
# skipping (tests/peers.py), so a green CI run means every peer really ran.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
