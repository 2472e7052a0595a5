#!/usr/bin/env bash
# Build the wheel, install it into a fresh venv (its declared dependencies only, at the pinned versions),
# run every notebook's imports and the command line from outside the repository, then add the rest of
# the runtime set (requirements.txt, as Binder installs it) and require a clean `pip check`.
# Needs a package index (CI runs it before the tests); nothing here runs at lab time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
py="$tmp/venv/bin/python"
"$py" -m pip install -q --upgrade "pip>=24" "setuptools>=69" wheel
"$py" -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/dist" "$repo"
grep -E '^[A-Za-z0-9_.-]+==' "$repo/requirements.txt" > "$tmp/constraints.txt"
"$py" -m pip install -q -c "$tmp/constraints.txt" "$tmp"/dist/eda_sim-*.whl
cd "$tmp"  # not the repository: eda_sim must come from the installed wheel
"$py" "$repo/scripts/check_install.py" "$repo/notebooks"
grep -v -E '^\.$' "$repo/requirements.txt" > "$tmp/runtime.txt"
"$py" -m pip install -q -r "$tmp/runtime.txt"
"$py" -m pip check
echo "wheel, notebook imports, command line and pip check: ok"
