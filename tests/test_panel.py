"""ControlPanel and Slider, driven headless with a tiny fake experiment (no kernel needed)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_sim.lab import plots
from eda_sim.lab.panel import ControlPanel, Slider


@dataclass(frozen=True, kw_only=True)
class Fake:
    rate: float = 2.0
    n: int = 3
    mode: str = "fast"
    seed: int = 1


@dataclass(frozen=True)
class Result:
    x: np.ndarray
    y: np.ndarray


def fake_run(p: Fake) -> Result:
    """Deterministic from the params: n*4 exponential gaps at ``rate``, scaled by mode."""
    if p.rate > 9:
        raise ValueError("rate above 9 msg/s overloads this fake system")
    rng = np.random.default_rng(p.seed)
    y = rng.exponential(1 / p.rate, size=p.n * 4) * (1 if p.mode == "fast" else 3)
    return Result(x=np.arange(y.size), y=y)


SLIDERS = [
    Slider("rate", 0.5, 10, 0.5, unit="msg/s", help="arrivals per second", label="arrival rate"),
    Slider("n", 1, 8, 1),
    Slider("mode", options=("fast", "slow")),
]


class Counting:
    """Wraps fake_run to count runs and remember the params it saw."""

    def __init__(self):
        self.calls: list[Fake] = []

    def __call__(self, p):
        self.calls.append(p)
        return fake_run(p)


def make_panel(**kwargs):
    fig = plots.figure("fake", "index (-)", "gap (s)")
    plots.line(fig, "gaps", arch="eda")
    run = Counting()

    def update(result):
        plots.set_xy(fig, "gaps", result.x, result.y)

    panel = ControlPanel(run, Fake(), SLIDERS, update, [fig], name="fake", **kwargs)
    return panel, fig, run


def trace_y(fig):
    return np.asarray(fig.data[0].y)


# ---- Slider ----------------------------------------------------------------------------------------

def test_slider_defaults_and_inference():
    s = Slider("arrival_rate", 1, 10, 1, unit="msg/s")
    assert s.label == "arrival rate"
    assert s.description == "arrival rate (msg/s)"
    assert s.integer is True and s.continuous is False
    assert Slider("rate", 0.5, 10, 0.5).integer is False
    assert Slider("mode", options=["a", "b"]).options == ("a", "b")


@pytest.mark.parametrize("kwargs, field", [
    (dict(min=5, max=1, step=1), "min"),
    (dict(min=1, max=5, step=0), "step"),
    (dict(min=1, max=5, step=-1), "step"),
    (dict(min=1, max=float("nan"), step=1), "max"),
    (dict(min=0.5, max=5, step=1, integer=True), "integer"),
])
def test_slider_rejects_bad_fields_naming_them(kwargs, field):
    with pytest.raises(ValueError, match=field) as info:
        Slider("rate", **kwargs)
    assert "'rate'" in str(info.value)


def test_slider_cleans_browser_rounding_noise():
    s = Slider("rate", 0.1, 1, 0.1)
    assert s.clean(0.30000000000000004) == 0.3
    assert s.format(0.3) == "0.3" and s.parse("0.3") == 0.3


# ---- construction checks --------------------------------------------------------------------------

@pytest.mark.parametrize("slider, words", [
    (Slider("speed", 1, 5, 1), "no field 'speed'"),
    (Slider("rate", 3, 5, 1.0), "[3"),                 # default 2.0 below min
    (Slider("n", 1, 2, 1), "default"),                 # default 3 above max
    (Slider("n", 1, 8, 0.5), "integer"),               # float slider for an int field
    (Slider("mode", 1, 5, 1), "not a number"),         # numeric slider for a str field
    (Slider("mode", options=("a", "b")), "one of"),    # default not among options
    (Slider("seed", 0, 9, 1), "own box"),
])
def test_bad_slider_declarations_raise_naming_the_slider(slider, words):
    with pytest.raises(ValueError) as info:
        ControlPanel(fake_run, Fake(), [slider], lambda r: None)
    message = str(info.value)
    assert f"Slider {slider.param!r}" in message
    assert words in message


def test_defaults_that_do_not_run_fail_at_construction():
    def broken(p):
        raise ValueError("needs at least 2 consumers")

    with pytest.raises(ValueError, match="default parameters do not run: needs at least 2"):
        ControlPanel(broken, Fake(), SLIDERS, lambda r: None)


def test_duplicate_slider_and_bad_params_rejected():
    with pytest.raises(ValueError, match="twice"):
        ControlPanel(fake_run, Fake(), [SLIDERS[1], SLIDERS[1]], lambda r: None)

    @dataclass
    class Mutable:
        seed: int = 1
    with pytest.raises(TypeError, match="frozen"):
        ControlPanel(lambda p: p, Mutable(), [], lambda r: None)

    @dataclass(frozen=True)
    class NoSeed:
        rate: float = 1.0
    with pytest.raises(ValueError, match="seed"):
        ControlPanel(lambda p: p, NoSeed(), [], lambda r: None)


# ---- widgets --------------------------------------------------------------------------------------

def test_widgets_follow_the_declarations():
    panel, fig, run = make_panel()
    rate, n, mode = (panel.controls[k] for k in ("rate", "n", "mode"))
    assert isinstance(rate, widgets.FloatSlider) and isinstance(n, widgets.IntSlider)
    assert isinstance(mode, widgets.ToggleButtons)
    assert rate.description == "arrival rate (msg/s)" and rate.tooltip == "arrivals per second"
    assert rate.readout and rate.continuous_update is False
    assert (rate.min, rate.max, rate.step, rate.value) == (0.5, 10, 0.5, 2.0)
    assert panel.seed_box.value == 1
    assert isinstance(panel.widget, widgets.VBox) and fig.widget in panel.widget.children
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()


def test_initial_run_fills_the_figure():
    panel, fig, run = make_panel()
    assert len(run.calls) == 1 and run.calls[0] == Fake()
    np.testing.assert_array_equal(trace_y(fig), fake_run(Fake()).y)
    assert panel.status.value.count("ready · ") == 1 and panel.last_ms >= 0


def test_moving_a_slider_updates_the_trace_in_place():
    panel, fig, run = make_panel()
    trace = fig.data[0]
    panel.controls["rate"].value = 4.5
    expected = fake_run(dataclasses.replace(Fake(), rate=4.5))
    assert len(run.calls) == 2 and panel.params == Fake(rate=4.5)
    assert fig.data[0] is trace                      # same trace object: updated, not re-created
    np.testing.assert_array_equal(trace_y(fig), expected.y)
    np.testing.assert_array_equal(panel.result.y, expected.y)


def test_seed_box_reruns_with_a_new_sample():
    panel, fig, run = make_panel()
    before = trace_y(fig).copy()
    panel.seed_box.value = 2
    assert panel.params.seed == 2 and len(run.calls) == 2
    assert not np.array_equal(before, trace_y(fig))


def test_set_runs_exactly_once_and_matches_a_direct_call():
    panel, fig, run = make_panel()
    result = panel.set(rate=3.0, n=5, mode="slow", seed=9)
    assert len(run.calls) == 2
    direct = fake_run(Fake(rate=3.0, n=5, mode="slow", seed=9))
    np.testing.assert_array_equal(result.y, direct.y)
    np.testing.assert_array_equal(trace_y(fig), direct.y)
    assert panel.controls["n"].value == 5 and panel.seed_box.value == 9


def test_set_rejects_unknown_names_and_out_of_range_values_without_running():
    panel, fig, run = make_panel()
    with pytest.raises(ValueError, match="no control named 'speed'"):
        panel.set(speed=3)
    with pytest.raises(ValueError, match="'rate'"):
        panel.set(rate=99)          # an IntSlider/FloatSlider would silently clamp this
    with pytest.raises(ValueError, match="'mode'"):
        panel.set(mode="medium")
    assert len(run.calls) == 1 and panel.controls["rate"].value == 2.0


def test_reset_restores_defaults_with_one_run():
    panel, fig, run = make_panel()
    panel.set(rate=5.0, n=7, mode="slow", seed=4)
    calls = len(run.calls)
    panel.reset()
    assert len(run.calls) == calls + 1
    assert panel.params == Fake()
    assert [panel.controls[k].value for k in ("rate", "n", "mode")] == [2.0, 3, "fast"]
    np.testing.assert_array_equal(trace_y(fig), fake_run(Fake()).y)


def test_reset_button_runs_once():
    panel, fig, run = make_panel()
    panel.set(rate=5.0, n=7)
    calls = len(run.calls)
    reset = next(w for w in _walk(panel.widget) if isinstance(w, widgets.Button) and w.description == "Reset")
    reset.click()
    assert len(run.calls) == calls + 1 and panel.params == Fake()


def test_value_error_in_run_shows_in_status_and_keeps_previous_data():
    panel, fig, run = make_panel()
    panel.set(rate=4.0)
    before = trace_y(fig).copy()
    assert panel.set(rate=9.5) is None
    assert "overloads this fake system" in panel.status.value
    assert "#b2182b" in panel.status.value and "Traceback" not in panel.status.value
    assert panel.error is not None
    np.testing.assert_array_equal(trace_y(fig), before)
    assert panel.params.rate == 4.0                  # params and result stay those of the last good run
    panel.set(rate=3.0)
    assert panel.error is None and "ready" in panel.status.value


def test_status_reads_running_while_the_run_is_under_way():
    panel = None
    seen = []

    def run(p):
        if panel is not None:
            seen.append(panel.status.value)
        return fake_run(p)

    panel = ControlPanel(run, Fake(), SLIDERS, lambda r: None)
    panel.set(n=4)
    assert len(seen) == 1 and "running…" in seen[0]
    assert "ready · " in panel.status.value and " ms" in panel.status.value


def test_every_figure_is_sent_to_the_browser_after_each_run():
    figs = [plots.figure("a", "x (s)", "y (s)"), plots.figure("b", "x (s)", "y (s)")]
    for f in figs:
        plots.line(f, "gaps")

    def update(result):
        for f in figs:
            plots.set_xy(f, "gaps", result.x, result.y)

    panel = ControlPanel(fake_run, Fake(), SLIDERS, update, figs)
    for f in figs:  # the charts' state (what the browser draws) holds the run's data
        assert json.loads(f.widget.figure_data)[0]["y"] == list(panel.result.y)
    panel.set(rate=4.5)
    for f in figs:
        assert json.loads(f.widget.figure_data)[0]["y"] == list(panel.result.y)


def test_figures_must_be_lab_figures():
    with pytest.raises(TypeError, match="LabFigure"):
        ControlPanel(fake_run, Fake(), SLIDERS, lambda r: None, [object()])


# ---- share codes ----------------------------------------------------------------------------------

def test_share_code_lists_only_changes_and_the_seed():
    panel, fig, run = make_panel()
    assert panel.share_code() == "eda1:fake:seed=1"
    panel.set(rate=4.5, mode="slow", seed=7)
    assert panel.share_code() == "eda1:fake:rate=4.5,mode=slow,seed=7"


def test_share_code_round_trip_reproduces_the_run():
    panel, fig, run = make_panel()
    panel.set(rate=3.5, n=6, seed=42)
    code, expected = panel.share_code(), panel.result
    other, other_fig, other_run = make_panel()
    result = other.load_code(code)
    assert len(other_run.calls) == 2                # initial run + exactly one for the code
    assert other.params == panel.params
    np.testing.assert_array_equal(result.y, expected.y)
    np.testing.assert_array_equal(trace_y(other_fig), trace_y(fig))


def test_load_code_starts_from_the_defaults():
    panel, fig, run = make_panel()
    panel.set(n=7, mode="slow")
    panel.load_code("eda1:fake:rate=1.5,seed=3")
    assert panel.params == Fake(rate=1.5, seed=3)


@pytest.mark.parametrize("code, words", [
    ("eda1:queue:rate=3,seed=1", "experiment 'queue'"),
    ("eda1:fake:speed=3,seed=1", "unknown parameter 'speed'"),
    ("eda1:fake:rate=99,seed=1", "'rate'"),
    ("eda1:fake:n=2.5", "'n'"),
    ("eda1:fake:mode=medium", "'mode'"),
    ("eda1:fake:seed=abc", "seed"),
    ("eda1:fake:rate", "name=value"),
    ("eda1:fake:n=2,n=3", "twice"),
    ("eda9:fake:n=2", "eda1"),
    ("hello", "not a share code"),
])
def test_load_code_rejects_bad_codes_without_running(code, words):
    panel, fig, run = make_panel()
    with pytest.raises(ValueError) as info:
        panel.load_code(code)
    assert words in str(info.value)
    assert len(run.calls) == 1 and panel.params == Fake()


def test_share_and_load_buttons():
    panel, fig, run = make_panel()
    panel.set(n=6, seed=5)
    buttons = {w.description: w for w in _walk(panel.widget) if isinstance(w, widgets.Button)}
    buttons["Share"].click()
    assert panel.code_box.value == "eda1:fake:n=6,seed=5"
    panel.reset()
    buttons["Load"].click()
    assert panel.params == Fake(n=6, seed=5)
    panel.code_box.value = "eda1:other:n=6"
    buttons["Load"].click()                          # shown in the status, not raised
    assert "experiment 'other'" in panel.status.value and panel.params == Fake(n=6, seed=5)


@settings(max_examples=20, deadline=None)
@given(rate_steps=st.integers(0, 17), n=st.integers(1, 8), mode=st.sampled_from(["fast", "slow"]),
       seed=st.integers(0, 2**32))
def test_any_share_code_reproduces_its_run(rate_steps, n, mode, seed):
    source, target = make_panel()[0], make_panel()[0]
    rate = 0.5 + 0.5 * rate_steps
    source.set(rate=rate, n=n, mode=mode, seed=seed)
    target.load_code(source.share_code())
    assert target.params == source.params == Fake(rate=rate, n=n, mode=mode, seed=seed)
    np.testing.assert_array_equal(target.result.y, source.result.y)


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_a_huge_pasted_code_is_refused_by_its_length_and_never_echoed():
    panel, _, run = make_panel()
    calls = len(run.calls)
    panel.code_box.value = "eda1:fake:" + "x" * 1_000_000
    panel._on_load(None)
    assert "a share code is at most 2,000 characters; this one has 1,000,010" in panel.status.value
    assert len(panel.status.value) < 500 and len(panel.error) < 200
    assert len(run.calls) == calls  # nothing ran


def test_a_long_error_is_cut_in_the_status_line():
    panel, _, _ = make_panel()
    panel.code_box.value = "eda1:fake:" + "y" * 1_500 + "=1"
    panel._on_load(None)
    assert "unknown parameter" in panel.status.value
    assert panel.status.value.count("y") < 320 and "…" in panel.status.value
