#!/usr/bin/env bash
# Set up the test tools in .venv (created if missing) and run lint, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q -r requirements-dev.txt
ruff check .
python -m pytest "$@"
