"""Read a system description (TOML) into a :class:`~.spec.SystemSpec`, with errors a person can act on.

TOML, read with the standard library's ``tomllib``: it has comments, needs no extra package, and is
data only, so nothing in a file can run code (distributions are written as text such as
``"exp(0.15)"`` and parsed by a small grammar, never evaluated). Every mistake raises
:class:`DescriptionError` naming the file, the line (when it can be found) and the key, what was
expected and what was found. ``docs/your_system.md`` documents every key; the examples in
``examples/`` are complete descriptions to start from.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from importlib import resources
from pathlib import Path

from ...distributions import Deterministic, Distribution, Exponential, LogNormal, Uniform
from . import spec as sp

MAX_BYTES = 100_000

#: Allowed keys per table, each with (kind, description of what is expected).
SCHEMA = {
    "": {"name": ("str", "a name"), "description": ("str", "text"), "entry": ("str", "a service name"),
         "client": ("table", ""), "services": ("table", "one [services.NAME] table per service"),
         "interaction": ("array", "one [[interaction]] block per interaction"),
         "workload": ("table", ""), "failure": ("array", ""), "calls": ("table", ""), "events": ("table", ""),
         "database": ("table", ""), "weights": ("table", ""), "review": ("table", "")},
    "client": {"timeout": ("float", "seconds > 0")},
    "services.*": {"workers": ("int", "an integer from 1 to 256"), "work": ("dist", "a distribution"),
                   "reads": ("int", "an integer from 0 to 100"), "writes": ("int", "an integer from 0 to 100")},
    "interaction": {"name": ("str", "a name"), "from": ("str", "'client' or a service name"),
                    "to": ("str", "a service name"), "needs_answer": ("bool", "true or false"),
                    "fresh_within": ("float", "seconds > 0"), "ordered": ("bool", "true or false"),
                    "once": ("bool", "true or false")},
    "workload": {"rate": ("float", "requests per second > 0"), "keys": ("int", "an integer from 1 to 1000000"),
                 "until": ("float", "seconds > 0"), "traffic_end": ("float", "seconds > 0"),
                 "burst": ("array", "")},
    "workload.burst": {"start": ("float", "seconds >= 0"), "end": ("float", "seconds > start"),
                       "rate": ("float", "requests per second >= 0")},
    "failure": {"name": ("str", "a name"), "target": ("str", "a service name"),
                "kind": ("str", "one of " + ", ".join(sp.FAILURE_KINDS)), "start": ("float", "seconds >= 0"),
                "end": ("float", "seconds > start"), "when_down": ("str", "'error' or 'hang'"),
                "factor": ("float", "a number from 1 to 1000"), "fraction": ("float", "a number in (0, 1]")},
    "calls": {"timeout": ("float", "seconds from 0.01 to 600, or \"none\""),
              "retries": ("int", "an integer from 0 to 10"), "backoff": ("float", "seconds > 0")},
    "events": {"broker": ("str", "'log' or 'queue'"), "partitions": ("int", "an integer from 1 to 512"),
               "commit_every": ("int", "an integer from 1 to 10000"), "publish_latency": ("dist", "a distribution"),
               "idempotent": ("bool", "true or false"), "topic": ("str", "a name"), "commands": ("str", "a name")},
    "database": {"connections": ("int", "an integer from 1 to 1000"), "query_time": ("dist", "a distribution")},
    "weights": {k: ("float", "points from 0 to 100") for k in sp.CRITERIA},
    "review": {"seeds": ("seeds", "a list of 1 to 20 different integers >= 0"),
               "sample_every": ("float", "seconds from 0.01 to 60")},
}
REQUIRED = {"": ("name", "entry", "services", "interaction"), "interaction": ("name", "from", "to"),
            "failure": ("name", "target", "kind", "start", "end"), "workload.burst": ("start", "end", "rate")}
_DIST = re.compile(r"^\s*([a-z]+)\s*\(\s*([^()]*)\)\s*$")
_KINDS = {"exp": (Exponential, 1), "exponential": (Exponential, 1), "fixed": (Deterministic, 1),
          "uniform": (Uniform, 2), "lognormal": (LogNormal, 2)}


def as_text(dist: Distribution) -> str:
    """A distribution as a description file writes it (``"exp(0.15)"``); the inverse of the grammar."""
    if isinstance(dist, Exponential):
        return f"exp({dist.mean:g})"
    if isinstance(dist, Deterministic):
        return f"fixed({dist.value:g})"
    if isinstance(dist, Uniform):
        return f"uniform({dist.low:g}, {dist.high:g})"
    if isinstance(dist, LogNormal):
        return f"lognormal({dist.mean:g}, {dist.cv:g})"
    return repr(dist)


class DescriptionError(ValueError):
    """A mistake in a system description: ``source``, ``line`` (or None), ``key`` and the message."""

    def __init__(self, source: str, line: int | None, key: str, message: str):
        self.source, self.line, self.key, self.message = source, line, key, message
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


def load(path) -> sp.SystemSpec:
    """The description in file ``path``."""
    p = Path(path)
    if not p.is_file():
        raise DescriptionError(str(path), None, "", "no such file")
    if p.stat().st_size > MAX_BYTES:
        raise DescriptionError(str(path), None, "", f"a description is at most {MAX_BYTES:,} bytes; this file "
                                                     f"has {p.stat().st_size:,}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DescriptionError(str(path), None, "", f"the file is not UTF-8 text ({exc.reason})") from None
    return loads(text, source=p.name)


EXAMPLES = ("food_delivery", "order_flow", "notifications", "outage")


def example_text(name: str) -> str:
    """The text of a bundled example (:data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise ValueError(f"example must be one of {', '.join(EXAMPLES)}, got {name!r}")
    return resources.files(__package__).joinpath("examples", f"{name}.toml").read_text(encoding="utf-8")


def example(name: str) -> sp.SystemSpec:
    """A bundled example description, e.g. ``example("food_delivery")`` (the capstone's scenario)."""
    return loads(example_text(name), source=f"{name}.toml")


def loads(text: str, source: str = "<description>") -> sp.SystemSpec:
    """The description in ``text`` (``source`` names it in error messages)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise DescriptionError(source, None, "", f"a description is at most {MAX_BYTES:,} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(m.group(1)) if m else None
        raise DescriptionError(source, line, "", f"not valid TOML: {msg}"
                               + (f" (column {m.group(2)})" if m else "")) from None
    return _Reader(text, source).spec(data)


class _Reader:
    def __init__(self, text: str, source: str):
        self.lines = text.splitlines()
        self.source = source

    # -- errors -------------------------------------------------------------------------------------
    def fail(self, path: tuple, message: str):
        raise DescriptionError(self.source, self.line_of(path), _dotted(path), message)

    def line_of(self, path: tuple) -> int | None:
        """The line defining ``path`` (its table header, then the key inside it), best effort."""
        header, key = _header_and_key(path)
        start, stop = 0, len(self.lines)
        if header is not None:
            name, index = header
            pat = (re.compile(r"^\s*\[\[\s*" + _key_re(name) + r"\s*\]\]") if index is not None
                   else re.compile(r"^\s*\[\s*" + _key_re(name) + r"\s*\]"))
            hits = [k for k, line in enumerate(self.lines) if pat.match(line)]
            if index is not None and index < len(hits):
                start = hits[index]
            elif index is None and hits:
                start = hits[0]
            else:
                return None
            nxt = [k for k in range(start + 1, len(self.lines)) if re.match(r"^\s*\[", self.lines[k])]
            stop = nxt[0] if nxt else len(self.lines)
            if key is None:
                return start + 1
        if key is None:
            return None
        pat = re.compile(r"^\s*" + _key_re(key) + r"\s*=")
        for k in range(start, stop):
            if pat.match(self.lines[k]):
                return k + 1
        anywhere = re.compile(r"(^|[\s{,.])" + _key_re(key) + r"\s*=")
        for k in range(start, stop):
            if anywhere.search(self.lines[k]):
                return k + 1
        return start + 1 if header is not None else None

    # -- values -------------------------------------------------------------------------------------
    def table(self, data, path: tuple, schema: str) -> dict:
        if not isinstance(data, dict):
            self.fail(path, f"expected a table, found {_what(data)}")
        allowed = SCHEMA[schema]
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail((*path, key), f"unknown key{hint}; expected one of: {', '.join(allowed)}")
        for key in REQUIRED.get(schema, ()):
            if key not in data:
                self.fail(path, f"missing key {key!r} ({allowed[key][1]})")
        return {key: self.value(data[key], (*path, key), *allowed[key]) for key in data}

    def value(self, x, path: tuple, kind: str, expected: str):
        if kind == "table" or kind == "array":
            return x
        if kind == "str":
            if not isinstance(x, str) or not x.strip():
                self.fail(path, f"expected {expected} (text in quotes), found {_what(x)}")
            return x
        if kind == "bool":
            if not isinstance(x, bool):
                self.fail(path, f"expected {expected}, found {_what(x)}")
            return x
        if kind == "int":
            if isinstance(x, bool) or not isinstance(x, int):
                self.fail(path, f"expected {expected}, found {_what(x)}")
            return x
        if kind == "float":
            if path[-1] == "timeout" and path[0] == "calls" and x == "none":
                return None
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                self.fail(path, f"expected {expected}, found {_what(x)}")
            return float(x)
        if kind == "dist":
            return self.distribution(x, path)
        if kind == "seeds":
            if not isinstance(x, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in x):
                self.fail(path, f"expected {expected}, found {_what(x)}")
            return tuple(x)
        raise AssertionError(kind)

    def distribution(self, x, path: tuple) -> Distribution:
        expected = ("a mean in seconds (exponential), or \"exp(m)\", \"fixed(t)\", \"uniform(lo, hi)\" or "
                    "\"lognormal(mean, cv)\"")
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            if not 0 < x <= 3600:
                self.fail(path, f"expected a mean from 0 (excluded) to 3600 s, found {x!r}")
            return Exponential(float(x))
        m = _DIST.match(x) if isinstance(x, str) else None
        if not m or m.group(1) not in _KINDS:
            self.fail(path, f"expected {expected}, found {_what(x)}")
        make, arity = _KINDS[m.group(1)]
        try:
            args = [float(a) for a in m.group(2).split(",")] if m.group(2).strip() else []
        except ValueError:
            self.fail(path, f"the numbers in {x!r} must be plain numbers such as 0.15")
        if len(args) != arity or not all(0 <= a <= 3600 for a in args):
            self.fail(path, f"{m.group(1)}() takes {arity} number{'s' if arity > 1 else ''} from 0 to 3600, "
                            f"found {x!r}")
        try:
            return make(*args)
        except ValueError as exc:
            self.fail(path, str(exc))

    # -- the whole description -----------------------------------------------------------------------
    def spec(self, data: dict) -> sp.SystemSpec:
        top = self.table(data, (), "")
        services_data = top["services"]
        if not isinstance(services_data, dict) or not services_data:
            self.fail(("services",), "expected one table per service, e.g. [services.orders]")
        services = tuple(self.build(sp.ServiceSpec, ("services", name),
                                    name=name, **self.renamed(self.table(d, ("services", name), "services.*"), {
                                        "workers": "workers", "work": "work", "reads": "reads",
                                        "writes": "writes"}))
                         for name, d in services_data.items())
        interactions = []
        for k, d in enumerate(self.array(top["interaction"], ("interaction",))):
            t = self.table(d, ("interaction", k), "interaction")
            interactions.append(self.build(sp.InteractionSpec, ("interaction", k), **self.renamed(t, {
                "name": "name", "from": "caller", "to": "callee", "needs_answer": "needs_answer",
                "fresh_within": "fresh_within", "ordered": "ordered", "once": "once"})))
        workload = sp.WorkloadSpec()
        if "workload" in top:
            w = self.table(top["workload"], ("workload",), "workload")
            bursts = []
            for k, b in enumerate(self.array(w.pop("burst", []), ("workload", "burst"))):
                b = self.table(b, ("workload", "burst", k), "workload.burst")
                bursts.append((b["start"], b["end"], b["rate"]))
            workload = self.build(sp.WorkloadSpec, ("workload",), **w, bursts=tuple(bursts))
        failures = []
        for k, d in enumerate(self.array(top.get("failure", []), ("failure",))):
            failures.append(self.build(sp.FailureSpec, ("failure", k), **self.table(d, ("failure", k), "failure")))
        settings = {}
        for section, keys in (("client", {"timeout": "client_timeout"}),
                              ("calls", {"timeout": "timeout", "retries": "retries", "backoff": "backoff"}),
                              ("events", {k: k for k in SCHEMA["events"]}),
                              ("database", {"connections": "db_connections", "query_time": "query_time"})):
            if section in top:
                settings.update(self.renamed(self.table(top[section], (section,), section), keys))
        settings = self.build(sp.Settings, (), **settings)
        extra = {}
        if "weights" in top:
            given = self.table(top["weights"], ("weights",), "weights")
            extra["weights"] = tuple({**{k: 0.0 for k in sp.CRITERIA}, **given}.items())
        if "review" in top:
            r = self.table(top["review"], ("review",), "review")
            if "seeds" in r:
                extra["seeds"] = r["seeds"]
            if "sample_every" in r:
                settings = self.build(sp.Settings, ("review",),
                                      **{**_fields(settings), "sample_every": r["sample_every"]})
        return self.build(sp.SystemSpec, (), name=top["name"], entry=top["entry"],
                          description=top.get("description", ""), services=services,
                          interactions=tuple(interactions), workload=workload, failures=tuple(failures),
                          settings=settings, source=self.source, **extra)

    def array(self, x, path: tuple) -> list:
        if not isinstance(x, list) or not all(isinstance(d, dict) for d in x):
            self.fail(path, f"expected an array of tables ([[{_dotted(path)}]] blocks), found {_what(x)}")
        return x

    @staticmethod
    def renamed(values: dict, names: dict) -> dict:
        return {names[k]: val for k, val in values.items()}

    def build(self, cls, path: tuple, **kwargs):
        """``cls(**kwargs)``; its own checks (ranges, cross-references) become located errors."""
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            text = str(exc)
            self.fail(self.guess(path, text), _untagged(text))

    def guess(self, path: tuple, text: str) -> tuple:
        """The key an error message from the spec's checks is about, to find its line."""
        m = _NAMED.match(text)
        if m:
            index = self._index_named(m.group(1), m.group(2))
            key = m.group(3) if m.group(3) in SCHEMA[m.group(1)] else None
            if index is not None:
                return (m.group(1), index, key) if key else (m.group(1), index)
        m = re.match(r"^([a-z_]+(?:\.[a-z_*]+)+)", text)
        if m:
            parts = m.group(1).split(".")
            return tuple(parts)
        m = re.match(r"^([a-z_]+)\b", text)
        if m and not path and m.group(1) in SCHEMA[""]:
            return (m.group(1),)
        return path

    def _index_named(self, section: str, name: str) -> int | None:
        count = -1
        for line in self.lines:
            if re.match(r"^\s*\[\[\s*" + section + r"\s*\]\]", line):
                count += 1
            elif count >= 0 and re.match(r"^\s*name\s*=\s*[\"']" + re.escape(name) + r"[\"']", line):
                return count
        return None


def _fields(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


_NAMED = re.compile(r"^(interaction|failure) '([^']*)':? ([a-z_]+)?")


def _untagged(text: str) -> str:
    """A spec check's message without the key it starts with (the error names the key already)."""
    m = _NAMED.match(text)
    if m and m.group(3) in SCHEMA[m.group(1)]:
        return text[m.end():].lstrip(": ")
    if m:
        return text[len(m.group(0)) - len(m.group(3) or ""):].lstrip(": ")
    m = (re.match(r"^[a-z_]+(?:\.[a-z_*]+)+\s+(.*)$", text)
         or re.match(r"^(?:weights|services|interaction): (.*)$", text))
    return m.group(1) if m else text


def _header_and_key(path: tuple):
    """(header, key) for locating ``path``: header is (table name, array index or None) or None."""
    if not path:
        return None, None
    if path[0] in ("interaction", "failure"):
        index = path[1] if len(path) > 1 and isinstance(path[1], int) else None
        return (path[0], index), (path[2] if len(path) > 2 else None)
    if path[0] == "workload" and len(path) > 2 and path[1] == "burst" and isinstance(path[2], int):
        return ("workload.burst", path[2]), (path[3] if len(path) > 3 else None)
    if path[0] == "services" and len(path) >= 2:
        return (f"services.{path[1]}", None), (path[2] if len(path) > 2 else None)
    if SCHEMA[""].get(path[0], ("",))[0] == "table":
        return (path[0], None), (path[1] if len(path) > 1 else None)
    return None, path[0]


def _key_re(name: str) -> str:
    return r"\s*\.\s*".join(r"[\"']?" + re.escape(part) + r"[\"']?" for part in name.split("."))


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _what(x) -> str:
    if isinstance(x, bool):
        return f"{str(x).lower()} (true/false)"
    if isinstance(x, str):
        return f"{x[:60]!r} (text)"
    if isinstance(x, (int, float)):
        return f"{x!r} (a number)"
    if isinstance(x, dict):
        return "a table"
    if isinstance(x, list):
        return f"a list of {len(x)}"
    return type(x).__name__
