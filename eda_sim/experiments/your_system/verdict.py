"""The review's verdict in sentences: who wins, by how much, why, and what would change the answer."""

from __future__ import annotations

import math

from .spec import CRITERIA

#: The metric each criterion scores, whether higher is better, its floor and how it reads.
METRIC = {"wait": ("wait_p95", False, 0.05, "client wait p95 (s; a failed request counts as the timeout)"),
          "lost": ("lost_share", False, 0.005, "share of requests lost or failed"),
          "done": ("done_p95", False, 0.1, "time until every step is done, p95 (s)"),
          "fresh": ("fresh_share", True, 0.01, "share of answered requests whose steps met fresh_within"),
          "duplicates": ("duplicates", False, 1.0, "side effects that happened twice"),
          "order": ("out_of_order", False, 1.0, "same-key requests handled out of order"),
          "recovery": ("recovery_worst", False, 5.0, "longest recovery after a rehearsed failure (s)"),
          "db": ("db_queries_per_request", False, 0.25, "database queries per request"),
          "parts": ("moving_parts", False, 1.0, "services + brokers + consumer groups + database")}
WORDS = {"wait": "client wait", "lost": "lost or failed requests", "done": "time until the work is done",
         "fresh": "freshness", "duplicates": "duplicate side effects", "order": "per-key order",
         "recovery": "recovery after failures", "db": "database load", "parts": "moving parts"}


