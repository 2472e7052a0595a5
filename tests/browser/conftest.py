"""Fixtures for the real-browser tests: JupyterLab and Voilà servers, headless Chromium.

The servers are started here as subprocesses on 127.0.0.1 with free ports and are always
stopped at the end of the session.  Chromium is Debian's system browser
(``/usr/bin/chromium``, or ``$EDA_CHROMIUM``); Playwright never downloads a browser.

When Playwright, Voilà or Chromium is missing the tests are skipped, except under
``CI=true``, where a missing piece is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "artifacts"
SCREENSHOT_DIR = ARTIFACTS_DIR / "screenshots"
LATENCY_FILE = ARTIFACTS_DIR / "browser_latency.json"

SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 20

# Flags for Debian's Chromium on a machine with no network but loopback.  Playwright adds
# --headless, --no-first-run and a fresh temporary --user-data-dir by itself.
# Every host name but localhost resolves to "not found" inside the browser, so a request to
# another host fails at once (the tests still see and report it) and never waits on a network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]

# JupyterLab user settings for the test server: no autosave (the test must never write
# outputs into the notebooks), no news/update checks, every cell attached to the DOM.
LAB_USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: real-browser test (JupyterLab/Voilà in headless Chromium)"
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip locally; fail under CI=true, where the browser test must really run."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the browser test must run, so this is a failure)")
    pytest.skip(reason)


def chromium_executable() -> str | None:
    candidate = os.environ.get("EDA_CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server subprocess in its own session, with its log in a file."""

    token = ""

    def __init__(self, name: str, argv: list[str], url: str, probe_url: str, log_path: Path,
                 env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.url = url
        self.probe_url = probe_url
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "<no log>"
        return "\n".join(lines[-n:])

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with code {self.proc.returncode} before answering "
                    f"{self.probe_url}.\n--- log tail ---\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.probe_url, timeout=5) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = repr(exc)
            time.sleep(0.5)
        self.stop()
        pytest.fail(
            f"{self.name} did not answer {self.probe_url} within {timeout:.0f} s "
            f"(last error: {last_error}).\n--- log tail ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            # SIGTERM lets jupyter_server / Voilà shut their kernels down cleanly.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()


def _server_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for sub in ("config", "runtime", "ipython"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    # Keep the developer's ~/.jupyter out of the test and the runtime files in a temp dir.
    env["JUPYTER_CONFIG_DIR"] = str(home / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(home / "runtime")
    env["IPYTHONDIR"] = str(home / "ipython")
    env.pop("JUPYTER_TOKEN", None)
    return env


@pytest.fixture(scope="session")
def browser_requirements() -> str:
    """Check the browser stack; return the Chromium path (skip, or fail under CI)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package 'playwright' (pip install playwright)")
    try:
        import voila  # noqa: F401
    except ImportError:
        missing.append("the Python package 'voila' (pip install voila)")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        missing.append("the Python package 'jupyterlab'")
    chromium = chromium_executable()
    if chromium is None:
        missing.append(
            "Chromium at /usr/bin/chromium or $EDA_CHROMIUM "
            "(apt-get install -y chromium chromium-driver; never 'playwright install')"
        )
    if missing:
        skip_or_fail("browser test needs " + "; ".join(missing))
    return chromium


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def browser(browser_requirements: str):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(
                executable_path=browser_requirements, headless=True, args=CHROMIUM_ARGS,
                timeout=60_000,
            )
        except PlaywrightError as exc:
            skip_or_fail(f"could not launch {browser_requirements} via Playwright: {exc}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def lab_server(browser_requirements: str, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("lab_home")
    settings_dir = home / "user-settings"
    for rel, value in LAB_USER_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (home / "workspaces").mkdir()
    port = free_port()
    token = secrets.token_hex(16)
    argv = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={REPO_ROOT}",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, toggle the side bar
    ]
    base = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        "JupyterLab", argv, url=base, probe_url=f"{base}/api/status?token={token}",
        log_path=home / "jupyterlab.log", env=_server_env(home), cwd=REPO_ROOT,
    )
    server.token = token
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def voila_server(browser_requirements: str, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("voila_home")
    port = free_port()
    argv = [
        sys.executable, "-m", "voila",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--show_tracebacks=True",
        str(REPO_ROOT),
    ]
    base = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        "Voilà", argv, url=base, probe_url=f"{base}/",
        log_path=home / "voila.log", env=_server_env(home), cwd=REPO_ROOT,
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def latency_report(artifacts_dir: Path):
    """Collects the latency results of all browser tests; written once at the end."""
    report: dict = {"target_ms": 150, "results": {}}
    yield report
    if report["results"]:
        LATENCY_FILE.write_text(json.dumps(report, indent=2) + "\n")
