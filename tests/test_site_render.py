"""The lesson site's widget-to-HTML step and link rewriting, on a small hand-made notebook (no kernel)."""

from __future__ import annotations

import json
import pathlib
import sys

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))
import build_site  # noqa: E402
import site_render  # noqa: E402

VIEW = site_render.WIDGET_VIEW


def _model(name, **state):
    return {"model_name": name, "model_module": "x", "model_module_version": "1", "state": state}


def _notebook():
    figure = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": "A </script>"}}}
    state = {
        "chart": _model("ChartModel", figure_data=json.dumps(figure["data"]),
                        figure_layout=json.dumps(figure["layout"])),
        "slider": _model("FloatSliderModel", description="rate (msg/s)", value=2.0, readout_format=".1f"),
        "button": _model("ButtonModel", description="Share"),
        "controls": _model("VBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_button"]),
        "panel": _model("VBoxModel", children=["IPY_MODEL_controls", "IPY_MODEL_chart"], _dom_classes=["eda-panel"]),
        "prompt": _model("HTMLMathModel", value="<p>How long?</p>"),
        "radio": _model("RadioButtonsModel", _options_labels=["1 s", "2 s"], index=None),
        "feedback": _model("HTMLMathModel", value="Skipped. The run shows: 2 s."),
        "question": _model("VBoxModel", children=["IPY_MODEL_prompt", "IPY_MODEL_radio", "IPY_MODEL_feedback"],
                           _dom_classes=["eda-prediction"]),
        "ask": _model("VBoxModel", children=["IPY_MODEL_prompt"]),
    }
    questions = {"question": {"kind": "Prediction", "options": ["1 s", "2 s"], "revealed": "2 s", "hint": "",
                              "solution": ""},
                 "ask": {"kind": "Numeric", "options": [], "revealed": None, "hint": "Halve it.",
                         "solution": "**2 s**"}}
    nb = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("patch", execution_count=1)
    setup.metadata["tags"] = [site_render.SETUP_TAG]
    cells = [setup, nbformat.v4.new_markdown_cell("[next](05_flexibility.ipynb) · [guide](../docs/sweeps.md)")]
    for i, mid in enumerate(["panel", "question", "ask"]):
        cell = nbformat.v4.new_code_cell(mid, execution_count=i + 2)
        cell.outputs = [nbformat.v4.new_output("display_data", {VIEW: {"model_id": mid}, "text/plain": "x"})]
        cells.append(cell)
    report = nbformat.v4.new_code_cell("report", execution_count=5)
    report.metadata["tags"] = [site_render.SETUP_TAG]
    report.outputs = [nbformat.v4.new_output("display_data", {site_render.SITE_MIME: questions})]
    nb.cells = [*cells, report]
    nb.metadata["widgets"] = {site_render.WIDGET_STATE: {"state": state}}
    return nb


def test_widgets_become_static_html_with_charts_notes_and_folded_answers():
    links = build_site.Links("eda-lab/eda-vs-rr-lab", "main", [pathlib.Path("notebooks/05_flexibility.ipynb")])
    nb, counts = site_render.static_notebook(_notebook(), "LIVE", link=lambda t: links.rewrite(
        "notebooks/04_reactivity.ipynb", t, ".html"))
    assert counts == {"charts": 1, "panels": 1, "missing": []}
    assert "widgets" not in nb.metadata and len(nb.cells) == 4  # setup and report cells gone
    assert nb.cells[0].source == ("[next](05_flexibility.html) · [guide](sweeps.html)")
    panel, question, ask = ("".join(c.outputs[0]["data"]["text/html"]) for c in nb.cells[1:])
    assert [c.execution_count for c in nb.cells[1:]] == [1, 2, 3]
    assert "run it live" in panel and "LIVE" in panel and "rate (msg/s): 2.0" in panel and "Share" not in panel
    figure = panel.split('class="eda-figure">')[1].split("</script>")[0]
    assert json.loads(figure)["data"][0]["y"] == [3, 4] and "</script>" not in figure.replace("\\u003c", "")
    assert "<li>1 s</li>" in question and "<summary>What the run showed</summary><p>2 s</p>" in question
    assert "Skipped" not in question  # the live lab's feedback text is not shown
    assert "<summary>Hint</summary>" in ask and "<strong>2 s</strong>" in ask


def test_repository_links_become_site_links():
    links = build_site.Links("o/r", "main", [pathlib.Path("notebooks/00_start_here.ipynb")])
    nb = "notebooks/00_start_here.ipynb"
    assert links.rewrite(nb, "../README.md#open-it", ".html") == "index.html#open-it"
    assert links.rewrite("docs/facilitator_guide.md", "../notebooks/00_start_here.ipynb", ".md") == \
        "00_start_here.ipynb"
    assert links.rewrite("README.md", "binder/README.md", ".md") == "https://github.com/o/r/blob/main/binder/README.md"
    assert links.rewrite(nb, "https://example.org", ".html") is None
    assert links.lab("04_reactivity.ipynb") == \
        "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/04_reactivity.ipynb"
    assert links.voila("04_reactivity.ipynb") == \
        "https://mybinder.org/v2/gh/o/r/main?urlpath=voila/render/notebooks/04_reactivity.ipynb"


def test_site_setup_cell_shows_what_predictions_hold_back():
    """The setup cell the site build puts in front of each notebook: a prediction is skipped at once,
    so the content it would hold back is shown, and its verdict is known for the page."""
    import site_execute

    from eda_sim.lab import exercises

    saved = exercises._Question.__init__, exercises.Prediction.__init__
    scope: dict = {}
    try:
        exec(site_execute.SETUP, scope)
        prediction = exercises.Prediction("How long?", ["1 s", "2 s"])
        held = prediction.after("the table")
        prediction.reveal("2 s")
    finally:
        exercises._Question.__init__, exercises.Prediction.__init__ = saved
    assert prediction.done and prediction in scope["_site_questions"]
    assert exercises.HELD_BACK not in str(held.children[0].value) and "the table" in held.children[0].value
    assert prediction.revealed == "2 s"
