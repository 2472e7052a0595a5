#!/usr/bin/env bash
# Set up the pinned runtime in .venv (created if missing) and open the lab in JupyterLab at notebook 00.
# The install runs again only when requirements.txt changed, so a prepared laptop starts offline.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
stamp=.venv/.requirements.sha256
# sha256sum on Linux, shasum on macOS (which has no sha256sum)
if command -v sha256sum >/dev/null; then sum=(sha256sum); quiet=--status; else sum=(shasum -a 256); quiet=-s; fi
if ! "${sum[@]}" "$quiet" -c "$stamp" 2>/dev/null; then
  pip install -q -r requirements.txt
  "${sum[@]}" requirements.txt > "$stamp"
fi
extra=()
[ "$(id -u)" = "0" ] && extra+=(--allow-root)  # JupyterLab refuses to run as root without it
# root_dir: the whole repository (README, docs) in the file browser, not just the notebook's folder
exec jupyter lab "${extra[@]}" --ServerApp.root_dir="$PWD" "$@" notebooks/00_start_here.ipynb
