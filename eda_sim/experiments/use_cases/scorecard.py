"""The whole table measured over seeds and weighted (experiment ``scorecard``), flips and closed forms."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from ... import validate as v
from ...lab.panel import Slider
from .. import experiment
from ._common import (
    ARCH_LABEL,
    ARCHS,
    BATCH_HISTORY,
    CASE_NAMES,
    CASES,
    CRITERIA,
    GUIDE,
    JUDGED_BEFORE,
    METRICS,
    SEED_MAX,
    UNTIL,
    UseCaseParams,
)
from .rows import (
    ASYNC_BURST,
    ASYNC_RATES,
    ASYNC_WORK,
)

# -- the scorecard: every row, several seeds, weighted -----------------------------------------------------------
PRECISION = {"quick": 3, "full": 8}  # seeds per row


@lru_cache(maxsize=32)
def measured_grid(scenario: UseCaseParams, seeds: tuple[int, ...], cases: tuple[str, ...] = CASES):
    """Rows ``cases`` of the table for each of ``seeds``, through :func:`eda_sim.sweep.sweep`: its tidy
    table (case, variant = architecture, metric, mean, std, n, ci_low, ci_high) of the five criteria.

    Cached on the scenario, the seeds and the rows, so changing a weight (or the row shown in detail)
    runs nothing.
    """
    from ...sweep import sweep  # the sweep module imports the experiment registry

    if scenario != scenario.scenario:
        return measured_grid(scenario.scenario, seeds, cases)
    for case in cases:
        v.choice("case", case, CASES)
    return sweep("use_case", {"case": list(cases)}, seeds=list(seeds), base=scenario, metrics=list(METRICS))


def criterion_scores(means) -> dict:
    """{case: {arch: {criterion: score}}} from ``means[case][arch][key]``: 0–1, higher is better.

    A cost (time, load, parts) scores best / value, so the better architecture gets 1 and one twice as
    slow gets 0.5 (two zeros tie at 1); a share scores itself.
    """
    out = {}
    for case in means:
        out[case] = {arch: {} for arch in ARCHS}
        for name, c in CRITERIA.items():
            values = {arch: float(means[case][arch][c.key]) for arch in ARCHS}
            for arch, x in values.items():
                if c.kind == "share":
                    s = x
                else:
                    best = min(values.values())
                    s = 1.0 if x == best else best / x if x > 0 else 0.0
                out[case][arch][name] = float(np.clip(s, 0.0, 1.0)) if math.isfinite(s) else 0.0
    return out


def weighted_scores(scores: dict, weights: dict) -> dict:
    """{case: {arch: Σ weight × score / Σ weight}}: the scorecard's cells, 0–1."""
    total = sum(weights.values())
    if not total > 0:
        raise ValueError("at least one weight must be above 0: give some criterion a weight")
    return {case: {arch: sum(weights[k] * s[k] for k in weights) / total for arch, s in by_arch.items()}
            for case, by_arch in scores.items()}


@dataclass(frozen=True, kw_only=True)
class ScorecardParams:
    """The learner's weights (0–5) for the five criteria, the precision (seeds per row), the row shown
    in detail, and the scenario every row runs in (as in :class:`UseCaseParams`)."""

    w_speed: float = 1.0
    w_throughput: float = 1.0
    w_resilience: float = 1.0
    w_load: float = 1.0
    w_simplicity: float = 1.0
    precision: str = "quick"
    detail: str = "async"
    load: float = 1.0
    outage: float = 5.0
    services: int = 4
    poll_interval: float = 4.0
    polling: str = "fixed"
    retention: float = 60.0
    seed: int = 1

    def __post_init__(self):
        for name in CRITERIA:
            v.number(f"w_{name}", getattr(self, f"w_{name}"), 0.0, 5.0)
        if not sum(self.weights.values()) > 0:
            raise ValueError("the weights w_speed, ..., w_simplicity must not all be 0: give some criterion a "
                             "weight in (0, 5]")
        v.choice("precision", self.precision, tuple(PRECISION))
        v.choice("detail", self.detail, CASES)
        v.integer("seed", self.seed, 0, SEED_MAX - max(PRECISION.values()))
        self.scenario  # noqa: B018 - checks the scenario fields (load, outage, ...)

    @property
    def weights(self) -> dict:
        return {name: float(getattr(self, f"w_{name}")) for name in CRITERIA}

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.seed, self.seed + PRECISION[self.precision]))

    @property
    def scenario(self) -> UseCaseParams:
        return UseCaseParams(load=self.load, outage=self.outage, services=self.services,
                             poll_interval=self.poll_interval, polling=self.polling, retention=self.retention)


SCORECARD_SLIDERS = (
    *(Slider(f"w_{name}", 0.0, 5.0, 0.5, label=f"weight: {c.label}", help=c.help) for name, c in CRITERIA.items()),
    Slider("precision", options=tuple(PRECISION), label="precision",
           help=f"seeds per row: quick {PRECISION['quick']} (ready at once), full {PRECISION['full']} "
                f"(the first time it runs the whole grid, {PRECISION['full'] * len(CASES)} runs: one to a few "
                "seconds, progress in the status line; cached afterwards)"),
    Slider("detail", options=CASES, label="row in detail", help="the row whose measurements the right chart shows"),
)


