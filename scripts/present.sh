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
# sha256sum on Linux, shasum on macOS (which has no sha256sum)
if command -v sha256sum >/dev/null; then sum=(sha256sum); quiet=--status; else sum=(shasum -a 256); quiet=-s; fi
if ! "${sum[@]}" "$quiet" -c "$stamp" 2>/dev/null; then
  pip install -q -r requirements.txt
  "${sum[@]}" requirements.txt > "$stamp"
fi
exec python -m eda_sim present --notebooks notebooks "$@"
