#!/usr/bin/env bash
# Presenter mode in one command: every notebook as a Voila app, code hidden, large text, dark theme.
#
#   bash scripts/present.sh                     # dark; prints and opens http://localhost:8866/voila/tree
#   bash scripts/present.sh --light --port 8870
#
# Sets up .venv like scripts/lab.sh (installing only when requirements.txt changed, so a prepared laptop
# starts offline). Without bash (Windows, or any shell), from the lab's folder with the lab installed:
#   python -m eda_sim present [--light] [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
stamp=.venv/.requirements.sha256
if ! sha256sum --status -c "$stamp" 2>/dev/null; then
  pip install -q -r requirements.txt
  sha256sum requirements.txt > "$stamp"
fi
exec python -m eda_sim present --notebooks notebooks "$@"
