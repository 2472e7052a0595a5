"""Command line: ``python -m eda_sim`` lists experiments; ``python -m eda_sim run NAME`` runs one.

    python -m eda_sim list
    python -m eda_sim run queue --set rate=12 --set consumers=3 --seed 7
    python -m eda_sim run queue --json
    python -m eda_sim review my_system.toml          # or an example: food_delivery, order_flow, ...
    python -m eda_sim present [--light] [--port 8866]   # every notebook as a Voila app, for a projector
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys

from . import budget
from .experiments import get, registry, summaries


def _parse_value(field: dataclasses.Field, text: str):
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    try:
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
        if kind.startswith("bool"):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
    except ValueError:
        raise ValueError(f"{field.name} expects {kind}, got {text!r}") from None
    if kind.startswith("str"):
        return text
    return json.loads(text)


def _overrides(exp, pairs: list[str], seed: int | None) -> dict:
    fields = {f.name: f for f in dataclasses.fields(exp.params)}
    out = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--set expects name=value, got {pair!r}")
        name = name.strip()
        if name not in fields:
            raise ValueError(f"experiment {exp.name!r} has no parameter {name!r}; known: {', '.join(fields)}")
        out[name] = _parse_value(fields[name], text.strip())
    if seed is not None:
        out["seed"] = seed
    return out


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _table(summ: dict[str, dict]) -> str:
    keys = list(next(iter(summ.values())))
    cols = list(summ)
    width = max(len(k) for k in keys) + 2

    def fmt(x):
        if isinstance(x, float):
            return "nan" if math.isnan(x) else f"{x:.4g}"
        return str(x)

    lines = ["".ljust(width) + "".join(c.rjust(14) for c in cols)]
    for k in keys:
        if k == "bound_reason":
            continue
        lines.append(k.ljust(width) + "".join(fmt(summ[c].get(k)).rjust(14) for c in cols))
    for c in cols:
        if summ[c].get("bound_reason"):
            lines.append(f"bound hit ({c}): {summ[c]['bound_reason']}")
    return "\n".join(lines)


def _examples() -> tuple[str, ...]:
    from .experiments.your_system import EXAMPLES

    return EXAMPLES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eda_sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("list", help="list the ready-made experiments and their parameters")
    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--json", action="store_true", help="print one JSON object with the summary")
    rev = sub.add_parser("review", help="review a system description: every design, scored, and an HTML report")
    rev.add_argument("file", help="a description (.toml) or the name of an example: " + ", ".join(_examples()))
    rev.add_argument("--seeds", default=None, help="comma-separated seeds (default: the file's, else 1,2,3)")
    rev.add_argument("--weight", action="append", default=[], metavar="CRITERION=POINTS",
                     help="override a weight (wait, lost, done, fresh, duplicates, order, recovery, db, parts)")
    rev.add_argument("--report", default=None, metavar="PATH",
                     help="where to write the HTML report (default: <name>-review.html here)")
    rev.add_argument("--no-report", action="store_true", help="print only, write no report")
    rev.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    rev.add_argument("--workers", type=int, default=None, help="processes for the runs (default 2; 1: in-process)")
    rev.add_argument("--dask", default=None, metavar="ADDRESS",
                     help="run on a Dask cluster (needs the distributed package), e.g. tcp://10.0.0.5:8786")
    present = sub.add_parser("present", help="presenter mode: every notebook as a Voila app, code hidden, "
                                             "large text, dark unless --light")
    present.add_argument("--light", action="store_true", help="light theme (default: dark)")
    present.add_argument("--port", type=int, default=8866, help="port to serve on (default: 8866)")
    present.add_argument("--notebooks", default=None, metavar="PATH",
                         help="folder of notebooks (default: ./notebooks)")
    present.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    args = parser.parse_args(argv)

    if args.command == "review":
        from .lab.review_cli import review_command  # the report is drawn by the lab's charts

        return review_command(args)

    if args.command == "present":
        from . import present as presenter

        try:
            return presenter.main(light=args.light, port=args.port, notebooks=args.notebooks,
                                  open_browser=not args.no_browser)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    if args.command in (None, "list"):
        for name, exp in registry().items():
            params = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(exp.params))
            print(f"{name:16s} {exp.title}\n{'':16s} {params}")
        return 0
    try:
        exp = get(args.name)
        params = exp.make_params(**_overrides(exp, args.set, args.seed))
        # One budget for the whole call, including results an experiment computes on first use.
        with budget.allowance(f"experiment {exp.name!r}"):
            try:
                result = exp.run(params)
                summ = summaries(result)
            except budget.Exhausted as exc:
                result = budget.Stopped(exp.name, str(exc), 0)
                summ = summaries(result)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): nothing printed", file=sys.stderr)
        return 130
    if args.json:
        out = {k: {kk: _clean(vv) for kk, vv in s.items()} for k, s in summ.items()}
        # A single run: the summary keys at top level. A comparison: one summary per architecture.
        body = out["run"] if list(out) == ["run"] else out
        print(json.dumps({**body, "experiment": exp.name, "params": dataclasses.asdict(params)}))
    else:
        print(f"{exp.title}  (seed {params.seed})")
        print(_table(summ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