def said(criterion: str, value: float) -> str:
    """A measured value of ``criterion`` in words."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured"
    return {"wait": f"{value * 1000:,.0f} ms at the 95th percentile",
            "lost": f"{value * 100:.1f} % of requests lost or failed",
            "done": f"work done within {value:.2f} s for 95 %",
            "fresh": f"{value * 100:.1f} % fresh in time",
            "duplicates": f"{value:.1f} duplicate side effects",
            "order": f"{value:.1f} same-key requests out of order",
            "recovery": f"recovered {value:.1f} s after the worst failure",
            "db": f"{value:.2f} queries per request",
            "parts": f"{value:.0f} moving parts"}[criterion]


def reasons(r) -> list[str]:
    """Sentences for review ``r`` (a :class:`~.review.Review`)."""
    out = []
    spec, pts, means = r.spec, r.points(), r.means
    total = sum(r.weights.values())
    win, second = r.winner, r.runner_up
    mean, low, high = r.interval(win)
    ci = f" (95 % interval {low:.1f} to {high:.1f})" if math.isfinite(low) else ""
    out.append(f"Winner: {r.label(win)} ({_styles(r, win)}), {mean:.1f} of {total:.0f} points{ci}, over "
               f"{len(r.seeds)} seed{'s' if len(r.seeds) > 1 else ''}.")
    d, dlow, dhigh = r.margin
    if math.isfinite(dlow) and dlow <= 0 <= dhigh:
        out.append(f"Runner-up: {r.label(second)}, {d:.1f} points behind, but the interval of that lead "
                   f"({dlow:.1f} to {dhigh:.1f}) includes 0: with these seeds the two are a tie; add seeds "
                   f"or decide on what the weights leave out.")
    else:
        span = f" (95 % interval {dlow:.1f} to {dhigh:.1f})" if math.isfinite(dlow) else ""
        out.append(f"Runner-up: {r.label(second)}, {d:.1f} points behind{span}.")
    for rival in _extremes(r):
        if rival == win:
            continue
        gain = (pts.loc[win, list(CRITERIA)] - pts.loc[rival, list(CRITERIA)]).sort_values()
        best_c, worst_c = gain.index[-1], gain.index[0]
        text = (f"Against {r.label(rival)} it gains {gain[best_c]:.1f} points on {WORDS[best_c]} "
                f"({said(best_c, means.loc[win, METRIC[best_c][0]])} against "
                f"{said(best_c, means.loc[rival, METRIC[best_c][0]])})")
        if gain[worst_c] < -0.05:
            text += (f" and gives up {-gain[worst_c]:.1f} on {WORDS[worst_c]} "
                     f"({said(worst_c, means.loc[win, METRIC[worst_c][0]])} against "
                     f"{said(worst_c, means.loc[rival, METRIC[worst_c][0]])})")
        out.append(text + ".")
    ranked = r.ranking()
    for k, f in enumerate(spec.failures):
        lost = means.loc[ranked, f"lost_in_failure_{k}"]
        worst = lost.drop(index=win).idxmax() if len(lost) > 1 else win
        if lost[worst] - lost[win] >= 1:
            text = (f"During '{f.name}' ({f.start:g}–{f.end:g} s) the winner lost {_n(lost[win], 'request')}; "
                    f"{r.label(worst)} lost {lost[worst]:.0f}")
            behind = means.loc[worst, f"backlog_at_failure_{k}"]
            if behind > 5:
                text += (f", but it was already {behind:.0f} requests behind when the failure began (an earlier "
                         f"burst or failure), so not all of that is this failure's doing")
            out.append(text + ".")
    flips = r.flips()
    inter = flips[(flips.kind == "interaction") & (flips.new_winner == "")].sort_values("points")
    if len(inter):
        decisive = inter.iloc[0]
        out.append(f"Decisive: {decisive['change']} would cost {-decisive['points']:.1f} points.")
        if len(inter) > 1 and inter.iloc[-1]["points"] > -1.0:
            light = inter.iloc[-1]
            out.append(f"Hardly matters: {light['change']} changes the score by {light['points']:+.1f} points.")
    weights = flips[flips.kind == "weight"]
    for _, row in weights.head(3).iterrows():
        out.append(f"Where it flips: with the {row['change']}, {row['new_winner']} would win.")
    if not len(weights):
        out.append("No single weight from 0 to 8 times its value changes the winner.")
    barred = r.ineligible()
    if barred:
        needed = ", ".join(i.name for i in spec.downstream if i.needs_answer)
        best = barred[0]
        needed = " or ".join(needed.split(", "))
        out.append(f"Not ranked: {len(barred)} designs that make {needed} event-driven, although the answer "
                   f"needs {'it' if ' or ' not in needed else 'them'}; the best of them, {r.label(best)}, would score "
                   f"{pts.loc[best, 'total']:.1f}.")
    ranked = r.per_seed.loc[r.ranking()]
    wins = int((ranked.idxmax(axis=0) == win).sum())
    if wins < len(r.seeds):
        out.append(f"It has the best score on {wins} of {len(r.seeds)} seeds.")
    m = means.loc[win]
    if m["answered_before_needed"] > 0:
        out.append(f"Risk: {_n(m['answered_before_needed'], 'request')} (mean over seeds) were answered before a "
                   f"step the answer "
                   f"needs was done (it is event-driven in this design).")
    if m["duplicates_absorbed"] > 0:
        out.append(f"Risk: {_n(m['duplicates_absorbed'], 'repeated side effect')} (mean over seeds) were absorbed "
                   f"only because "
                   f"the steps marked once are idempotent; without it they would be duplicates.")
    if m["out_of_order"] > 0:
        seeds_with = int((r.runs.loc[r.runs["design"] == win, "out_of_order"] > 0).sum())
        out.append(f"Risk: same-key requests were handled out of order at a step marked ordered in {seeds_with} "
                   f"of {len(r.seeds)} seeds ({m['out_of_order']:.1f} pairs per run on average).")
    if m["consistency_p95"] > 0.05:
        out.append(f"Consistency window: 95 % of answered requests had every event-driven step done within "
                   f"{m['consistency_p95']:.2f} s of the answer.")
    if r.searched:
        out.append(f"Designs tried: {len(means)} of {2 ** len(spec.interactions)} (local search from all R/R, "
                   f"all EDA and the rule of thumb).")
    return out


def _n(value: float, noun: str) -> str:
    """``value`` rounded, with ``noun`` in the singular or plural: "1 request", "2.5 requests"."""
    shown = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"
    return f"{shown} {noun}{'' if shown == '1' else 's'}"


def _styles(r, code: str) -> str:
    return ", ".join(f"{name} {'R/R' if s == 'rr' else 'EDA'}" for name, s in r.styles(code).items())


def _extremes(r) -> list[str]:
    n = len(r.spec.interactions)
    return [c for c in ("r" * n, "e" * n) if c in r.means.index]
