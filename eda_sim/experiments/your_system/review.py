"""The design review: every design (or a search) of a description, on the same seeds, scored and explained.

Scoring, per criterion (:data:`~.spec.CRITERIA`): the best design's mean earns the criterion's full
weight, the worst design's none, linear in between; a difference smaller than the criterion's *floor*
(:data:`FLOORS`: 50 ms of wait, half a percent of lost requests, one duplicate...) earns only its share,
so noise never decides a criterion. A design's score is the sum, per seed and on average; the winner has
the highest mean, and the margin over the runner-up is a paired Student-t interval over the seeds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ... import budget
from ... import validate as v
from ...sweep import sweep, t_quantile
from .. import experiment
from .engine import moving_parts
from .spec import CRITERIA, Design, SystemSpec, all_designs, expected_events
from .verdict import METRIC, reasons

FLOORS = {c: METRIC[c][2] for c in CRITERIA}
EXHAUSTIVE_MAX = 6  # up to 2**6 = 64 designs are all tried; beyond, a local search
MAX_EVENTS = 10_000_000  # a review as a whole: estimated simulation events, checked before anything runs


@dataclass(frozen=True, kw_only=True)
class ReviewParams:
    """Review ``spec`` (None: the bundled ``example``) with its weights, or ``weights``. Seeds: ``seeds``
    if given, else ``seed``, ``seed + 1``, ... as many as the description's ``review.seeds``."""

    spec: SystemSpec | None = None
    example: str = "food_delivery"
    seeds: tuple[int, ...] | None = None
    weights: tuple[tuple[str, float], ...] | None = None
    seed: int = 1

    def __post_init__(self):
        v.integer("seed", self.seed, 0, 2**63 - 100)
        if self.spec is not None:
            v.instance("spec", self.spec, SystemSpec, "a SystemSpec (from load, loads or example)")
        if self.seeds is not None:
            v.instance("seeds", self.seeds, (tuple, list), "a tuple of seeds")
            if not 1 <= len(self.seeds) <= 20:
                raise ValueError(f"seeds: give 1 to 20 seeds, got {len(self.seeds)}")
            for s in self.seeds:
                v.integer("seeds", s, 0, 2**63 - 1)
        if self.weights is not None:
            v.instance("weights", self.weights, (tuple, list), "(criterion, points) pairs")
            for pair in self.weights:
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"weights must be (criterion, points) pairs, got {pair!r}")
                v.choice("weights criterion", pair[0], CRITERIA)
                v.number(f"weights.{pair[0]}", pair[1], 0, 100)


