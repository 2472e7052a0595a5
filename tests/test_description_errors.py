"""System descriptions: every mistake gives an error naming the line or key, what was expected and what was
found; a fuzzed set of broken files never gives anything else; nothing in a file runs code."""

from __future__ import annotations

import random
import re

import pytest

from eda_sim.experiments import your_system as ys
from eda_sim.experiments.your_system import DescriptionError, loads

BASE = ys.example_text("food_delivery")


def broken(old: str, new: str, count: int = 1) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, count)


def line_of(text: str, needle: str) -> int:
    return next(k + 1 for k, line in enumerate(text.splitlines()) if needle in line)


@pytest.mark.parametrize("old, new, needle, key, words", [
    ("workers = 4\nwork = \"exp(0.15)\"", "workers = \"four\"\nwork = \"exp(0.15)\"", "workers = \"four\"",
     "services.payment.workers", ["an integer from 1 to 256", "'four'"]),
    ("workers = 4\nwork = \"exp(0.15)\"", "workers = 0\nwork = \"exp(0.15)\"", "workers = 0",
     "services.payment.workers", ["[1, 256]", "0"]),
    ("work = \"exp(0.15)\"", "work = \"gamma(2, 0.1)\"", "gamma", "services.payment.work", ["exp(m)", "gamma"]),
    ("work = \"exp(0.15)\"", "work = \"exp(0.1, 0.2)\"", "exp(0.1, 0.2)", "services.payment.work",
     ["takes 1 number"]),
    ("to = \"payment\"", "to = \"paymnet\"", "paymnet", "interaction[1].to", ["one of the other services",
                                                                            "'paymnet'"]),
    ("needs_answer = true", "needs_answer = \"yes\"", "needs_answer = \"yes\"", "interaction[0].needs_answer",
     ["true or false", "'yes'"]),
    ("kind = \"down\"", "kind = \"explode\"", "explode", "failure[0].kind", ["'down'", "'explode'"]),
    ("start = 50.0", "start = 70.0", "end = 65.0", "failure[0].end", ["(70, ∞)", "65"]),
    ("rate = 4.0 ", "rat = 4.0 ", "rat = 4.0", "workload.rat", ["unknown key", "did you mean 'rate'"]),
    ("broker = \"log\"", "broker = \"kafka\"", "kafka", "events.broker", ["'log'", "'kafka'"]),
    ("timeout = 0.5", "timeout = -1", "timeout = -1", "calls.timeout", ["[0.01, 600]", "-1"]),
    ("wait = 20", "wait = 500", "wait = 500", "weights.wait", ["[0, 100]", "500"]),
    ("wait = 20", "speed = 20", "speed = 20", "weights.speed", ["unknown key"]),
    ("entry = \"orders\"", "entry = \"kitchen\"", "entry = \"kitchen\"", "entry", ["one of the services", "kitchen"]),
    ("end = 69.0", "end = 95.0", "end = 95.0", "failure[1].end", ["workload.until", "95"]),
    ("kind = \"crash\"", "kind = \"crash\"\nwhen_down = \"hang\"", "when_down = \"hang\"",
     "failure[1].when_down", ["only to kind = 'down'", "'crash'"]),
])
def test_a_mistake_names_its_line_key_and_both_values(old, new, needle, key, words):
    text = broken(old, new)
    with pytest.raises(DescriptionError) as info:
        loads(text, source="mine.toml")
    err = info.value
    message = str(err)
    assert message.startswith("mine.toml")
    assert err.key.startswith(key), (err.key, message)
    assert err.line == line_of(text, needle), message
    for w in words:
        assert w in message, (w, message)


def test_toml_syntax_errors_give_the_line():
    text = broken("rate = 12.0", "rate = = 12.0")
    with pytest.raises(DescriptionError) as info:
        loads(text, source="mine.toml")
    assert info.value.line == line_of(text, "rate = = 12.0")
    assert "not valid TOML" in str(info.value)


