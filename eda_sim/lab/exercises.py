"""Predict-then-run questions with automatic checks and hidden solutions, the same in every notebook.

* :class:`Prediction` records what the learner expects *before* a run and, after it, says whether
  the run agreed (``reveal``). Committing to a guess first is what makes a surprise teach, so a
  prediction also holds back what would give its answer away: a panel's charts (:meth:`Prediction.guard`)
  and any table or text about the run (:meth:`Prediction.after`) appear only once the learner has
  recorded a guess (or pressed *Skip*). That holds with Run All and in Voila, which run everything
  before anyone reads the page.
* :class:`MultipleChoice` and :class:`Numeric` check an answer and explain it.
* :class:`Exercise` checks a task with a function the notebook author writes.
* Every question can carry a hint, and its solution stays out of the page until the learner
  presses *Show solution*. The questions themselves are written in the package (``eda_sim.lab.views``,
  beside each notebook's panels), so the answer is not in a code cell above the input box.

Every object has ``.widget`` (and displays itself in a notebook) and a programmatic
``.answer(value) -> (ok, feedback)``, which the tests and the notebooks' self-checks use. Prompts,
explanations and solutions are Markdown (with ``$...$`` maths); feedback is an HTML widget.
"""

from __future__ import annotations

import ast
import html
import inspect
import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import NamedTuple

import ipywidgets as widgets

from . import plots

_GREEN, _GREEN_BG = "#1b7837", "#eaf5ea"
_RED, _RED_BG = "#b2182b", "#fbeaea"
_AMBER, _AMBER_BG = "#8a5a00", "#fdf3e1"
_GREY = "#555555"


def markdown_html(text: str) -> str:
    """Markdown to HTML for the lab's widgets; ``$...$`` maths is kept for MathJax.

    Uses mistune, which every Jupyter install brings (through nbconvert); without it the text is
    shown as-is.
    """
    try:
        import mistune
    except ImportError:  # pragma: no cover - Jupyter always has it
        return f"<p>{html.escape(text)}</p>"
    return mistune.create_markdown(plugins=["math", "table", "strikethrough"])(text)


def as_widget(item) -> widgets.Widget:
    """Anything a lesson shows, as one widget: Markdown text (``$maths$`` kept), a chart (in a grid
    cell, so it follows the page width like a panel's charts), a widget as it is, or anything else a
    notebook can display (a table, a Styler) in an output area."""
    if isinstance(item, str):
        return widgets.HTMLMath(markdown_html(item))
    if isinstance(item, plots.LabFigure):
        return plots.side_by_side(item)
    if isinstance(item, widgets.Widget):
        return item
    out = widgets.Output()
    out.append_display_data(item)
    return out


def feedback_html(ok: bool | None, text: str) -> str:
    """A coloured feedback box: green when ok, red when not, amber when there is no verdict."""
    fg, bg = {True: (_GREEN, _GREEN_BG), False: (_RED, _RED_BG)}.get(ok, (_AMBER, _AMBER_BG))
    return (f'<div style="color:{fg}; background:{bg}; border-left:4px solid {fg}; '
            f'padding:4px 10px; margin:4px 0">{text}</div>')


#: Wrong answers after which a question shows its explanation (which usually gives the answer away).
REVEAL_AFTER = 3


class Feedback(NamedTuple):
    """``(ok, text)`` from a check. The widget already shows it, so a notebook cell ending in a check
    displays nothing more (no raw tuple under the feedback)."""

    ok: bool
    text: str

    def _ipython_display_(self) -> None:
        pass


