"""Notebook 04 (reactivity): polling vs push vs long polling."""

from __future__ import annotations

import numpy as np

from .. import plots, theory
from ..experiments import get
from ..experiments.reactivity import PERIODS, delay_vs_period
from ..panel import ControlPanel

MODE_STYLE = {  # legend name, colour: polling is the R/R habit, push the EDA one
    "poll": ("polling every T (R/R)", plots.COLORS["rr"]),
    "long_poll": ("long polling", plots.COLORS["extra"]),
    "push": ("push subscription (EDA)", plots.COLORS["eda"]),
}


def panel(**overrides) -> ControlPanel:
    """Sliders for T, rate, burstiness and processing time; three linked charts."""
    exp = get("reactivity")
    params = exp.make_params(**overrides)

    reaction = plots.figure("How soon is each event handled?", "reaction time: event → handled (s)",
                            "share of events handled (%)", height=340)
    for mode in ("poll", "push", "long_poll"):  # long polling's dashes last: visible where it runs on push
        name, color = MODE_STYLE[mode]
        plots.line(reaction, name, color=color, dash="dash" if mode == "long_poll" else None)

    sweep = plots.figure("Mean detection delay of polling vs its period", "polling period T (s)",
                         "mean detection delay (s)", height=340)
    t_grid = np.linspace(0, max(PERIODS), 50)
    plots.theory_line(sweep, t_grid, t_grid / 2, "theory: T/2")
    plots.line(sweep, "simulated polling", mode="markers", color=MODE_STYLE["poll"][1])
    plots.line(sweep, "this run", mode="markers", color=plots.COLORS["neutral"])
    sweep.data[-1].marker.update(size=13, symbol="circle-open", line=dict(width=2))

    load = plots.figure("Requests the source must answer", "way of learning about events",
                        "requests per second", height=340, legend=False)
    plots.bar(load, "requests", x=[MODE_STYLE[m][0] for m in MODE_STYLE],
              color=plots.COLORS["neutral"])
    load.data[0].marker.color = [c for _, c in MODE_STYLE.values()]
    load.data[0].textposition = "outside"
    load.layout.yaxis.rangemode = "tozero"

    def update(result):
        for mode, (name, _) in MODE_STYLE.items():
            lat = result.results[mode].system.logs["changes"].latencies(result.results[mode].system.messages)
            x, y = plots.ecdf(lat)
            plots.set_xy(reaction, name, x, y * 100)
        periods, means = delay_vs_period(result.params)
        plots.set_xy(sweep, "simulated polling", periods, means)
        plots.set_xy(sweep, "this run", [result.params.poll_interval], [result.delays("poll").mean()])
        reqs = [result.requests_per_s(m) for m in MODE_STYLE]
        empty = [result.empty_fraction(m) for m in MODE_STYLE]
        load.data[0].y = reqs
        load.data[0].text = [f"{r:.2f}/s" + (" (the broker pushes)" if np.isnan(e) else f", {e:.0%} empty")
                             for r, e in zip(reqs, empty, strict=True)]
        load.layout.yaxis.range = [0, max(reqs) * 1.25 or 1]

    return ControlPanel(exp.run, params, exp.sliders, update, [reaction, sweep, load], name="reactivity",
                        show_figures=True)


def theory_table(params) -> dict:
    """The closed forms notebook 04 quotes, for the default or current parameters."""
    return {
        "mean detection delay, polling (s)": theory.polling_delay_mean(params.poll_interval),
        "95th percentile detection delay, polling (s)": theory.polling_delay_quantile(params.poll_interval, 0.95),
        "share of empty polls": theory.polling_empty_fraction(params.rate, params.poll_interval),
    }


PANELS = {"panel": panel}
