#!/usr/bin/env bash
# Set up the pinned runtime in .venv (created if missing) and open the lab in JupyterLab at notebook 00.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q -r requirements.txt
extra=()
[ "$(id -u)" = "0" ] && extra+=(--allow-root)  # JupyterLab refuses to run as root without it
exec jupyter lab "${extra[@]}" "$@" notebooks/00_start_here.ipynb