class _Question:
    """Shared parts: a Markdown prompt, a Check button, a feedback area, and optional Hint and
    Show-solution buttons (the texts enter the page only when pressed)."""

    def __init__(self, prompt: str, inputs: list, button_text: str = "Check", *, hint: str = "",
                 solution: str = ""):
        self.prompt, self.hint, self.solution = prompt, hint, solution
        self.solution_shown = False
        self.feedback = widgets.HTMLMath("")   # an HTML widget that also typesets $maths$
        self.check_button = widgets.Button(description=button_text, button_style="primary")
        self.check_button.on_click(lambda _: self._on_check())
        self.hint_area = widgets.HTMLMath("")
        self.solution_area = widgets.HTMLMath("")
        self.hint_button = widgets.Button(description="Hint", icon="lightbulb-o")
        self.hint_button.on_click(lambda _: self.show_hint())
        self.solution_button = widgets.Button(description="Show solution", icon="eye")
        self.solution_button.on_click(lambda _: self.show_solution())
        helpers = [b for b, text in ((self.hint_button, hint), (self.solution_button, solution)) if text]
        self.buttons = widgets.HBox([self.check_button, *helpers])
        self.widget = widgets.VBox([widgets.HTMLMath(markdown_html(prompt)), *inputs, self.buttons,
                                    self.feedback, self.hint_area, self.solution_area])

    def show_hint(self) -> str:
        """Show the hint under the question and return it."""
        self.hint_area.value = feedback_html(None, markdown_html(f"**Hint:** {self.hint}"))
        return self.hint

    def show_solution(self) -> str:
        """Reveal the solution (it is not in the page until this is called) and return it."""
        self.solution_shown = True
        self.solution_area.value = (f'<div style="border:1px solid #ccc; padding:4px 10px">'
                                    f'<b>Solution</b>{markdown_html(self.solution)}</div>')
        self.solution_button.disabled = True
        return self.solution

    def _on_check(self) -> None:
        raise NotImplementedError

    def _show(self, ok: bool, message: str, explanation: str = "", *, neutral: bool = False) -> Feedback:
        """Render feedback (green/red by ``ok``, amber if ``neutral``) and return ``(ok, text)``."""
        body = html.escape(message, quote=False)
        if explanation:
            body += markdown_html(explanation)
        self.feedback.value = feedback_html(None if neutral else ok, body)
        return Feedback(ok, message + (f"\n{explanation}" if explanation else ""))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class MultipleChoice(_Question):
    """Radio buttons and a Check button; the explanation comes with the verdict."""

    def __init__(self, prompt: str, options: Sequence, answer, explanation: str = "", *, hint: str = ""):
        self.options = tuple(options)
        if len(self.options) < 2:
            raise ValueError("a multiple-choice question needs at least two options")
        if answer not in self.options:
            raise ValueError(f"answer {answer!r} is not one of the options {self.options!r}")
        self.correct, self.explanation = answer, explanation
        # index=None: nothing is preselected, so the learner has to choose.
        self.choice = widgets.RadioButtons(options=[(str(o), o) for o in self.options], index=None,
                                           layout=widgets.Layout(width="auto"))
        solution = f"**{answer}**" + (f"\n\n{explanation}" if explanation else "")
        super().__init__(prompt, [self.choice], hint=hint, solution=solution)

    def answer(self, value) -> tuple[bool, str]:
        """Select ``value`` (if it is an option) and check it."""
        if value not in self.options:
            return self._show(False, f"{value!r} is not one of the options.")
        self.choice.value = value
        return self._verdict(value)

    def _verdict(self, value) -> tuple[bool, str]:
        if value == self.correct:
            return self._show(True, "Correct.", self.explanation)
        self.misses = getattr(self, "misses", 0) + 1
        if self.misses >= REVEAL_AFTER:
            return self._show(False, "Not quite.", self.explanation)
        return self._show(False, "Not quite. Think about the mechanism and try again.")

    def _on_check(self) -> None:
        if self.choice.index is None:
            self._show(False, "Choose an option first.", neutral=True)
        else:
            self._verdict(self.choice.value)