class Review:
    """The runs of a review, and what they say: ``table()``, ``points()``, ``failures()``, ``winner``,
    ``margin``, ``reasons``, ``flips()``. ``runs`` has one row per design and seed."""

    def __init__(self, spec: SystemSpec, runs: pd.DataFrame, weights: dict[str, float], searched: bool):
        self.spec = spec
        self.runs = runs
        self.weights = dict(weights)
        self.searched = searched
        self.seeds = sorted(runs["seed"].unique().tolist())

    # -- scores -------------------------------------------------------------------------------------
    @cached_property
    def means(self) -> pd.DataFrame:
        """Mean of every metric per design (rows in the order tried)."""
        return self.runs.drop(columns=["seed", "variant"]).groupby("design", sort=False).mean(numeric_only=True)

    def _bounds(self, weights=None) -> dict[str, tuple[float, float]]:
        out = {}
        for c in CRITERIA:
            col, higher, _, _ = METRIC[c]
            values = self.means[col].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if not len(values):
                out[c] = (math.nan, math.nan)
                continue
            out[c] = (values.max(), values.min()) if higher else (values.min(), values.max())
        return out

    def _points(self, values: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
        bounds = self._bounds()
        cols = {}
        for c in CRITERIA:
            col, higher, floor, _ = METRIC[c]
            best, worst = bounds[c]
            x = values[col].to_numpy(dtype=float)
            if math.isnan(best):
                cols[c] = np.zeros(len(x))
                continue
            x = np.where(np.isfinite(x), x, worst)
            span = max(abs(worst - best), floor)
            share = (x - worst) / span if higher else (worst - x) / span
            cols[c] = weights.get(c, 0.0) * np.clip(share, 0.0, 1.0)
        return pd.DataFrame(cols, index=values.index)

    def _seed_points(self, weights) -> pd.DataFrame:
        """Points per (design, seed) and criterion, each run against the bounds of the designs' means."""
        return self._points(self.runs.set_index(["design", "seed"]), weights)

    @cached_property
    def _unit(self) -> pd.DataFrame:
        """Points per design and criterion at weight 1: a score is linear in the weights, so any weights'
        points are these times the weights (re-ranking costs no simulation and almost no time)."""
        table = self._seed_points({c: 1.0 for c in CRITERIA}).groupby(level="design", sort=False).mean()
        return table.reindex(self.means.index)

    def points(self, weights=None) -> pd.DataFrame:
        """Points per design (rows, in the order tried) and criterion, averaged over seeds, and ``total``."""
        w = weights or self.weights
        table = self._unit * pd.Series({c: float(w.get(c, 0.0)) for c in CRITERIA})
        return table.assign(total=table.sum(axis=1))

    @cached_property
    def per_seed(self) -> pd.DataFrame:
        """Total score per design (rows) and seed (columns)."""
        totals = self._seed_points(self.weights).sum(axis=1)
        return totals.unstack("seed").reindex(self.means.index)

    def eligible(self, code: str) -> bool:
        return Design.from_code(code, self.spec).eligible(self.spec)

    def ranking(self, weights=None) -> list[str]:
        """Eligible designs, best mean score first (see :meth:`Design.eligible`); ties keep the order tried."""
        totals = self.points(weights)["total"]
        return totals[[self.eligible(c) for c in totals.index]].sort_values(ascending=False, kind="stable"
                                                                            ).index.tolist()

    def ineligible(self) -> list[str]:
        """Designs not ranked because a step the answer needs is event-driven, best score first."""
        totals = self.points()["total"]
        return totals[[not self.eligible(c) for c in totals.index]].sort_values(ascending=False).index.tolist()

    @property
    def winner(self) -> str:
        return self.ranking()[0]

    @property
    def runner_up(self) -> str:
        return self.ranking()[1]

    @cached_property
    def margin(self) -> tuple[float, float, float]:
        """(mean, low, high): the winner's lead over the runner-up, 95 % paired t interval over seeds."""
        diff = (self.per_seed.loc[self.winner] - self.per_seed.loc[self.runner_up]).to_numpy(dtype=float)
        return _interval(diff)

    def interval(self, design: str) -> tuple[float, float, float]:
        return _interval(self.per_seed.loc[design].to_numpy(dtype=float))

    def label(self, code: str) -> str:
        return Design.from_code(code, self.spec).label(self.spec)

    def styles(self, code: str) -> dict[str, str]:
        return Design.from_code(code, self.spec).of(self.spec)

    # -- tables ------------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """One row per design, best first: rank (None: not eligible, listed last), score with its 95 %
        interval over seeds, the style of each interaction, and the numbers behind the score."""
        m = self.means
        rows = []
        ranked = self.ranking()
        for code in ranked + self.ineligible():
            mean, low, high = self.interval(code)
            rank = ranked.index(code) + 1 if code in ranked else None
            row = {"rank": rank, "design": self.label(code), "code": code, "eligible": rank is not None,
                   "score": mean, "score_low": low, "score_high": high}
            row.update({f"{i.name}": s for i, s in zip(self.spec.interactions, Design.from_code(code, self.spec)
                                                       .styles, strict=True)})
            for key in ("wait_p50", "wait_p95", "wait_p99", "done_p95", "goodput", "lost_share", "duplicates",
                        "duplicates_absorbed", "out_of_order", "answered_before_needed", "consistency_p95",
                        "fresh_share", "recovery_worst", "db_queries_per_request", "moving_parts"):
                row[key] = m.loc[code, key]
            rows.append(row)
        return pd.DataFrame(rows)

    def failures(self) -> pd.DataFrame:
        """Per design and rehearsed failure: requests lost among those that arrived during it, the goodput
        of those (answered ok and done, per second of the failure), and the seconds until the backlog was
        back to normal after it (NaN: not within the run)."""
        rows = []
        for code in self.ranking():
            for k, f in enumerate(self.spec.failures):
                rows.append({"design": self.label(code), "code": code, "failure": f.name,
                             "lost": self.means.loc[code, f"lost_in_failure_{k}"],
                             "goodput": self.means.loc[code, f"goodput_in_failure_{k}"],
                             "recovery_s": self.means.loc[code, f"recovery_{k}"]})
        return pd.DataFrame(rows, columns=["design", "code", "failure", "lost", "goodput", "recovery_s"])

    # -- what would change the answer -------------------------------------------------------------
    def flips(self) -> pd.DataFrame:
        """Changes that give another winner: for each weight, the nearest value (0 to 8 times it, at most
        100 points) at which another design wins; and each interaction of the winner switched, with its
        cost in points. From the designs' means, without running again."""
        rows = []
        win = self.winner
        codes = [c for c in self.means.index if self.eligible(c)]
        unit = self._unit.loc[codes, list(CRITERIA)].to_numpy()
        base_w = np.array([self.weights[c] for c in CRITERIA])
        for j, c in enumerate(CRITERIA):
            base = base_w[j]
            top = min(100.0, max(8 * base, 20.0))
            # Nearest weights first: the smallest change of this weight that gives another winner.
            values = sorted({round(x, 2) for x in (*np.linspace(0.0, base, 41), *np.linspace(base, top, 81))}
                            - {round(base, 2)}, key=lambda x: abs(x - base))
            for value in values:
                w = base_w.copy()
                w[j] = value
                if not w.any():
                    continue
                other = codes[int(np.argmax(unit @ w))]
                if other != win:
                    rows.append({"change": f"weight of {c}: {base:g} → {value:.3g}", "kind": "weight",
                                 "new_winner": self.label(other), "points": math.nan})
                    break
        totals = self.points()["total"]
        for k, i in enumerate(self.spec.interactions):
            flipped = list(win)
            flipped[k] = "r" if win[k] == "e" else "e"
            code = "".join(flipped)
            if code in totals.index:
                style = "R/R" if flipped[k] == "r" else "EDA"
                note = "" if self.eligible(code) else "not eligible: the answer needs this step"
                rows.append({"change": f"{i.name} as {style}", "kind": "interaction", "new_winner": note,
                             "points": float(totals[code] - totals[win])})
        return pd.DataFrame(rows, columns=["change", "kind", "new_winner", "points"])

    @cached_property
    def reasons(self) -> list[str]:
        """The verdict in sentences, every number from the runs."""
        return reasons(self)

    @property
    def summary(self) -> dict:
        """The verdict in numbers (``python -m eda_sim run design_review``; ``to_dict`` has everything)."""
        mean, low, high = self.interval(self.winner)
        d, dlow, dhigh = self.margin
        return {"designs_tried": len(self.means), "designs_ranked": len(self.ranking()), "seeds": len(self.seeds),
                "winner": self.label(self.winner), "winner_score": mean, "winner_low": low, "winner_high": high,
                "runner_up": self.label(self.runner_up), "margin": d, "margin_low": dlow, "margin_high": dhigh,
                "bound_hit": int(self.runs["bound_hit"].sum())}

    def to_dict(self) -> dict:
        """Everything a machine needs (``--json``): designs, scores, failures, flips, verdict."""
        def clean(x):
            return None if isinstance(x, float) and not math.isfinite(x) else x

        return {"name": self.spec.name, "seeds": self.seeds, "weights": self.weights, "searched": self.searched,
                "winner": self.label(self.winner), "winner_code": self.winner,
                "margin": [clean(float(x)) for x in self.margin],
                "designs": [{k: clean(val.item() if hasattr(val, "item") else val) for k, val in row.items()}
                            for row in self.table().to_dict("records")],
                "failures": [{k: clean(val.item() if hasattr(val, "item") else val) for k, val in row.items()}
                             for row in self.failures().to_dict("records")],
                "flips": [{k: clean(val) for k, val in row.items()} for row in self.flips().to_dict("records")],
                "reasons": self.reasons}


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if not len(x):
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.975, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


def rule_of_thumb(spec: SystemSpec) -> Design:
    """The guide's rule: request/response where the caller needs the answer, events elsewhere."""
    return Design(tuple("rr" if i.needs_answer else "eda" for i in spec.interactions))


def review(spec: SystemSpec, *, seeds=None, weights=None, executor=None, progress: bool = True) -> Review:
    """Run the designs of ``spec`` on its seeds and return the :class:`Review`.

    All ``2 ** interactions`` designs when there are at most :data:`EXHAUSTIVE_MAX` interactions; beyond,
    a local search: all R/R, all EDA and the rule of thumb, then, from the best so far, every design
    one switch away, until no switch helps (at most 4 rounds). ``executor``: as for :func:`eda_sim.sweep.sweep`
    (None: a process pool of 2 for more than a handful of runs; any ``concurrent.futures`` executor, e.g.
    Dask's). The review as a whole is bounded (:data:`MAX_EVENTS` estimated events, and the experiment's
    event budget and wall-clock deadline, :mod:`eda_sim.budget`, shared by all its runs); a review that
    reaches its bound raises ValueError saying which bound (``budget.Exhausted`` inside an enclosing
    budget, which the experiment or panel around it reports).
    """
    v.instance("spec", spec, SystemSpec, "a SystemSpec (from load, loads or example)")
    seeds = spec.seeds if seeds is None else tuple(seeds)
    weights = spec.weight if weights is None else {**{c: 0.0 for c in CRITERIA}, **dict(weights)}
    for c, w in weights.items():
        v.choice("weights key", c, CRITERIA)
        v.number(f"weights.{c}", w, 0, 100)
    searched = len(spec.interactions) > EXHAUSTIVE_MAX
    first = ([Design(tuple(["rr"] * len(spec.interactions))), Design(tuple(["eda"] * len(spec.interactions))),
              rule_of_thumb(spec)] if searched else all_designs(spec))
    per_run = expected_events(spec)
    budget_runs = (len(first) + (4 * len(spec.interactions) if searched else 0)) * len(seeds)
    if per_run * budget_runs > MAX_EVENTS:
        raise ValueError(f"this review would simulate about {per_run * budget_runs:,.0f} events "
                         f"({budget_runs} runs), more than the {MAX_EVENTS:,} a review may use: lower "
                         f"workload.rate or workload.until, or give fewer review.seeds")
    outermost = budget.current() is None
    try:
        with budget.allowance("design review"):
            return _search(spec, first, seeds, weights, searched, executor, progress)
    except budget.Exhausted as exc:
        if not outermost:
            raise  # the experiment or panel around this review reports it
        raise ValueError(f"the review stopped at its bound, nothing is reported: {exc}") from None


def _search(spec, first, seeds, weights, searched, executor, progress) -> Review:
    """Run ``first``, then (``searched``) the neighbours of the best until none is better."""
    frames = []
    tried: list[str] = []

    def run(designs):
        codes = [d.code() for d in dict.fromkeys(designs) if d.code() not in tried]
        if not codes:
            return
        tried.extend(codes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # runs cut short are refused just below
            frame = sweep("design_run", [{"design": c} for c in codes], base={"spec": spec}, seeds=list(seeds),
                          executor=executor, progress=progress, raw=True)
        cut = int(frame["bound_hit"].sum())
        if cut:
            raise budget.Exhausted(f"{cut} of {len(frame)} runs stopped at their share of the review's event budget "
                             f"before workload.until: designs cut short at different times cannot be compared; "
                             f"lower workload.rate or workload.until, or give fewer review.seeds")
        frames.append(frame)

    run(first)
    result = Review(spec, pd.concat(frames, ignore_index=True), weights, searched)
    for _ in range(4 if searched else 0):
        best = result.winner
        neighbours = [Design.from_code(best[:k] + ("r" if best[k] == "e" else "e") + best[k + 1:], spec)
                      for k in range(len(best))]
        before = len(tried)
        run(neighbours)
        if len(tried) == before:
            break
        result = Review(spec, pd.concat(frames, ignore_index=True), weights, searched)
        if result.winner == best:
            break
    return result


@experiment("design_review", "Your system: the design review of a description", ReviewParams)
def run_review(p: ReviewParams):
    from .runs import _example

    spec = p.spec if p.spec is not None else _example(p.example)
    seeds = p.seeds if p.seeds is not None else tuple(range(p.seed, p.seed + len(spec.seeds)))
    return review(spec, seeds=seeds, weights=p.weights, progress=False)


def parts_of(spec: SystemSpec, code: str) -> dict[str, int]:
    return moving_parts(spec, Design.from_code(code, spec))
