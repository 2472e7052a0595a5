"""A real RabbitMQ node for the conformance tests, started once per session and always stopped.

Debian's ``rabbitmq-server`` (3.10, ``apt-get install rabbitmq-server``; ``.ci/run`` installs it) is run
directly, not as a system service: its node name, ports, data and log directories all live in a fresh
temporary directory, it listens on 127.0.0.1 only and loads no plugins. As root the node runs as the
``rabbitmq`` user (the Erlang VM refuses nothing as root, but the package's files belong to that user),
so the temporary directory is handed to it.

Without the package (or ``pika``) the tests are skipped with the reason, except under ``CI=true``,
where a skipped conformance suite would hide a defect: there they fail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SERVER = Path(os.environ.get("EDA_RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server"))
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def skip_or_fail(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the RabbitMQ conformance suite must run, so this is a failure)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen, epmd_port: int, env: dict, run_as: dict) -> None:
    """Stop the node's process group, then the epmd it started (only ours: it has our port)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT_S)
    epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
    if os.path.exists(epmd):
        subprocess.run([epmd, "-port", str(epmd_port), "-kill"], env=env, capture_output=True, timeout=10,
                       check=False, **run_as)


@pytest.fixture(scope="session")
def rabbitmq():
    """``(host, port)`` of a running RabbitMQ node, ready for AMQP connections as guest/guest."""
    try:
        import pika  # noqa: F401
    except ImportError:
        skip_or_fail("pika is not installed (pip install -r requirements-dev.txt)")
    if not SERVER.exists():
        skip_or_fail(f"{SERVER} not found: install Debian's rabbitmq-server (apt-get install rabbitmq-server)")
    run_as: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="eda-rabbitmq-"))
    if os.getuid() == 0:
        try:
            user = pwd.getpwnam("rabbitmq")
        except KeyError:
            skip_or_fail("running as root but there is no rabbitmq user to run the node as")
        run_as = {"user": user.pw_uid, "group": user.pw_gid}
    for sub in ("mnesia", "log"):
        (tmp / sub).mkdir()
    (tmp / "enabled_plugins").write_text("[].\n")
    (tmp / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
    if run_as:
        for path in [tmp, *tmp.rglob("*")]:
            os.chown(path, run_as["user"], run_as["group"])
    amqp, dist, epmd_port = _free_port(), _free_port(), _free_port()
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8",
        "RABBITMQ_NODENAME": f"edasim{os.getpid()}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(amqp),
        "RABBITMQ_DIST_PORT": str(dist), "ERL_EPMD_PORT": str(epmd_port), "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_MNESIA_BASE": str(tmp / "mnesia"), "RABBITMQ_LOG_BASE": str(tmp / "log"),
        "RABBITMQ_LOGS": "-", "RABBITMQ_CONFIG_FILE": str(tmp / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(tmp / "enabled_plugins"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    out = open(tmp / "server.out", "w")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen([str(SERVER)], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, **run_as)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(amqp):
            if proc.poll() is not None or time.monotonic() > deadline:
                out.flush()
                tail = (tmp / "server.out").read_text(errors="replace")[-3000:]
                pytest.fail(f"RabbitMQ did not start (exit {proc.poll()}); its output ends with:\n{tail}")
            time.sleep(0.2)
        yield "127.0.0.1", amqp
    finally:
        _stop(proc, epmd_port, env, run_as)
        out.close()
        shutil.rmtree(tmp, ignore_errors=True)