class Numeric(_Question):
    """A number box; the answer counts as right within ``± tolerance``."""

    def __init__(self, prompt: str, answer: float, tolerance: float, unit: str = "",
                 explanation: str = "", *, hint: str = ""):
        for name, v in (("answer", answer), ("tolerance", tolerance)):
            if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
        self.correct, self.tolerance = float(answer), float(tolerance)
        self.unit, self.explanation = unit, explanation
        self.box = widgets.FloatText(value=0.0, description=f"answer ({unit})" if unit else "answer",
                                     style={"description_width": "initial"})
        unit_text = f" {unit}" if unit else ""
        solution = f"**{_num(self.correct)}{unit_text}**" + (f"\n\n{explanation}" if explanation else "")
        super().__init__(prompt, [self.box], hint=hint, solution=solution)

    def answer(self, value) -> tuple[bool, str]:
        """Check ``value`` (a number) and show it in the box."""
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            return self._show(False, f"Enter a number, got {value!r}.")
        self.box.value = float(value)
        return self._verdict(float(value))

    def _verdict(self, value: float) -> tuple[bool, str]:
        unit = f" {self.unit}" if self.unit else ""
        if abs(value - self.correct) <= self.tolerance:
            return self._show(True, f"Correct: {_num(self.correct)}{unit}.", self.explanation)
        direction = "high" if value > self.correct else "low"
        self.misses = getattr(self, "misses", 0) + 1
        # The explanation states the answer: keep it back until a few honest tries have failed.
        explanation = self.explanation if self.misses >= REVEAL_AFTER else ""
        return self._show(False, f"Not quite: {_num(value)}{unit} is too {direction}.", explanation)

    def _on_check(self) -> None:
        self._verdict(float(self.box.value))


class Exercise(_Question):
    """A task checked by ``check``, with an optional hint and a solution hidden until asked for.

    ``check`` either takes the learner's value (a text box is shown; typed text is read as a Python
    literal when possible, so ``12`` arrives as a number) or takes no argument and inspects the
    notebook's state itself (e.g. a panel's current result). It returns ``(ok, feedback)``.
    """

    def __init__(self, prompt: str, check: Callable, solution: str, hint: str = ""):
        if not callable(check):
            raise TypeError(f"check must be a function, got {check!r}")
        self.check = check
        self.takes_value = _takes_argument(check)
        self.box = widgets.Text(placeholder="your answer", layout=widgets.Layout(width="24em"))
        super().__init__(prompt, [self.box] if self.takes_value else [], hint=hint, solution=solution)

    def answer(self, value=None) -> tuple[bool, str]:
        """Run the check (on ``value`` if the check takes one) and show its feedback."""
        try:
            verdict = self.check(value) if self.takes_value else self.check()
            ok, message = verdict
        except Exception as exc:  # a learner's mistake should read as feedback, not a traceback
            return self._show(False, f"The check could not run: {type(exc).__name__}: {exc}")
        return self._show(bool(ok), str(message))

    def _on_check(self) -> None:
        self.answer(_literal(self.box.value) if self.takes_value else None)


class LiveExercise(Exercise):
    """An :class:`Exercise` whose solution is written when the learner asks for it, from the notebook's
    current state (``solution`` is a function: the panel's settings, seed and precision as they are then)."""

    def __init__(self, prompt: str, check, solution: Callable[[], str], hint: str):
        self._solution_of = solution
        super().__init__(prompt, check, solution="(written from your current run when you ask for it)", hint=hint)

    def show_solution(self) -> str:
        self.solution = self._solution_of()
        return super().show_solution()


#: What stands in for held-back content until the learner has recorded a prediction.
HELD_BACK = "Shown once you have recorded your prediction above."