@dataclass(frozen=True)
class Scorecard:
    """The measured grid (``grid``: the sweep's tidy table) and the scores under ``params``' weights."""

    params: ScorecardParams
    grid: object  # pandas DataFrame

    @cached_property
    def _lookup(self) -> dict:
        """{(case, arch, key): {mean, std, n, ci_low, ci_high}} from the sweep's table, built once."""
        cols = ("mean", "std", "n", "ci_low", "ci_high")
        return {(r.case, r.variant, r.metric): {c: float(getattr(r, c)) for c in cols}
                for r in self.grid.itertuples(index=False)}

    @cached_property
    def cases(self) -> tuple[str, ...]:
        """The rows measured (all of :data:`CASES` unless the grid was run for fewer)."""
        present = {case for case, _, _ in self._lookup}
        return tuple(c for c in CASES if c in present)

    def stat(self, case: str, arch: str, key: str, column: str = "mean") -> float:
        """One number of the sweep's table: ``column`` (mean, ci_low, ci_high, std, n) of ``key``."""
        v.choice("case", case, self.cases)
        v.choice("arch", arch, ARCHS)
        return self._lookup[(case, arch, key)][column]

    @cached_property
    def means(self) -> dict:
        """{case: {arch: {summary key: mean over seeds}}}, straight from the sweep's table."""
        return {case: {arch: {key: self.stat(case, arch, key) for key in METRICS} for arch in ARCHS}
                for case in self.cases}

    @cached_property
    def scores(self) -> dict:
        """{case: {arch: {criterion: 0–1 score}}} (see :func:`criterion_scores`)."""
        return criterion_scores(self.means)

    @cached_property
    def weighted(self) -> dict:
        """{case: {arch: weighted score}} under ``params.weights``."""
        return weighted_scores(self.scores, self.params.weights)

    def winner(self, case: str) -> str:
        w = self.weighted[case]
        return "eda" if w["eda"] > w["rr"] else "rr"

    def margin(self, case: str) -> float:
        """How far the winner's weighted score is above the other's (0–1)."""
        w = self.weighted[case]
        return abs(w["eda"] - w["rr"])

    @staticmethod
    def guide_pick(case: str) -> str:
        """The architecture the guide ticks (✅) for this row."""
        return next(arch for arch in ARCHS if GUIDE[case][arch][0] == "✅")

    def agrees(self, case: str) -> bool:
        return self.winner(case) == self.guide_pick(case)

    @property
    def summary(self) -> dict:
        """The weighted scores, ``<case>_rr`` and ``<case>_eda`` (what ``--json`` prints)."""
        return {f"{case}_{arch}": score for case, by_arch in self.weighted.items() for arch, score in by_arch.items()}

    def table(self):
        """One row per use case: both weighted scores, the measured winner and margin, the guide's pick."""
        import pandas as pd

        w = self.weighted
        rows = [{"use case": CASE_NAMES[c], "R/R": w[c]["rr"], "EDA": w[c]["eda"],
                 "measured winner": "R/R" if self.winner(c) == "rr" else "EDA", "margin": self.margin(c),
                 "guide's ✅": "R/R" if self.guide_pick(c) == "rr" else "EDA", "agrees": self.agrees(c)}
                for c in self.cases]
        return pd.DataFrame(rows).set_index("use case")

    def overview(self):
        """Every row's measured means and 0–1 scores, one line per (use case, criterion)."""
        import pandas as pd

        rows = []
        for case in self.cases:
            for name, c in CRITERIA.items():
                rows.append({"use case": CASE_NAMES[case], "criterion": f"{c.label} ({c.unit})",
                             **{f"{ARCH_LABEL[a]}": self.stat(case, a, c.key) for a in ARCHS},
                             **{f"{ARCH_LABEL[a]} score": self.scores[case][a][name] for a in ARCHS}})
        return pd.DataFrame(rows).set_index(["use case", "criterion"])

    def measurements(self, case: str | None = None):
        """The raw means and 95 % intervals of one row (default: ``params.detail``), one line per criterion."""
        import pandas as pd

        case = case or self.params.detail
        rows = []
        for name, c in CRITERIA.items():
            for arch in ARCHS:
                rows.append({"criterion": name, "unit": c.unit, "arch": arch,
                             **{col: self.stat(case, arch, c.key, col) for col in ("mean", "ci_low", "ci_high", "n")},
                             "score": self.scores[case][arch][name]})
        return pd.DataFrame(rows).set_index(["criterion", "arch"])


@experiment("scorecard", "The guide's use-case table, measured: weighted scores per row and architecture",
            ScorecardParams, SCORECARD_SLIDERS)
def run_scorecard(p: ScorecardParams) -> Scorecard:
    return Scorecard(p, measured_grid(p.scenario, p.seeds))


