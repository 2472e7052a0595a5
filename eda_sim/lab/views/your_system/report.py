"""The design review as one self-contained HTML file a team can attach to a design document.

:func:`write_report` writes the description (name, text, settings), the verdict, the ranked designs, the
rehearsed failures, what would flip the answer, and the four charts of :mod:`.charts` as interactive plotly
figures. plotly.js is inlined once, from the installed plotly package: the file makes no request to any host,
opens from disk, and prints (charts are narrowed to the page while printing). Everything that comes from the
description is escaped: it is the user's text.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from pathlib import Path

import pandas as pd

from ....experiments.your_system import CRITERIA, Review
from ....experiments.your_system.load import as_text
from ....experiments.your_system.verdict import WORDS
from ... import tables
from . import charts
from .panels import ranked_frame

CHART_TITLES = {"ranking": "Designs ranked", "failures": "Rehearsed failures", "timeline": "Through the run",
                "wait": "Client wait against time until done"}

CSS = """
:root { --fg: #222; --muted: #666; --line: #ddd; --win: #009E73; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; color: var(--fg);
       margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7em; margin: 0 0 4px; } h2 { font-size: 1.25em; margin: 28px 0 8px; border-bottom: 1px solid
var(--line); padding-bottom: 4px; } h3 { font-size: 1.05em; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.verdict { border-left: 4px solid var(--win); padding: 4px 14px; background: #f3faf7; }
.verdict li { margin: 3px 0; }
.wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 10px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 7px; text-align: right; vertical-align: top; }
td { white-space: nowrap; }
th { background: #f6f6f6; font-weight: 600; }
td.text, th.text { text-align: left; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 2px 0 4px; }
.eda-chart { border: 1px solid var(--line); border-radius: 4px; margin: 10px 0 16px; padding: 4px; }
pre { background: #f7f7f7; border: 1px solid var(--line); padding: 10px; font-size: 12px; overflow-x: auto;
      white-space: pre-wrap; word-break: break-word; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 0 24px; }
@media print {
  main { max-width: none; padding: 0; } body { font-size: 11px; }
  .wrap { overflow: visible; } table { font-size: 8px; } td { white-space: normal; }
  th, td { padding: 2px 3px; }
  .eda-chart, table, .verdict { break-inside: avoid; } h2 { break-after: avoid; }
}
"""

PRINT_JS = """
(function () {
  const charts = () => Array.from(document.querySelectorAll('.eda-chart .js-plotly-plot'));
  window.addEventListener('beforeprint', () => charts().forEach((gd) => Plotly.relayout(gd, {width: 680})));
  window.addEventListener('afterprint', () => charts().forEach((gd) => Plotly.relayout(gd, {width: null,
    autosize: true})));
})();
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _frame_html(frame: pd.DataFrame, caption: str, decimals: int | dict = 2, text: tuple = ()) -> str:
    """A DataFrame as an escaped HTML table: numbers as the lab shows them, "–" where nothing applies."""
    per = decimals if isinstance(decimals, dict) else {}
    default = 2 if isinstance(decimals, dict) else decimals
    head = "".join(f"<th class='{'text' if c in text else ''}'>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            value = row[c]
            shown = tables.number(value, per.get(c, default)) if not isinstance(value, str) else value
            cells.append(f"<td class='{'text' if c in text else ''}'>{_e(shown)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='wrap'><table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _safe_json(obj) -> str:
    """JSON that cannot end its <script> element or open a comment: every '<' as \\u003c."""
    from plotly.io.json import to_json_plotly

    text = to_json_plotly(obj)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _chart_html(key: str, fig) -> str:
    spec = fig.to_plotly_json()
    layout = dict(spec["layout"])
    layout.pop("uirevision", None)
    layout["autosize"] = True
    config = {"responsive": True, "displaylogo": False, "showLink": False,
              "modeBarButtonsToRemove": ["sendDataToCloud"]}
    return (f"<div class='eda-chart' data-chart='{_e(key)}'><div id='chart-{_e(key)}'></div></div>\n"
            f"<script>Plotly.newPlot('chart-{_e(key)}', {_safe_json(spec['data'])}, {_safe_json(layout)}, "
            f"{json.dumps(config)});</script>")


def settings_html(r: Review) -> str:
    """The description's settings, as tables (the same for every design)."""
    spec, s = r.spec, r.spec.settings
    services = pd.DataFrame([{"service": x.name, "workers": x.workers, "time per request": as_text(x.work),
                              "DB reads": x.reads, "DB writes": x.writes} for x in spec.services])
    inter = pd.DataFrame([{"interaction": i.name, "from": i.caller, "to": i.callee,
                           "the answer needs it": "yes" if i.needs_answer else "no",
                           "fresh within (s)": i.fresh_within if i.fresh_within is not None else float("nan"),
                           "ordered per key": "yes" if i.ordered else "no", "exactly once": "yes" if i.once else "no"}
                          for i in spec.interactions])
    w = spec.workload
    bursts = ", ".join(f"{b[2]:g}/s from {b[0]:g} to {b[1]:g} s" for b in w.bursts) or "none"
    failures = pd.DataFrame([{"failure": f.name, "target": f.target, "kind": f.kind, "from (s)": f.start,
                              "to (s)": f.end, "detail": _failure_detail(f)} for f in spec.failures],
                            columns=["failure", "target", "kind", "from (s)", "to (s)", "detail"])
    calls = "no timeout" if s.timeout is None else f"timeout {s.timeout:g} s"
    facts = [
        ("workload", f"{w.rate:g} requests/s, bursts: {bursts}; {w.keys:,} keys; traffic until {w.traffic_end:g} s, "
                     f"run until {w.until:g} s"),
        ("client", f"gives up after {s.client_timeout:g} s"),
        ("calls between services", f"{calls}, {s.retries} retries, backoff from {s.backoff:g} s"),
        ("events", f"broker '{s.broker}', {s.partitions} partitions, commits every {s.commit_every} messages, "
                   f"publish {as_text(s.publish_latency)}, idempotent steps: {'yes' if s.idempotent else 'no'}"),
        ("database", f"{s.db_connections} connections, query {as_text(s.query_time)}"),
        ("weights", ", ".join(f"{WORDS[c]} {r.weights[c]:g}" for c in CRITERIA if r.weights[c])),
        ("seeds", ", ".join(map(str, r.seeds))),
        ("designs tried", f"{len(r.means)} of {2 ** len(spec.interactions)}"
                          + (" (local search)" if r.searched else " (all)")),
    ]
    facts_html = "".join(f"<tr><th class='text'>{_e(k)}</th><td class='text'>{_e(val)}</td></tr>" for k, val in facts)
    return ("<div class='wrap'><table><tbody>" + facts_html + "</tbody></table></div>"
            + _frame_html(services, "Services", text=("service", "time per request"))
            + _frame_html(inter, "Interactions (each one is built as R/R or EDA by a design)",
                          text=("interaction", "from", "to", "the answer needs it", "ordered per key", "exactly once"))
            + (_frame_html(failures, "Failures rehearsed", text=("failure", "target", "kind", "detail"))
               if len(failures) else "<p>No failure rehearsed.</p>"))


def _failure_detail(f) -> str:
    return {"down": f"calls {'fail' if f.when_down == 'error' else 'hang'}", "slow": f"{f.factor:g}× slower",
            "errors": f"{f.fraction:.0%} of requests fail", "crash": "one worker dies"}[f.kind]


def render(r: Review, *, text: str | None = None, generated: str | None = None) -> str:
    """The report's HTML text."""
    from plotly.offline import get_plotlyjs

    from .... import __version__

    spec = r.spec
    figs = charts.figures(r)
    ranked = ranked_frame(r, full=True)
    failures = r.failures().drop(columns="code").rename(columns={"lost": "requests lost", "recovery_s":
                                                                 "recovery (s)"})
    flips = r.flips().rename(columns={"new_winner": "new winner (or note)", "points": "points (winner's change)"})
    generated = generated or _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    verdict = "".join(f"<li>{_e(s)}</li>" for s in r.reasons)
    text_cols = tuple(["design", "95 % interval", *(i.name for i in spec.interactions)])
    body = [
        f"<h1>Design review: {_e(spec.name)}</h1>",
        f"<p class='meta'>From {_e(spec.source)}, reviewed with eda_sim {_e(__version__)} on {_e(generated)}: "
        f"{len(r.means)} designs, each on seeds {_e(', '.join(map(str, r.seeds)))}, on the same workload and "
        f"failures.</p>",
        f"<p>{_e(spec.description)}</p>" if spec.description else "",
        "<h2>Verdict</h2>", f"<div class='verdict'><ul>{verdict}</ul></div>",
        "<h2>Designs ranked</h2>", _chart_html("ranking", figs["ranking"]),
        _frame_html(ranked, "Every design tried, best first (rank '–': not ranked, a step the answer needs is "
                            "event-driven); means over seeds", decimals={c: 1 for c in ranked.columns},
                    text=text_cols),
        "<h2>Rehearsed failures</h2>", _chart_html("failures", figs["failures"]),
        _frame_html(failures, "Per ranked design and failure: requests lost among those that arrived during it, and "
                              "seconds until the backlog was back to normal ('–': not within the run)", decimals=1,
                    text=("design", "failure")),
        "<h2>Through the run</h2>", _chart_html("timeline", figs["timeline"]),
        "<h2>Client wait against time until done</h2>", _chart_html("wait", figs["wait"]),
        "<h2>What would change the answer</h2>",
        _frame_html(flips, "A weight multiplied (0 to 8 times), or one interaction of the winner switched (its cost "
                           "in points)", decimals=1, text=("change", "kind", "new winner (or note)")),
        "<h2>The description</h2>", settings_html(r),
        f"<h3>Its text</h3><pre>{_e(_text_of(r, text))}</pre>",
        "<p class='meta'>Simulated with SimPy by the EDA vs Request/Response lab (eda_sim). Numbers are means "
        "over the seeds; intervals are 95 % Student-t intervals over seeds.</p>",
    ]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Design review: {_e(spec.name)}</title><style>{CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head>\n<body><main>\n" + "\n".join(b for b in body if b)
            + f"\n</main><script>{PRINT_JS}</script></body></html>\n")


def _text_of(r: Review, text: str | None) -> str:
    """The description's text: ``text`` when given, a bundled example's by its source name, else a note."""
    if text:
        return text
    from ....experiments.your_system import EXAMPLES, example_text

    for name in EXAMPLES:
        if r.spec.source == f"{name}.toml":
            return example_text(name)
    return "(the text of this description was not given; the tables above list every setting)"


def write_report(review: Review, path, *, text: str | None = None) -> Path:
    """Write ``review`` as one self-contained HTML file at ``path`` and return the path. ``text``: the
    description's TOML, shown at the end (a bundled example's text is found by itself)."""
    if not isinstance(review, Review):
        raise TypeError(f"review must be a Review (from eda_sim.experiments.your_system.review), got "
                        f"{type(review).__name__}")
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ValueError(f"path must name a file, got the directory {str(path)!r}")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be the description's text (a str) or None, got {type(text).__name__}")
    path.write_text(render(review, text=text), encoding="utf-8")
    return path
