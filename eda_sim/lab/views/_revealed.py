"""Small helpers the views of notebooks 03-05 share for what a prediction holds back: text with
numbers from the current run, and tables beside it, shown as one widget once the learner has
recorded a prediction (``Prediction.after``); and, for notebooks 00-02, Markdown as a widget and
several items stacked as one."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import HTML

from ..exercises import as_widget, markdown_html


def markdown_widget(markdown: str) -> HTML:
    """Markdown shown as HTML (the same in JupyterLab, Voila and the notebook tests)."""
    return HTML(markdown_html(markdown))


def stacked(*items) -> widgets.VBox:
    """Markdown strings, widgets and tables one under the other, as one widget."""
    return widgets.VBox([as_widget(item) for item in items])


def text_and_tables(text: str, *tables) -> widgets.Widget:
    """Markdown ``text`` (``$maths$`` kept) followed by ``tables`` (Stylers, charts, widgets, or more
    Markdown text), in that order."""
    items = (text, *tables) if text else tables
    return widgets.VBox([as_widget(item) for item in items], layout=widgets.Layout(width="100%"))


def closest(options: dict, value: float):
    """The option whose number (the dict's key) is nearest ``value``."""
    return options[min(options, key=lambda number: abs(number - value))]
