#!/usr/bin/env bash
# Rebuild the lab's chart widget (eda_sim/lab/frontend/src -> eda_sim/lab/frontend/labextension) after editing
# its JavaScript. Needs Node.js and npm; learners never run this: the built files are committed and
# `pip install` copies them to <prefix>/share/jupyter/labextensions/eda-lab-charts.
set -euo pipefail
cd "$(dirname "$0")/../eda_sim/lab/frontend"
npm ci --no-audit --no-fund
core="$(python -c 'import jupyterlab, pathlib; print(pathlib.Path(jupyterlab.__file__).parent / "staging")')"
rm -rf labextension
node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$core" .
sha256sum src/index.js package.json > labextension/source.sha256
echo "built $(ls labextension/static | wc -l) files; reinstall with: pip install --no-deps ."
