"""Every notebook panel, driven programmatically as a learner would drive it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from eda_sim.lab.views import all_panels

PANELS = all_panels()


def snapshot(figures):
    out = []
    for fig in figures:
        for trace in fig.data:
            out.append({k: (np.asarray(v).tolist() if v is not None else None)
                        for k, v in (("x", getattr(trace, "x", None)), ("y", getattr(trace, "y", None)),
                                     ("z", getattr(trace, "z", None)))})
    return out


def other_value(slider, current):
    if slider.options:
        return next(o for o in slider.options if o != current)
    candidate = slider.max if current != slider.max else slider.min
    return int(candidate) if slider.integer else float(candidate)


def test_every_notebook_has_panels():
    assert PANELS, "no panels found in eda_sim.lab.views"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_each_slider_changes_the_figures_like_a_direct_run(name):
    panel = PANELS[name]()
    assert panel.result is not None and panel.error is None
    for slider in panel.sliders:
        before = snapshot(panel.figures)
        value = other_value(slider, getattr(panel.params, slider.param))
        panel.set(**{slider.param: value})
        assert panel.error is None, panel.error
        after = snapshot(panel.figures)
        assert after != before, f"{name}: moving {slider.param} to {value} changed no figure"
        # The figures show exactly what a direct call of the experiment gives for those parameters.
        direct = panel._run(dataclasses.replace(panel.defaults, **{
            s.param: getattr(panel.params, s.param) for s in panel.sliders}))
        panel._update(direct)
        assert snapshot(panel.figures) == after, f"{name}: figure differs from a direct run after {slider.param}"
    panel.reset()
    assert panel.params == panel.defaults


@pytest.mark.parametrize("name", sorted(PANELS))
def test_share_code_reproduces_the_run(name):
    panel = PANELS[name]()
    first = panel.sliders[0]
    panel.set(**{first.param: other_value(first, getattr(panel.params, first.param)), "seed": 7})
    code = panel.share_code()
    expected = snapshot(panel.figures)
    other = PANELS[name]()
    other.load_code(code)
    assert other.params == panel.params
    assert snapshot(other.figures) == expected
