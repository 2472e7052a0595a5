"""Presenter mode: every notebook of the lab as a Voila app, code hidden, large text, dark or light.

``python -m eda_sim present`` (``bash scripts/present.sh`` calls it) serves the notebooks folder with
the ``eda-lab-presenter`` Voila template (installed with the lab, see pyproject.toml) and prints the
address. It needs no network and runs as any user, root included (Voila has no root check).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

TEMPLATE = "eda-lab-presenter"
DEFAULT_PORT = 8866
#: Front-end extensions the Voila page must not load: the same list as voila.json at the repository root
#: (tests/test_cli.py checks they agree), repeated here so presenter mode works from any folder.
EXTENSION_DENYLIST = ["@jupyter-notebook/lab-extension", "jupyterlab-jupytext"]


def find_notebooks(folder: str | None) -> Path:
    """The folder to serve: ``folder``, else ./notebooks, else the current folder if it holds notebooks."""
    if folder is not None:
        path = Path(folder)
        if not path.is_dir():
            raise ValueError(f"--notebooks must be a folder of notebooks, got {folder!r}")
        return path.resolve()
    for path in (Path("notebooks"), Path(".")):
        if path.is_dir() and any(path.glob("[0-9][0-9]_*.ipynb")):
            return path.resolve()
    raise ValueError("no notebooks here: run this from the lab's folder (the one holding notebooks/), "
                     "or pass --notebooks PATH")


def check_port(port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
        raise ValueError(f"--port must be a whole number from 1024 to 65535, got {port!r}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ValueError(f"port {port} is already in use (another Voila or Jupyter?): "
                             f"stop it, or pass another --port") from None


def command(folder: Path, port: int, light: bool, open_browser: bool, ip: str = "localhost") -> list[str]:
    """The Voila command line for presenter mode."""
    argv = [sys.executable, "-m", "voila", str(folder),
            f"--port={port}", "--Voila.port_retries=0", f"--Voila.ip={ip}",
            f"--theme={'light' if light else 'dark'}",
            f"--template={TEMPLATE}"]
    argv += [f"--VoilaConfiguration.extension_denylist={name}" for name in EXTENSION_DENYLIST]
    if not open_browser:
        argv.append("--no-browser")
    return argv


def url(port: int) -> str:
    return f"http://localhost:{port}/voila/tree"


def main(light: bool = False, port: int = DEFAULT_PORT, notebooks: str | None = None,
         open_browser: bool = True) -> int:
    """Check the set-up, print the address, run Voila until Ctrl+C; return its exit code."""
    if importlib.util.find_spec("voila") is None:
        raise ValueError("presenter mode needs Voila: install the lab with pip install -r requirements.txt")
    folder = find_notebooks(notebooks)
    check_port(port)
    argv = command(folder, port, light, open_browser)
    print(f"Presenter mode ({'light' if light else 'dark'}): {url(port)}\n"
          f"  every notebook in {folder}, code hidden, large text. Stop with Ctrl+C.", flush=True)
    if os.name == "posix":  # become Voila: Ctrl+C and a plain kill reach it, no process is left behind
        os.execv(argv[0], argv)
    try:  # Windows: wait for it (Ctrl+C reaches both)
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 0
