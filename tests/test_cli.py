"""The command line, ``python -m eda_sim``: listing, running, overrides, errors, and bit-for-bit runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eda_sim.__main__ import main
from eda_sim.experiments import get

SUMMARY_KEYS = ("produced", "delivered", "completed", "failed", "dropped", "dead_lettered", "in_flight",
                "duplicates", "throughput", "wait_mean", "latency_p50", "latency_p95", "latency_p99",
                "latency_max", "bound_hit")
SHORT = ["--set", "until=100"]  # about 800 messages: fast


def strict_json(text):
    """Parse one JSON document, refusing the non-standard NaN/Infinity tokens."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def run_json(capsys, *args):
    assert main(["run", "queue", "--json", *SHORT, *args]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one object on one line
    return strict_json(out)


def test_list_shows_the_queue_experiment_and_its_parameters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("queue ") and "M/M/c" in line for line in lines)
    assert "rate=8.0, service_mean=0.2, consumers=2, until=600.0, seed=1" in out


def test_no_command_lists_too(capsys):
    assert main([]) == 0
    assert "queue" in capsys.readouterr().out


def test_run_json_prints_the_summary(capsys):
    data = run_json(capsys)
    for key in SUMMARY_KEYS:
        assert key in data, key
    assert data["experiment"] == "queue"
    assert data["params"] == {"rate": 8.0, "service_mean": 0.2, "consumers": 2, "until": 100.0, "seed": 1}
    # the numbers are those of the experiment run in-process with the same parameters
    expected = get("queue")(until=100.0).summary
    for key in SUMMARY_KEYS:
        assert data[key] == expected[key], key
    assert 700 < data["produced"] < 900  # 8 msg/s for 100 s
    assert data["completed"] + data["in_flight"] == data["produced"]
    assert data["bound_hit"] is False and data["bound_reason"] == ""