#: One change each that makes the measured winner differ from the guide's pick (notebook 06, "where the
#: claim breaks"): label -> (row, the scenario change).
FLIPS = {
    "Notifications: R/R long-polls (instead of polling every 4 s)": ("notify", {"polling": "long"}),
    "Async jobs at half the load (the burst fits the workers)": ("async", {"load": 0.5}),
    "Batch: the log keeps 10 s (the history is 30 s long)": ("batch", {"retention": 10.0}),
}


def flips(params: ScorecardParams | None = None, scenarios: dict | None = None):
    """For each scenario of ``scenarios`` (default :data:`FLIPS`): the row's weighted scores at
    ``params`` (default: the scorecard's defaults) and with the change, and the winner of each.

    Only the changed row is run again (same seeds, through ``sweep``); the default grid is the cached one.
    """
    import pandas as pd

    params = params or ScorecardParams()
    base = run_scorecard(params)
    rows = []
    for label, (case, change) in (scenarios or FLIPS).items():
        v.choice("case", case, CASES)
        changed = Scorecard(replace(params, **change, detail=case),
                            measured_grid(replace(params.scenario, **change), params.seeds, (case,)))
        rows.append({"scenario": label, "case": case,
                     "change": ", ".join(f"{k}={val!r}" for k, val in change.items()),
                     **{f"{arch}_default": base.weighted[case][arch] for arch in ARCHS},
                     **{f"{arch}_changed": changed.weighted[case][arch] for arch in ARCHS},
                     "winner_default": ARCH_LABEL[base.winner(case)],
                     "winner_changed": ARCH_LABEL[changed.winner(case)],
                     "guide": ARCH_LABEL[Scorecard.guide_pick(case)]})
    return pd.DataFrame(rows).set_index("scenario")


def break_even(card: Scorecard, case: str, criterion: str) -> float:
    """The weight on ``criterion`` at which R/R and EDA tie in row ``case``, the other weights as in
    ``card.params``: solves Σ w_k (score_rr,k − score_eda,k) = 0 for that one weight.

    NaN when the criterion does not separate the two, or when no weight of at least 0 makes them tie.
    """
    v.choice("criterion", criterion, tuple(CRITERIA))
    s = card.scores[v.choice("case", case, card.cases)]
    diff = {k: s["rr"][k] - s["eda"][k] for k in CRITERIA}
    if diff[criterion] == 0:
        return math.nan
    rest = sum(w * diff[k] for k, w in card.params.weights.items() if k != criterion)
    w = -rest / diff[criterion]
    return w if w >= 0 else math.nan


def closed_form_rows(card: Scorecard) -> list[dict]:
    """Back-of-the-envelope values of some measured means: dicts with the row (``case``), ``arch``, the
    summary ``key``, a description (``quantity``, ``closed form``), ``theory`` and ``measured``."""
    from ... import theory

    sc = card.params.scenario
    rows = []

    def add(case, arch, quantity, formula, value, key):
        if case in card.cases:
            rows.append({"case": case, "arch": arch, "key": key, "row": CASE_NAMES[case], "quantity": quantity,
                         "closed form": formula, "theory": value, "measured": card.stat(case, arch, key)})

    base, burst = ASYNC_RATES
    capacity = 4 / ASYNC_WORK  # jobs/s
    burst_len = ASYNC_BURST[1] - ASYNC_BURST[0]
    jobs = base * sc.load * (UNTIL - JUDGED_BEFORE - burst_len) + burst * sc.load * burst_len
    excess = max(0.0, burst * sc.load - capacity) * burst_len
    add("async", "rr", "R/R: most of the judged jobs it can do (share)", "1 − (burst − capacity) × 10 s / jobs",
        1 - excess / jobs, "done_share")
    add("integration", "rr", "R/R: database queries per order", "N reads + 1 write", sc.services + 1.0,
        "source_requests")
    add("integration", "eda", "EDA: database queries per order", "1 write (the event carries the order)", 1.0,
        "source_requests")
    if sc.polling == "fixed":
        add("notify", "rr", "R/R: p95 time, event → notified (s)", "≈ 0.95 T (polling delay)",
            theory.polling_delay_quantile(sc.poll_interval, 0.95), "time_s")
        add("notify", "rr", "R/R: source requests per change", "1 + 1/(λT)",
            1 + 1 / (2.0 * sc.load * sc.poll_interval), "source_requests")
    add("notify", "eda", "EDA: p95 time, event → notified (s)", "processing only: m ln 20 (m = 0.05 s)",
        0.05 * math.log(20), "time_s")
    history = 10.0 * sc.load * BATCH_HISTORY
    add("batch", "rr", "R/R: time to reprocess the history (s)", "n × (10 ms read + 20 ms work)", history * 0.03,
        "time_s")
    add("batch", "eda", "EDA: time to reprocess the history (s)", "n × 20 ms work", history * 0.02, "time_s")
    return rows


def closed_forms(card: Scorecard):
    """The closed forms beside the measured means, one line per quantity (notebook 06, "Explain")."""
    import pandas as pd

    rows = closed_form_rows(card)
    columns = ["row", "quantity", "closed form", "theory", "measured"]
    return pd.DataFrame(rows, columns=[*columns, "case"]).drop(columns="case").set_index(["row", "quantity"])
