"""``python -m eda_sim review FILE``: the design review of a system description, as a table and a report."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import sys
from pathlib import Path

from .. import budget


def review_command(args) -> int:
    from ..experiments.your_system import EXAMPLES, example, load, review

    try:
        path = Path(args.file)
        if not path.exists() and args.file in EXAMPLES:
            spec, stem, text = example(args.file), args.file, None  # the report finds an example's text
        else:
            spec, stem = load(path), path.stem
            text = path.read_text(encoding="utf-8")
        seeds = _seeds(args.seeds)
        weights = _weights(args.weight, spec)
        executor, owned = _executor(args.workers, args.dask)
        try:
            with budget.allowance("design review"):
                result = review(spec, seeds=seeds, weights=weights, executor=executor, progress=not args.json)
        finally:
            if owned is not None:
                owned.shutdown(cancel_futures=True)
        report = None
        if not args.no_report:
            from .views.your_system.report import write_report

            report = write_report(result, Path(args.report) if args.report else Path(f"{stem}-review.html"),
                                  text=text)
    except budget.Exhausted as exc:
        print(f"error: the review stopped at its bound: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): no report written", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps({**result.to_dict(), "report": str(report) if report else None}, allow_nan=False))
        return 0
    print(_table(result))
    print()
    for sentence in result.reasons:
        print(f"- {sentence}")
    if report:
        print(f"\nreport: {report}")
    return 0


def _seeds(text):
    if text is None:
        return None
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ValueError(f"--seeds expects comma-separated integers such as 1,2,3, got {text!r}") from None


def _weights(pairs, spec):
    if not pairs:
        return None
    weights = spec.weight
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--weight expects CRITERION=POINTS, got {pair!r}")
        if name.strip() not in weights:
            raise ValueError(f"--weight: unknown criterion {name.strip()!r}; known: {', '.join(weights)}")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--weight {name.strip()} expects a number of points, got {value!r}") from None
    return weights


def _executor(workers, dask):
    """(executor for the review's sweeps, the pool to shut down here or None)."""
    if dask:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--dask needs the distributed package: pip install distributed") from None
        return Client(dask).get_executor(), None
    if workers is None:
        return None, None
    if not 1 <= workers <= 64:
        raise ValueError(f"--workers must be from 1 to 64, got {workers}")
    if workers == 1:
        return "serial", None
    pool = cf.ProcessPoolExecutor(max_workers=workers)
    return pool, pool


def _table(result) -> str:
    table = result.table()
    lines = [f"{result.spec.name}: {len(table)} designs, seeds {', '.join(map(str, result.seeds))}",
             f"{'rank':>4}  {'design':40} {'score':>15} {'wait p95':>9} {'lost':>6} {'recovery':>9} "
             f"{'dupl.':>6} {'parts':>5}"]
    for _, row in table.iterrows():
        rank = "–" if row["rank"] is None or (isinstance(row["rank"], float) and math.isnan(row["rank"])) \
            else f"{int(row['rank'])}"
        score = f"{row['score']:.1f}" + (f" ±{(row['score_high'] - row['score_low']) / 2:.1f}"
                                         if math.isfinite(row["score_low"]) else "")
        lines.append(f"{rank:>4}  {row['design'][:40]:40} {score:>15} {row['wait_p95'] * 1000:>7.0f}ms "
                     f"{row['lost_share'] * 100:>5.1f}% {row['recovery_worst']:>8.1f}s {row['duplicates']:>6.1f} "
                     f"{row['moving_parts']:>5.0f}")
    if (table["eligible"] == False).any():  # noqa: E712 - a pandas column
        lines.append("–: not ranked, a step the answer needs is event-driven")
    return "\n".join(lines)