class Prediction(_Question):
    """Record a prediction before a run; :meth:`reveal` compares it with what the run showed.

    Once recorded the choice is locked, so the learner cannot quietly change it after the run.
    Until then the prediction holds back whatever would give the answer away (:meth:`guard`,
    :meth:`after`), and its verdict. *Skip* shows everything without recording a guess.
    """

    def __init__(self, prompt: str, options: Sequence):
        self.options = tuple(options)
        if len(self.options) < 2:
            raise ValueError("a prediction needs at least two options")
        self.choice = widgets.RadioButtons(options=[(str(o), o) for o in self.options], index=None,
                                           layout=widgets.Layout(width="auto"))
        self.predicted = None
        self.skipped = False
        self.revealed = None
        self._held: list[Callable[[], None]] = []
        super().__init__(prompt, [self.choice], button_text="Record prediction")
        self.skip_button = widgets.Button(description="Skip: just show me", icon="forward",
                                          tooltip="show the run without recording a prediction")
        self.skip_button.on_click(lambda _: self.skip())
        self.buttons.children = (*self.buttons.children, self.skip_button)
        self.widget.add_class("eda-prediction")  # how the browser test finds predictions

    @property
    def done(self) -> bool:
        """True once the learner has recorded a prediction or skipped."""
        return self.predicted is not None or self.skipped

    def guard(self, panel):
        """Hide ``panel``'s charts (keeping its controls) until the prediction is recorded; return it."""
        shown = tuple(panel.widget.children)
        note = widgets.HTML(feedback_html(None, f"The charts of this run: {HELD_BACK.lower()}"))

        def show() -> None:
            panel.widget.children = shown

        if not self.done:
            panel.widget.children = (shown[0], note)
            self._held.append(show)
        return panel

    def after(self, content) -> widgets.Widget:
        """A box that shows ``content`` only once the prediction is recorded.

        ``content`` is Markdown text, anything a notebook can display (a table, a widget), or a
        function returning one of those, called at that moment (so it reads the current run).
        """
        holder = widgets.VBox([widgets.HTML(feedback_html(None, HELD_BACK))])

        def show() -> None:
            holder.children = (as_widget(content() if callable(content) else content),)

        if self.done:
            show()
        else:
            self._held.append(show)
        return holder

    def skip(self) -> Feedback:
        """Show everything held back without recording a prediction."""
        if self.done:
            return Feedback(False, "Already recorded.")
        self.skipped = True
        self._lock()
        if self.revealed is not None:
            return self._show(False, f"Skipped. The run shows: {self.revealed}.", neutral=True)
        return self._show(False, "Skipped: the run is shown without a prediction.", neutral=True)

    def answer(self, value) -> tuple[bool, str]:
        """Record ``value`` as the prediction (same as clicking the button)."""
        if value not in self.options:
            return self._show(False, f"{value!r} is not one of the options.")
        self.choice.value = value
        return self._record(value)

    predict = answer

    def reveal(self, actual) -> tuple[bool, str]:
        """Say whether the prediction matched ``actual`` (one of the options)."""
        if actual not in self.options:
            raise ValueError(f"actual {actual!r} is not one of the options {self.options!r}")
        self.revealed = actual
        if self.skipped:
            return self._show(False, f"Skipped. The run shows: {actual}.", neutral=True)
        if self.predicted is None:
            # Run All, or a Voila page: the run came first. The verdict waits for the prediction.
            return Feedback(False, "No prediction recorded yet.")
        if self.predicted == actual:
            return self._show(True, f"You predicted {self.predicted}, and the run agrees.")
        return self._show(False, f"You predicted {self.predicted}; the run shows {actual}. "
                                 "Worth asking why before reading on.", neutral=True)

    def _lock(self) -> None:
        self.choice.disabled = True
        self.check_button.disabled = True
        self.skip_button.disabled = True
        held, self._held = self._held, []
        for show in held:
            show()

    def _record(self, value) -> tuple[bool, str]:
        self.predicted = value
        self._lock()
        if self.revealed is not None:  # the run already happened (Run All, Voila): compare at once
            return self.reveal(self.revealed)
        return self._show(True, f"Prediction recorded: {value}. Now run the experiment.", neutral=True)

    def _on_check(self) -> None:
        if self.choice.index is None:
            self._show(False, "Choose an option first.", neutral=True)
        else:
            self._record(self.choice.value)


def _takes_argument(fn: Callable) -> bool:
    """True if ``fn`` can be called with one positional argument and needs it."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return bool(required) or any(p.kind is p.VAR_POSITIONAL for p in params)


def _literal(text: str):
    """Typed text as a Python literal when it is one (``"12"`` -> 12), else the text itself."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError):
        return text.strip()


def _num(x: float) -> str:
    return f"{x:g}"