def test_run_table_output(capsys):
    assert main(["run", "queue", *SHORT]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Work queue with competing consumers (M/M/c)  (seed 1)")
    produced = next(line for line in out.splitlines() if line.startswith("produced"))
    assert produced.split()[-1] == str(get("queue")(until=100.0).summary["produced"])


def test_set_changes_the_results(capsys):
    base = run_json(capsys)
    doubled = run_json(capsys, "--set", "rate=16", "--set", "consumers=4")
    assert doubled["params"]["rate"] == 16.0 and doubled["params"]["consumers"] == 4
    # the same unit exponentials scaled by 1/rate: twice the rate gives about twice the messages
    assert doubled["produced"] == pytest.approx(2 * base["produced"], rel=0.05)
    slower = run_json(capsys, "--set", "service_mean=0.24")
    assert slower["produced"] == base["produced"]  # same arrivals
    assert slower["latency_p50"] > base["latency_p50"]


def test_seed_changes_the_results(capsys):
    one = run_json(capsys, "--seed", "1")
    two = run_json(capsys, "--seed", "2")
    assert two["params"]["seed"] == 2
    assert (one["produced"], one["latency_p95"]) != (two["produced"], two["latency_p95"])
    assert run_json(capsys, "--seed", "2") == two
    assert run_json(capsys, "--set", "seed=2") == two


def test_nan_summaries_become_null(capsys):
    # 0.05 s is too short for any message to be created: every mean and percentile is undefined
    data = run_json(capsys, "--set", "until=0.05")
    assert data["produced"] == 0
    assert data["wait_mean"] is None and data["latency_p99"] is None and data["throughput"] == 0


def test_an_unstable_setting_reports_the_bound(capsys):
    data = run_json(capsys, "--set", "rate=20000", "--set", "service_mean=10", "--set", "consumers=1",
                    "--set", "until=1000")
    assert data["bound_hit"] is True
    assert data["bound_reason"].startswith("unstable: ")
    assert data["sim_time"] < 50  # the backlog is checked every until/200 = 5 s


@pytest.mark.parametrize("args,message", [
    (["--set", "rate=abc"], "error: rate expects float, got 'abc'"),
    (["--set", "consumers=2.5"], "error: consumers expects int, got '2.5'"),
    (["--set", "speed=3"], "error: experiment 'queue' has no parameter 'speed'; known: rate, service_mean, "
                           "consumers, until, seed"),
    (["--set", "rate"], "error: --set expects name=value, got 'rate'"),
    (["--set", "rate=-1"], "error: rate must be in (0, 100000], got -1.0"),
    (["--set", "consumers=0"], "error: consumers must be an integer in [1, 1000], got 0"),
    (["--seed", "-3"], "error: seed must be an integer in [0, 9223372036854775807], got -3"),
])
def test_bad_input_exits_2_with_a_clear_message(capsys, args, message):
    assert main(["run", "queue", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == message


def test_unknown_experiment_exits_2(capsys):
    assert main(["run", "qeueu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no experiment named 'qeueu'; available: ") and "queue" in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "queue", "--seed", "abc"])
    assert info.value.code == 2
    assert "invalid int value: 'abc'" in capsys.readouterr().err


def test_same_seed_is_bit_for_bit_identical_in_separate_processes(capsys):
    # Two interpreters with different hash seeds (so nothing may depend on str hashing or on process
    # state) print byte-identical JSON, equal to this process's output.
    args = [sys.executable, "-m", "eda_sim", "run", "queue", "--json", "--seed", "7", "--set", "until=200",
            "--set", "consumers=3", "--set", "rate=12"]
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=True)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert main(args[3:]) == 0
    assert capsys.readouterr().out == outputs[0]
    data = strict_json(outputs[0])
    assert data["params"]["seed"] == 7 and data["produced"] > 2000


def test_ctrl_c_exits_130_without_a_traceback(capsys, monkeypatch):
    import dataclasses

    import eda_sim.__main__ as cli
    from eda_sim.experiments import get

    def interrupted(params):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "get", lambda name: dataclasses.replace(get(name), run=interrupted))
    assert main(["run", "queue"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted (Ctrl-C)") and "Traceback" not in err


# ---- presenter mode: python -m eda_sim present ------------------------------------------------------

def test_present_builds_the_voila_command(tmp_path):
    from eda_sim import present

    argv = present.command(tmp_path, 8870, light=False, open_browser=False)
    assert argv[:4] == [sys.executable, "-m", "voila", str(tmp_path)]
    assert "--port=8870" in argv and "--theme=dark" in argv and "--no-browser" in argv
    assert f"--template={present.TEMPLATE}" in argv and "--Voila.port_retries=0" in argv
    light = present.command(tmp_path, 8870, light=True, open_browser=True)
    assert "--theme=light" in light and "--no-browser" not in light


def test_present_denies_the_same_extensions_as_voila_json():
    from pathlib import Path

    from eda_sim import present

    config = json.loads((Path(__file__).parents[1] / "voila.json").read_text())["VoilaConfiguration"]
    assert config["extension_denylist"] == present.EXTENSION_DENYLIST
    assert config["template"] == "eda-lab"  # presenter mode's template builds on it (its conf.json)
    conf = Path(__file__).parents[1] / "eda_sim/lab/frontend/voila" / present.TEMPLATE / "conf.json"
    assert json.loads(conf.read_text())["base_template"] == "eda-lab"


def test_present_finds_the_notebooks_folder(tmp_path, monkeypatch):
    from eda_sim import present

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="--notebooks PATH"):
        present.find_notebooks(None)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_start_here.ipynb").write_text("{}")
    assert present.find_notebooks(None) == (tmp_path / "notebooks").resolve()
    with pytest.raises(ValueError, match="--notebooks must be a folder"):
        present.find_notebooks(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("bad", [80, 0, 70000, True, "8866"])
def test_present_rejects_bad_ports(bad):
    from eda_sim import present

    with pytest.raises(ValueError, match="--port must be"):
        present.check_port(bad)


def test_present_refuses_a_busy_port_with_exit_code_2(capsys, tmp_path, monkeypatch):
    import socket

    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_start_here.ipynb").write_text("{}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["present", "--no-browser", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} is already in use" in err


def test_present_script_calls_the_subcommand():
    from pathlib import Path

    script = (Path(__file__).parents[1] / "scripts" / "present.sh").read_text()
    assert "python -m eda_sim present" in script and '"$@"' in script