def test_a_missing_part_is_named():
    text = re.sub(r"\[\[interaction\]\].*?(?=\n\[\[interaction\]\])", "", BASE, count=1, flags=re.S)
    with pytest.raises(DescriptionError, match="first interaction must be from = 'client'"):
        loads(text)
    with pytest.raises(DescriptionError, match="missing key 'entry'"):
        loads(BASE.replace('entry = "orders"\n', ""))


def test_an_unused_service_and_a_second_edge_are_refused():
    extra = BASE + '\n[services.loyalty]\nworkers = 2\nwork = 0.01\n'
    with pytest.raises(DescriptionError, match="'loyalty' take part in no interaction"):
        loads(extra)
    twice = BASE + '\n[[interaction]]\nname = "pay again"\nfrom = "orders"\nto = "payment"\n'
    with pytest.raises(DescriptionError, match="already has an interaction with 'payment'") as info:
        loads(twice)
    assert info.value.line == line_of(twice, 'name = "pay again"') - 1  # its [[interaction]] header


def test_nothing_in_a_file_runs_code(tmp_path):
    marker = tmp_path / "ran"
    for payload in (f"__import__('pathlib').Path({str(marker)!r}).touch()",
                    f"exp(__import__('pathlib').Path({str(marker)!r}).touch())", "exp(1e400)", "exp(0x10)"):
        with pytest.raises(DescriptionError):
            loads(broken('work = "exp(0.15)"', f"work = {payload!r}".replace("'", '"', 2)
                         if '"' not in payload else f"work = '{payload}'"))
    assert not marker.exists()


def test_size_and_encoding_are_bounded(tmp_path):
    with pytest.raises(DescriptionError, match="at most 100,000 bytes"):
        loads(BASE + "#" * 100_001)
    path = tmp_path / "latin.toml"
    path.write_bytes(BASE.encode("utf-8") + "# caf\xe9\n".encode("latin-1"))
    with pytest.raises(DescriptionError, match="not UTF-8"):
        ys.load(path)
    with pytest.raises(DescriptionError, match="no such file"):
        ys.load(tmp_path / "missing.toml")


def test_every_example_loads_and_round_trips_its_names():
    for name in ys.EXAMPLES:
        spec = ys.example(name)
        assert spec.source == f"{name}.toml"
        assert spec.interactions[0].caller == "client"


VALUES = ["\"x\"", "-1", "0", "1e9", "true", "[]", "{}", "\"exp(\"", "nan", "inf", "\"\"", "[1, \"a\"]",
          "{ a = 1 }", "3.5", "\"none\""]


def mutations(seed: int, n: int):
    """``n`` broken copies of the food-delivery file: a value replaced, a line dropped or duplicated, a key
    renamed, the text cut short."""
    rng = random.Random(seed)
    lines = BASE.splitlines()
    for _ in range(n):
        out = list(lines)
        k = rng.randrange(len(out))
        op = rng.randrange(5)
        if op == 0 and "=" in out[k]:
            key = out[k].split("=")[0]
            out[k] = f"{key}= {rng.choice(VALUES)}"
        elif op == 1:
            del out[k]
        elif op == 2:
            out.insert(k, out[k])
        elif op == 3 and "=" in out[k]:
            out[k] = "z" + out[k].lstrip()
        else:
            out = out[:k]
        yield "\n".join(out)


def test_fuzzed_files_give_a_description_error_or_a_valid_description():
    outcomes = {"error": 0, "valid": 0}
    for text in mutations(seed=7, n=400):
        try:
            spec = loads(text, source="fuzz.toml")
        except DescriptionError as err:
            outcomes["error"] += 1
            assert str(err).startswith("fuzz.toml"), str(err)
            assert err.message and "Traceback" not in err.message
        else:
            outcomes["valid"] += 1
            assert isinstance(spec, ys.SystemSpec)
    assert outcomes["error"] > 100 and outcomes["valid"] > 20  # the fuzz reaches both sides
