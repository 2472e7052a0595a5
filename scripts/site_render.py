"""Turn an executed notebook's widgets into static HTML for the lesson site.

A static page has no kernel, so nothing a widget does in Python can run there. What it can show:

* every chart (``eda_sim.lab.plots.Chart``: its ``figure_data`` and ``figure_layout`` state) as a plotly
  chart drawn in the page from a local plotly.js, with hover and zoom;
* a control panel (``eda-panel``) as the settings its charts were run with, a note that the sliders
  need the live lab (with the links), and its charts;
* a prediction (``eda-prediction``) as its question and options, a note that the run is shown below
  (live, the lab asks for the guess first), and the verdict folded away;
* a question as its prompt, a note that it is checked in the live lab, and its hint and solution
  folded away (``<details>``), as lesson sites usually do.

Widget-view outputs are replaced by ``text/html`` outputs and the widget state is dropped, so the site
tool renders plain HTML and loads no widget manager from anywhere.
"""

from __future__ import annotations

import html
import json
import re

import nbformat

from eda_sim.lab.exercises import markdown_html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SITE_MIME = "application/x-eda-site+json"
SETUP_TAG = "site-setup"

CONTROLS = {"IntSliderModel", "FloatSliderModel", "FloatLogSliderModel", "SelectionSliderModel",
            "IntRangeSliderModel", "FloatRangeSliderModel", "ToggleButtonsModel", "DropdownModel",
            "IntTextModel", "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel",
            "CheckboxModel", "ToggleButtonModel", "RadioButtonsModel", "SelectModel"}
SKIPPED = {"ButtonModel", "PlayModel", "TextModel", "TextareaModel"}


def _ref(value: str) -> str:
    return value.removeprefix("IPY_MODEL_")


