"""Check an installed eda_sim (a wheel in a fresh venv): every notebook's imports, the sweep's progress
bar, and the command line, all from outside the repository so nothing comes from the source tree.

    python scripts/check_install.py NOTEBOOK_DIR

Prints one line per check and exits non-zero at the first failure. Used by scripts/check_wheel.sh (CI)
and by tests/test_packaging.py against the development install.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path


def notebook_imports(path: Path) -> list[str]:
    """Modules the code cells of one notebook import (magics and shell lines skipped)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    modules = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.append(node.module)
                modules += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    return list(dict.fromkeys(modules))


def check_module(name: str) -> None:
    """Import ``name``; for ``pkg.attr`` that is not a module, check the attribute exists."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        parent, _, attr = name.rpartition(".")
        if not parent or not hasattr(importlib.import_module(parent), attr):
            raise


def main(notebooks: Path) -> int:
    import eda_sim

    where = Path(eda_sim.__file__).resolve()
    repo = Path(__file__).resolve().parents[1]
    print(f"eda_sim {eda_sim.__version__} from {where.parent}")
    if repo in where.parents and "site-packages" not in str(where):
        print("FAIL: eda_sim was imported from the source tree, not from the installed package")
        return 1
    paths = sorted(notebooks.glob("*.ipynb"))
    if not paths:
        print(f"FAIL: no notebooks in {notebooks}")
        return 1
    for path in paths:
        modules = notebook_imports(path)
        for name in modules:
            check_module(name)
        print(f"ok  {path.name}: {len(modules)} imports")
    from eda_sim.sweep import _progress_bar

    _progress_bar(1, True).close()  # tqdm, which sweep() imports only when it shows a bar
    print("ok  sweep progress bar (tqdm)")
    for args in (["list"], ["run", "queue", "--set", "until=60", "--json"]):
        out = subprocess.run([sys.executable, "-m", "eda_sim", *args], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"FAIL: python -m eda_sim {' '.join(args)} exited {out.returncode}:\n{out.stderr}")
            return 1
        print(f"ok  python -m eda_sim {' '.join(args)}")
    summary = json.loads(out.stdout)
    if summary["produced"] <= 0 or summary["bound_hit"]:
        print(f"FAIL: the queue run looks wrong: {summary}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "notebooks"))
