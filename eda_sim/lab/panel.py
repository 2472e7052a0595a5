"""Control panels declared as data: sliders checked against an experiment, figures updated in place.

A notebook describes its controls as a list of :class:`Slider` records and hands them, with the
experiment's ``run`` function, its default parameters and an ``update`` function, to
:class:`ControlPanel`. The panel checks every slider against the parameter dataclass before showing
anything, so a typo or an out-of-range default fails when the notebook is written, not in a
learner's hands. Each slider move builds new parameters with :func:`dataclasses.replace`, runs the
experiment once, calls ``update(result)`` (which changes the figures' traces with plotly's API) and
then sends each figure's new data to the browser (:meth:`eda_sim.lab.plots.LabFigure.sync`), where the
chart is updated in place.

The experiment contract::

    run(params) -> result        # params: frozen dataclass with a ``seed: int`` field
    update(result) -> None       # writes the result into the figures' traces

Example::

    panel = ControlPanel(
        run=queue_experiment, params=QueueParams(), update=show, figures=[fig], name="queue",
        sliders=[Slider("rate", 1, 50, 1, unit="msg/s", help="messages arriving per second"),
                 Slider("consumers", 1, 8, 1)],
    )
    panel            # displays the controls and the figure
    panel.set(rate=12)
    panel.share_code()   # 'eda1:queue:rate=12,seed=1'
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from numbers import Integral, Real
from typing import Any

import ipywidgets as widgets

from eda_sim import budget
from eda_sim.lab import plots

#: The longest share code Load accepts (real ones are well under 200 characters), and the longest status
#: line shown: a pasted megabyte is refused by its length, never echoed into the page.
MAX_CODE = 2_000
STATUS_MAX = 300
#: Version tag at the start of every share code; bump it if the format changes.
SHARE_PREFIX = "eda1"
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]*")
_GREY = "#6b6b6b"
_RED = "#b2182b"
_MAX_TOGGLES = 4  # more options than this become a dropdown
SLIDER_TRACK = "240px"  # length of every slider's track


@dataclass(frozen=True)
class Slider:
    """One control, described as data.

    A numeric slider needs ``min``, ``max`` and ``step``; give ``options`` instead for a choice
    among fixed values (shown as toggle buttons, or a dropdown when there are many). ``integer`` is
    inferred (all of min, max and step are ints) unless given. ``continuous=False`` (the default)
    runs the experiment only when the learner releases the slider, which keeps expensive
    simulations responsive.
    """

    param: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str = ""
    help: str = ""
    label: str | None = None
    continuous: bool = False
    options: tuple | None = None
    integer: bool | None = None

    def __post_init__(self):
        if not isinstance(self.param, str) or not self.param.isidentifier():
            raise ValueError(f"Slider param must be a field name, got {self.param!r}")
        if self.label is None:
            object.__setattr__(self, "label", self.param.replace("_", " "))
        if self.options is not None:
            self._init_options()
        else:
            self._init_numeric()

    def _init_options(self):
        opts = tuple(self.options)
        if not opts:
            raise ValueError(f"{self._where}: options must not be empty")
        if any(v is not None for v in (self.min, self.max, self.step)):
            raise ValueError(f"{self._where}: give either options or min/max/step, not both")
        texts = [str(o) for o in opts]
        if len(set(texts)) != len(texts) or any("," in t for t in texts):
            raise ValueError(f"{self._where}: options must print distinctly and without commas")
        object.__setattr__(self, "options", opts)
        if self.integer is None:
            inferred = all(isinstance(o, Integral) and not isinstance(o, bool) for o in opts)
            object.__setattr__(self, "integer", inferred)

    def _init_numeric(self):
        for name in ("min", "max", "step"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
                raise ValueError(f"{self._where}: {name} must be a finite number, got {v!r}")
        if not self.min < self.max:
            raise ValueError(f"{self._where}: min must be < max, got min={self.min!r}, max={self.max!r}")
        if not self.step > 0:
            raise ValueError(f"{self._where}: step must be > 0, got {self.step!r}")
        if self.step > self.max - self.min:
            raise ValueError(f"{self._where}: step must not exceed max - min, got step={self.step!r}")
        whole = all(float(v).is_integer() for v in (self.min, self.max, self.step))
        if self.integer is None:
            inferred = all(isinstance(v, Integral) for v in (self.min, self.max, self.step))
            object.__setattr__(self, "integer", inferred)
        elif self.integer and not whole:
            raise ValueError(f"{self._where}: integer=True needs whole-number min, max and step")

    @property
    def _where(self) -> str:
        return f"Slider {self.param!r}"

    @property
    def description(self) -> str:
        """The label with the unit in brackets, e.g. ``"arrival rate (msg/s)"`` (not when the label
        already names the unit: "DB connections", not "DB connections (connections)")."""
        if not self.unit or self.unit.lower() in self.label.lower():
            return self.label
        return f"{self.label} ({self.unit})"

    @property
    def decimals(self) -> int:
        """Decimal places needed to show min and step exactly (0 for integer sliders)."""
        if self.options is not None or self.integer:
            return 0
        return max(_decimals(self.min), _decimals(self.step))

    def check(self, value):
        """Return ``value`` if this slider can show it (normalised), else raise ValueError."""
        if self.options is not None:
            for option in self.options:
                if option == value and isinstance(value, bool) == isinstance(option, bool):
                    return option
            allowed = ", ".join(map(repr, self.options))
            raise ValueError(f"{self._where}: value must be one of {allowed}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{self._where}: value must be a number, got {value!r}")
        if not self.min <= value <= self.max:
            raise ValueError(f"{self._where}: value must be in [{self.min}, {self.max}], got {value!r}")
        if self.integer:
            if not float(value).is_integer():
                raise ValueError(f"{self._where}: value must be a whole number, got {value!r}")
            return int(value)
        return self.clean(value)

    def clean(self, value):
        """Snap a float that is within rounding noise of a step back onto the step grid.

        The browser sends slider positions such as 0.30000000000000004; snapping keeps parameters
        and share codes tidy and reproducible. Values off the grid are left alone.
        """
        if self.options is not None:
            return value
        if self.integer:
            return int(round(value))
        k = (value - self.min) / self.step
        if abs(k - round(k)) < 1e-9:
            return round(self.min + round(k) * self.step, self.decimals)
        return float(value)

    def format(self, value) -> str:
        """The value as text for a share code."""
        if self.options is not None or self.integer:
            return str(value)
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text

    def parse(self, text: str):
        """The value written by :meth:`format`, checked against this slider."""
        if self.options is not None:
            for option in self.options:
                if str(option) == text:
                    return option
            allowed = ", ".join(map(str, self.options))
            raise ValueError(f"{self._where}: value must be one of {allowed}, got {text!r}")
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            kind = "a whole number" if self.integer else "a number"
            raise ValueError(f"{self._where}: value must be {kind}, got {text!r}") from None
        return self.check(value)

    def make_widget(self, value, description_width: str) -> widgets.ValueWidget:
        """The ipywidget for this control, showing ``value``."""
        common = dict(description=self.description, tooltip=self.help or None,
                      style={"description_width": description_width})
        if self.options is not None:
            choices = [(str(o), o) for o in self.options]
            if len(choices) <= _MAX_TOGGLES:
                return widgets.ToggleButtons(options=choices, value=value, **common)
            return widgets.Dropdown(options=choices, value=value, **common,
                                    layout=widgets.Layout(width=f"calc({description_width} + 16em)"))
        cls = widgets.IntSlider if self.integer else widgets.FloatSlider
        extra = {} if self.integer else {"readout_format": f".{self.decimals}f"}
        # The label column, then a track of SLIDER_TRACK and the readout: the track never shrinks
        # below 200 px however long the labels of the panel are.
        width = f"calc({description_width} + {SLIDER_TRACK} + 5em)"
        return cls(value=value, min=self.min, max=self.max, step=self.step, readout=True,
                   continuous_update=self.continuous, layout=widgets.Layout(width=width, min_width=width),
                   **extra, **common)


class ControlPanel:
    """Sliders, a seed box, Reset/Share/Load buttons and a status line driving one experiment.

    ``params`` holds the defaults: Reset returns to them and share codes list only what differs
    from them. ``panel.params`` and ``panel.result`` always belong to the last run that succeeded.
    """

    def __init__(self, run: Callable[[Any], Any], params, sliders: Iterable[Slider],
                 update: Callable[[Any], None], figures: Iterable = (), name: str = "",
                 *, show_figures: bool = True):
        _check_params(params)
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ValueError(f"name may use letters, digits, '_', '.', '-' only, got {name!r}")
        self.name = name
        self.sliders: tuple[Slider, ...] = tuple(sliders)
        _check_sliders(self.sliders, params)
        self.figures = tuple(figures)
        for fig in self.figures:
            if not isinstance(fig, plots.LabFigure):
                raise TypeError(f"figures must be eda_sim.lab.plots.LabFigure objects (plots.figure()), "
                                f"got {type(fig).__name__}")
        self._run, self._update = run, update
        self.defaults = params
        self.params = params
        self.result = None
        self.last_ms: float | None = None
        self.error: str | None = None
        self._suspended = 0
        self._build_widgets(show_figures)
        if self.refresh() is None and self.error is not None:
            raise ValueError(f"the default parameters do not run: {self.error}")

    # ---- programmatic API -------------------------------------------------------------------

    def refresh(self):
        """Run once with the widgets' current values and update the figures; return the result.

        A ValueError from the parameters or the run is shown in the status line (and kept in
        ``panel.error``); the figures keep their previous data and ``None`` is returned.
        """
        self.status.value = _status("running…")
        start = time.perf_counter()
        try:
            params = dataclasses.replace(self.defaults, **self._widget_values())
            with budget.allowance(f"panel {self.name!r}"):  # one budget for the whole slider move
                result = self._run(params)
        except (ValueError, budget.Exhausted) as exc:
            self.error = str(exc)
            self.status.value = _status(f"⚠ {exc}", _RED)
            return None
        if isinstance(result, budget.Stopped):  # the figures keep the last run that finished
            self.error = result.reason
            self.status.value = _status(f"⚠ {result.reason}", _RED)
            return None
        try:
            self._update(result)
        except Exception as exc:  # a bug in update(): say so in the panel, then let it surface
            self.status.value = _status(f"⚠ update failed: {exc!r}", _RED)
            raise
        for fig in self.figures:
            fig.sync()
        self.last_ms = (time.perf_counter() - start) * 1000
        self.params, self.result, self.error = params, result, None
        self.status.value = _status(f"ready · {self.last_ms:.0f} ms")
        return result

    def set(self, **values):
        """Set some controls (and/or ``seed``), run exactly once, return the result.

        Unknown names and values a control cannot show raise ValueError before anything changes.
        """
        checked = self._check_values(values)
        with self._hold():
            self._show(checked)
        return self.refresh()

    def reset(self):
        """Restore every control and the seed to the defaults, with a single run."""
        with self._hold():
            self._show(self._default_values())
        return self.refresh()

    def share_code(self) -> str:
        """A short code reproducing the last successful run, e.g. ``eda1:queue:rate=12,seed=7``.

        It lists the controls that differ from the defaults, then the seed.
        """
        parts = [f"{s.param}={s.format(getattr(self.params, s.param))}" for s in self.sliders
                 if getattr(self.params, s.param) != getattr(self.defaults, s.param)]
        parts.append(f"seed={self.params.seed}")
        return f"{SHARE_PREFIX}:{self.name}:{','.join(parts)}"

    def load_code(self, text: str):
        """Apply a share code: defaults, then the code's values, in one run. Returns the result."""
        values = self._parse_code(text)
        with self._hold():
            self._show({**self._default_values(), **values})
        return self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        self.widget.add_class("eda-panel")  # how the browser test finds a panel and its charts
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- widgets ----------------------------------------------------------------------------

    def _build_widgets(self, show_figures: bool) -> None:
        width = f"{max([len(s.description) for s in self.sliders] + [4]) + 2}ch"
        self.controls: dict[str, widgets.ValueWidget] = {}
        rows = []
        for s in self.sliders:
            control = s.make_widget(getattr(self.defaults, s.param), width)
            control.observe(self._on_change, names="value")
            self.controls[s.param] = control
            note = [widgets.Label(s.help, style={"font_size": "0.85em", "text_color": _GREY})]
            rows.append(widgets.HBox([control, *note] if s.help else [control],
                                     layout=widgets.Layout(align_items="center", flex_flow="row wrap")))
        self.seed_box = widgets.IntText(value=self.defaults.seed, description="seed",
                                        tooltip="same seed, same workload; change it for another sample",
                                        style={"description_width": width},
                                        layout=widgets.Layout(width=f"calc({width} + 8em)"))
        self.seed_box.observe(self._on_change, names="value")
        reset = widgets.Button(description="Reset", icon="undo", tooltip="restore the default values")
        reset.on_click(lambda _: self.reset())
        self.status = widgets.HTML(_status(""))
        self.code_box = widgets.Text(placeholder="share code, e.g. eda1:queue:rate=12,seed=7",
                                     layout=widgets.Layout(width="24em"))
        share = widgets.Button(description="Share", icon="share", tooltip="write a code for this run")
        share.on_click(lambda _: setattr(self.code_box, "value", self.share_code()))
        load = widgets.Button(description="Load", icon="upload", tooltip="apply the code in the box")
        load.on_click(self._on_load)
        rows.append(widgets.HBox([self.seed_box, reset, self.status],
                                 layout=widgets.Layout(align_items="center")))
        rows.append(widgets.HBox([share, self.code_box, load]))
        self.controls_box = widgets.VBox(rows)
        shown = [self.controls_box]
        if show_figures and self.figures:
            shown.append(self.figures[0].widget if len(self.figures) == 1 else plots.side_by_side(*self.figures))
        self.widget = widgets.VBox(shown)

    def _on_change(self, change) -> None:
        if not self._suspended:
            self.refresh()

    def _on_load(self, _button) -> None:
        try:
            self.load_code(self.code_box.value)
        except ValueError as exc:
            self.error = str(exc)
            self.status.value = _status(f"⚠ {exc}", _RED)

    @contextlib.contextmanager
    def _hold(self):
        """Suspend the run-on-change callbacks while several widgets change."""
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1

    def _show(self, values: dict) -> None:
        for key, value in values.items():
            (self.seed_box if key == "seed" else self.controls[key]).value = value

    def _widget_values(self) -> dict:
        values = {s.param: s.clean(self.controls[s.param].value) for s in self.sliders}
        values["seed"] = int(self.seed_box.value)
        return values

    def _default_values(self) -> dict:
        values = {s.param: getattr(self.defaults, s.param) for s in self.sliders}
        values["seed"] = self.defaults.seed
        return values

    # ---- checking values and codes ----------------------------------------------------------

    def _check_values(self, values: dict) -> dict:
        by_name = {s.param: s for s in self.sliders}
        checked = {}
        for key, value in values.items():
            if key == "seed":
                if isinstance(value, bool) or not isinstance(value, Integral):
                    raise ValueError(f"seed must be an integer, got {value!r}")
                checked[key] = int(value)
            elif key in by_name:
                checked[key] = by_name[key].check(value)
            else:
                raise ValueError(f"no control named {key!r}; controls: {', '.join(self._names())}")
        return checked

    def _parse_code(self, text: str) -> dict:
        if isinstance(text, str) and len(text) > MAX_CODE:
            raise ValueError(f"a share code is at most {MAX_CODE:,} characters; this one has {len(text):,} "
                             f"(starting {text[:40]!r})")
        if not isinstance(text, str) or text.strip().count(":") < 2:
            raise ValueError(f"not a share code (expected '{SHARE_PREFIX}:<experiment>:name=value,...'),"
                             f" got {_clip(repr(text), 80)}")
        prefix, name, body = text.strip().split(":", 2)
        if prefix != SHARE_PREFIX:
            raise ValueError(f"share code must start with '{SHARE_PREFIX}:', got {prefix!r}")
        if name != self.name:
            raise ValueError(f"this code is for experiment {name!r}, but this panel runs {self.name!r}")
        by_name = {s.param: s for s in self.sliders}
        values: dict = {}
        for item in filter(None, (part.strip() for part in body.split(","))):
            key, sep, raw = item.partition("=")
            key, raw = key.strip(), raw.strip()
            if not sep:
                raise ValueError(f"share code item {item!r} must look like name=value")
            if key in values:
                raise ValueError(f"share code sets {key!r} twice")
            if key == "seed":
                try:
                    values[key] = int(raw)
                except ValueError:
                    raise ValueError(f"seed must be an integer, got {raw!r}") from None
            elif key in by_name:
                values[key] = by_name[key].parse(raw)
            else:
                raise ValueError(f"share code names unknown parameter {key!r}; "
                                 f"controls: {', '.join(self._names())}")
        return values

    def _names(self) -> list[str]:
        return [s.param for s in self.sliders] + ["seed"]