class Renderer:
    """Renders the widgets of one executed notebook; ``live`` is the page's run-it-live HTML."""

    def __init__(self, nb, live: str):
        self.state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        self.questions: dict = {}
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                self.questions.update(out.get("data", {}).get(SITE_MIME, {}))
        self.live = live
        self.charts = 0
        self.panels = 0
        self.missing: list[str] = []
        self.shown: set[str] = set()

    # ---- one widget --------------------------------------------------------------------------

    def model(self, mid: str) -> dict:
        return self.state.get(mid, {})

    def hidden(self, mid: str) -> bool:
        layout = self.model(_ref(self.model(mid).get("state", {}).get("layout", "")))
        s = layout.get("state", {})
        return s.get("display") == "none" or s.get("visibility") == "hidden"

    def render(self, mid: str, in_panel: bool = False) -> str:
        m = self.model(mid)
        if not m:
            self.missing.append(mid)
            return ""
        if self.hidden(mid):
            return ""
        name, s = m["model_name"], m["state"]
        classes = s.get("_dom_classes", [])
        if name == "ChartModel":
            return self.chart(s)
        if mid in self.questions:
            return self.question(mid, self.questions[mid])
        if "eda-panel" in classes:
            return self.panel(s)
        if name in {"VBoxModel", "HBoxModel", "GridBoxModel", "BoxModel"}:
            inner = "".join(self.render(_ref(c), in_panel) for c in s.get("children", []))
            if not inner.strip():
                return ""
            style = {"VBoxModel": "", "BoxModel": "", "HBoxModel": "eda-row"}.get(name, "eda-grid")
            css = ""
            if name == "GridBoxModel":
                layout = self.model(_ref(s.get("layout", ""))).get("state", {})
                cols = layout.get("grid_template_columns")
                css = f' style="grid-template-columns: {html.escape(cols)}"' if cols else ""
            return f'<div class="eda-box {style}"{css}>{inner}</div>'
        if name in {"HTMLModel", "HTMLMathModel"}:
            return f'<div class="eda-html">{s.get("value", "")}</div>' if s.get("value") else ""
        if name == "LabelModel":
            return f'<span class="eda-label">{html.escape(s.get("value", ""))}</span>' if s.get("value") else ""
        if name in {"FloatProgressModel", "IntProgressModel"}:
            return (f'<progress max="{s.get("max", 100)}" value="{s.get("value", 0)}"></progress>')
        if name == "OutputModel":
            return "".join(self.output(o) for o in s.get("outputs", []))
        if name in CONTROLS:
            if in_panel:
                return ""
            text = self.setting(s, name)
            return f'<div class="eda-setting">{html.escape(text)}</div>' if text else ""
        return ""  # buttons, play, text boxes: nothing they do works without a kernel

    def output(self, out: dict) -> str:
        data = out.get("data", {})
        if WIDGET_VIEW in data:
            return self.render(data[WIDGET_VIEW]["model_id"])
        if "text/html" in data:
            return "".join(data["text/html"])
        if "text/plain" in data or out.get("output_type") == "stream":
            text = "".join(data.get("text/plain", "") or out.get("text", ""))
            return f"<pre>{html.escape(text)}</pre>"
        return ""

    # ---- the lab's own widgets ---------------------------------------------------------------

    def chart(self, s: dict) -> str:
        self.charts += 1
        figure = {"data": json.loads(s.get("figure_data") or "[]"),
                  "layout": json.loads(s.get("figure_layout") or "{}")}
        text = json.dumps(figure, separators=(",", ":")).replace("<", "\\u003c")
        title = ((figure["layout"].get("title") or {}).get("text")) or "chart"
        return (f'<div class="eda-chart" role="figure" aria-label="{html.escape(title, quote=True)}">'
                f'<script type="application/json" class="eda-figure">{text}</script></div>')

    def setting(self, s: dict, name: str) -> str:
        label = s.get("description", "")
        value = s.get("value")
        if "_options_labels" in s:
            index = s.get("index")
            if isinstance(index, int) and 0 <= index < len(s["_options_labels"]):
                value = s["_options_labels"][index]
            else:
                return ""
        elif isinstance(value, float) and s.get("readout_format"):
            fmt = s["readout_format"]
            try:
                value = format(value, fmt)
            except ValueError:
                value = f"{value:g}"
        elif isinstance(value, float):
            value = f"{value:g}"
        if value is None or value == "":
            return ""
        return f"{label}: {value}" if label else str(value)

    def controls(self, mid: str) -> list[str]:
        """The settings of every control under ``mid``, in page order."""
        m = self.model(mid)
        if not m:
            return []
        s, name = m["state"], m["model_name"]
        if name in CONTROLS:
            text = self.setting(s, name)
            return [text] if text else []
        found = []
        for child in s.get("children", []):
            found += self.controls(_ref(child))
        return found

    def panel(self, s: dict) -> str:
        self.panels += 1
        children = [_ref(c) for c in s.get("children", [])]
        settings = self.controls(children[0]) if children else []
        body = "".join(self.render(c, in_panel=True) for c in children[1:])
        shown = " · ".join(html.escape(x) for x in settings)
        what = "Animation and sliders" if self.contains(children, "PlayModel") else "Interactive sliders"
        return (f'<div class="eda-panel eda-static-panel">'
                f'<div class="eda-static-note"><strong>{what}: run it live</strong> '
                f'({self.live}). This page shows the run at these settings: {shown}.</div>'
                f"{body}</div>")

    def contains(self, mids: list[str], model_name: str) -> bool:
        """Whether a widget of ``model_name`` is among ``mids`` or their descendants."""
        for mid in mids:
            m = self.model(mid)
            if m.get("model_name") == model_name or self.contains(
                    [_ref(c) for c in m.get("state", {}).get("children", [])], model_name):
                return True
        return False

    def question(self, mid: str, info: dict) -> str:
        s = self.model(mid)["state"]
        children = [_ref(c) for c in s.get("children", [])]
        prompt = self.render(children[0]) if children else ""
        options = "".join(f"<li>{html.escape(o)}</li>" for o in info.get("options", []))
        options = f'<ul class="eda-options">{options}</ul>' if options else ""
        if info.get("kind") == "Prediction":
            verdict = info.get("revealed")
            if mid in self.shown and verdict:  # shown again after the run: say what it showed
                return (f'<div class="eda-prediction eda-static-question"><div class="eda-kicker">Your prediction'
                        f"</div>{prompt}<p><strong>The run showed:</strong> {html.escape(verdict)}</p></div>")
            self.shown.add(mid)
            folded = (f'<details class="eda-fold"><summary>What the run showed</summary>'
                      f"<p>{html.escape(verdict)}</p></details>") if verdict else ""
            return (f'<div class="eda-prediction eda-static-question">'
                    f'<div class="eda-kicker">Predict</div>{prompt}{options}'
                    f'<div class="eda-static-note">Pick your answer before reading on: this page already '
                    f"shows the run below it. Live ({self.live}), the lab records your prediction first, "
                    f"holds the charts back until you have, then tells you whether the run agreed.</div>"
                    f"{folded}</div>")
        folds = ""
        if info.get("hint"):
            folds += (f'<details class="eda-fold"><summary>Hint</summary>'
                      f"{markdown_html(info['hint'])}</details>")
        if info.get("solution"):
            folds += (f'<details class="eda-fold"><summary>Solution</summary>'
                      f"{markdown_html(info['solution'])}</details>")
        return (f'<div class="eda-question eda-static-question"><div class="eda-kicker">Exercise</div>'
                f'{prompt}{options}<div class="eda-static-note">Checked in the live lab ({self.live}), '
                f"where you enter your answer and it tells you whether you are right.</div>{folds}</div>")


def static_notebook(nb, live: str, link=None) -> tuple[object, dict]:
    """``nb`` (executed for the site) with widgets as static HTML; returns (notebook, counts).

    ``link(target) -> str | None`` rewrites the targets of Markdown links (None keeps them).
    """
    renderer = Renderer(nb, live)
    cells = []
    for cell in nb.cells:
        if SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "markdown" and link is not None:
            cell.source = re.sub(r"\]\(([^)\s]+)\)", lambda m: f"]({link(m.group(1)) or m.group(1)})",
                                 cell.source)
        if cell.cell_type == "code":
            if cell.get("execution_count"):
                cell.execution_count -= 1  # the removed setup cell was [1]
            outputs = []
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if WIDGET_VIEW in data:
                    rendered = renderer.render(data[WIDGET_VIEW]["model_id"])
                    if rendered:
                        outputs.append(nbformat.v4.new_output("display_data", {"text/html": rendered}))
                    continue
                outputs.append(out)
            cell.outputs = outputs
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb, {"charts": renderer.charts, "panels": renderer.panels, "missing": renderer.missing}