def _check_params(params) -> None:
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise TypeError(f"params must be a dataclass instance, got {params!r}")
    if not type(params).__dataclass_params__.frozen:
        raise TypeError(f"{type(params).__name__} must be a frozen dataclass")
    seed = getattr(params, "seed", None)
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise ValueError(f"{type(params).__name__} needs an integer field 'seed', got {seed!r}")


def _check_sliders(sliders: tuple, params) -> None:
    """Check every slider against the parameter dataclass; raise ValueError naming the slider."""
    fields = {f.name: f for f in dataclasses.fields(params) if f.init}
    kind = type(params).__name__
    seen = set()
    for s in sliders:
        if not isinstance(s, Slider):
            raise TypeError(f"sliders must be Slider objects, got {s!r}")
        where = f"Slider {s.param!r}"
        if s.param in seen:
            raise ValueError(f"{where} is declared twice")
        seen.add(s.param)
        if s.param == "seed":
            raise ValueError(f"{where}: the seed has its own box; do not declare a slider for it")
        if s.param not in fields:
            raise ValueError(f"{where}: {kind} has no field {s.param!r}; fields: {', '.join(fields)}")
        default = getattr(params, s.param)
        if s.options is None:
            if isinstance(default, bool) or not isinstance(default, Real):
                raise ValueError(f"{where}: field {s.param!r} holds {default!r}, not a number; "
                                 "use options=(...) for a choice")
            if isinstance(default, Integral) and not s.integer:
                raise ValueError(f"{where}: field {s.param!r} is an integer but the slider is not "
                                 "(give whole-number min, max and step)")
        try:
            s.check(default)
        except ValueError as exc:
            raise ValueError(f"{exc} (the default of {kind}.{s.param})") from None


def _decimals(x: float) -> int:
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(0, -exponent)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(text: str, color: str = _GREY) -> str:
    """The status line's HTML; long messages are cut to STATUS_MAX characters so the line stays one line."""
    return f'<span style="color:{color}; font-size:0.9em">{html.escape(_clip(text, STATUS_MAX), quote=False)}</span>'
