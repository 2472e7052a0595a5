"""Notebook 08 as a team exercise: the instructor's cross-team leaderboard and the panel's preset row.

:class:`TeamBoard` is a text box where the instructor pastes one ``Team name: share code`` line per team,
a *Rank teams* button, a status line, a chart and a table, sized for a projector. It ranks with
:func:`eda_sim.experiments.capstone.cross_team_leaderboard` and says its winner rule on screen.
"""

from __future__ import annotations

import html
import time

import ipywidgets as widgets
from IPython.display import display

from ...experiments import capstone as cap
from .. import plots, tables
from ..exercises import markdown_html

PASS = plots.COLORS["extra"]
FAIL = "#BBBBBB"
SEED_DOT = plots.COLORS["neutral"]
FONT = 16  # px: the chart is read from the back of a room
ROW_PX = 46
TEXT_AT = 101.5  # points: where each team's mean and verdict are written, right of the 100-point maximum
#: What the text box holds until the instructor pastes the teams' lines: five made-up teams, so the chart
#: and the table show what they will look like.
EXAMPLE = "\n".join(
    ["# Example teams: replace these lines with yours, one 'Team name: share code' a line, then press Rank."]
    + [f"{team}: {cap.design_code(cap.Design(**settings))}" for team, settings in (
        ("Team Red", dict(pay="eda", idempotent=True)),
        ("Team Blue", dict(place="eda", pay="eda", idempotent=True)),
        ("Team Green", dict(notify="rr", analytics="rr", idempotent=True)),
        ("Team Amber", dict(pay="eda")),
        ("Team Violet", dict(workers=2, pay="eda", idempotent=True)))])
LEGEND = (f"Bar: a team's mean total over the seeds (green: passes on every seed; grey: does not). Ticks: its "
          f"total on each seed. Dotted line: the pass mark, {cap.PASS_TOTAL:g} points.")
#: The table's columns as the room reads them.
#: Each seed's total is a tick on the chart, so the table leaves them out: it must fit a projector at 1024 px.
SHOWN = {"place": "place", "team": "team", "total": "mean total", "ci95": "± 95 % CI",
         "lost %": "lost or failed (%)", "charged twice": "charged twice", "moving parts": "moving parts",
         "seeds passed": "seeds passed", "design": "design"}


def rule_text(seeds=cap.SEEDS) -> str:
    """How to collect the lines, and the winner rule in short, as the box shows it (Markdown)."""
    return ("Each team posts one line, `Team name: share code` (the code from the panel's *Share* button), in the "
            "room's chat or shared document. Paste all the lines here and press *Rank teams*: every design runs on "
            f"seeds {_seeds(seeds)}. A line that cannot be read is named in red with what is wrong. **Winner:** "
            "passes on every seed first, then the higher mean total, then fewer lost orders, then fewer moving "
            "parts.")


def _seeds(seeds) -> str:
    seeds = tuple(seeds)
    if len(seeds) > 2 and seeds == tuple(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def board_figure() -> plots.LabFigure:
    """The cross-team chart, empty: a bar per team (its mean total), a dot per seed, the pass mark."""
    fig = plots.figure("Teams ranked", "rubric total (points, out of 100)", "team", height=320, legend=False)
    plots.bar(fig, "mean total over the seeds", color=PASS)
    plots.line(fig, "each seed", mode="markers", color=SEED_DOT)
    plots.line(fig, "mean total and verdict", mode="text")  # a column right of 100, clear of bars and ticks
    fig.add_shape(type="line", x0=cap.PASS_TOTAL, x1=cap.PASS_TOTAL, xref="x", y0=0, y1=1, yref="paper",
                  line=dict(color=plots.COLORS["extra2"], dash="dot", width=2), name="pass mark")
    bars, dots, totals = fig.data
    bars.orientation = "h"
    totals.update(textposition="middle right", cliponaxis=False, textfont=dict(size=FONT), hoverinfo="skip")
    dots.marker.update(size=9, symbol="line-ns-open", line=dict(width=2, color=SEED_DOT))
    fig.layout.update(font=dict(size=FONT), bargap=0.3)
    fig.layout.title.font.size = FONT + 2
    fig.layout.yaxis.update(autorange="reversed", title=None, automargin=True)
    fig.layout.xaxis.update(range=[0, 125], tickvals=[0, 20, 40, 60, 80, 100])
    fig.layout.margin.update(l=16, r=16)
    return fig


def show_board(fig: plots.LabFigure, board) -> None:
    """Write a ranked board (from :func:`cross_team_leaderboard`) into ``fig``."""
    labels = [f"{p}. {t}" for p, t in zip(board["place"], board["team"], strict=True)]
    bars, dots, totals = fig.data
    with fig.batch_update():
        bars.x, bars.y = board["total"].to_numpy(), labels
        bars.marker.color = [PASS if ok else FAIL for ok in board["passes"]]
        totals.x, totals.y = [TEXT_AT] * len(board), labels
        totals.text = [f"{t:.1f} {'pass' if ok else 'fail'}" for t, ok in zip(board["total"], board["passes"],
                                                                               strict=True)]
        bars.hovertemplate = "%{y}: mean %{x:.1f} points<extra></extra>"
        dots.x = [t for totals in board["totals"] for t in totals]
        dots.y = [label for label, totals in zip(labels, board["totals"], strict=True) for _ in totals]
        fig.layout.title.text = f"Teams ranked, seeds {_seeds(board.attrs.get('seeds', cap.SEEDS))}"
        fig.layout.height = 150 + ROW_PX * len(board)


def board_table(board):
    """The ranked board as the room reads it (tidy, large type, the design column wrapped)."""
    frame = board.assign(**{"seeds passed": [f"{k} of {len(t)}" for k, t in zip(board["seeds passed"],
                                                                                 board["totals"], strict=True)]})
    frame = frame[list(SHOWN)].rename(columns=SHOWN).set_index("place")
    styler = tables.tidy(frame, decimals={"mean total": 1, "± 95 % CI": 1, "lost or failed (%)": 1},
                         caption="Ranked by the rule above: passes first, then mean total, lost orders, moving "
                                 "parts")
    return styler.set_table_styles([
        {"selector": "", "props": [("font-size", "1.15em")]},
        {"selector": "th.col_heading", "props": [("white-space", "normal"), ("max-width", "7em")]},
        {"selector": "td.col7", "props": [("text-align", "left"), ("max-width", "13em"), ("white-space", "normal")]},
    ])


class TeamBoard:
    """The instructor's box: paste the teams' lines, press *Rank teams*, read the chart and the table."""

    def __init__(self, text: str = EXAMPLE, seeds=cap.SEEDS):
        self.seeds = tuple(seeds)
        self.board = None
        self.error: str | None = None
        self.text = widgets.Textarea(value=text, placeholder="Team Red: eda1:capstone:pay=eda,seed=1",
                                     layout=widgets.Layout(width="100%", height="11em"),
                                     style={"font_size": "15px"})
        self.button = widgets.Button(description="Rank teams", icon="trophy", button_style="primary",
                                     style={"font_size": "15px"}, layout=widgets.Layout(width="12em"))
        self.button.on_click(lambda _: self.rank())
        self.status = widgets.HTML()
        self.figure = board_figure()
        self.table = widgets.Output()
        self.widget = widgets.VBox([
            widgets.HTMLMath(markdown_html(rule_text(self.seeds))), self.text,
            widgets.HBox([self.button, self.status], layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
            self.figure.widget, widgets.HTML(f"<span style='font-size:15px'>{html.escape(LEGEND)}</span>"),
            self.table])
        self.rank()

    def rank(self, text: str | None = None):
        """Rank the lines in the box (or ``text``, which then replaces them); return the board or None."""
        if text is not None:
            self.text.value = text
        start = time.perf_counter()
        try:
            board = cap.cross_team_leaderboard(self.text.value, self.seeds)
        except (ValueError, TypeError) as exc:
            self.error = str(exc)
            lines = "".join(f"<li>{html.escape(line)}</li>" for line in self.error.splitlines())
            self.status.value = (f"<div style='color:#b2182b; font-size:15px'>⚠ Not ranked: fix these lines and "
                                 f"press Rank again (the chart still shows the last ranking).<ul>{lines}</ul></div>")
            return None
        seconds = time.perf_counter() - start
        self.board, self.error = board, None
        show_board(self.figure, board)
        self.figure.sync()
        with self.table:
            self.table.clear_output(wait=True)
            display(board_table(board))
        first = cap.winners(board)
        self.status.value = (f"<span style='font-size:15px'>Ranked {len(board)} teams on seeds {_seeds(self.seeds)} "
                             f"in {seconds:.1f} s. First place: <b>{html.escape(' and '.join(first))}</b>.</span>")
        return board

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def team_leaderboard(prediction=None, text: str = EXAMPLE, seeds=cap.SEEDS):
    """The instructor's cross-team leaderboard; held back until ``prediction`` is recorded (the example ranks
    the presets' designs, which would answer it)."""
    if prediction is None:
        return TeamBoard(text, seeds).widget
    return prediction.after(lambda: TeamBoard(text, seeds).widget)


# -- the panel's preset row -----------------------------------------------------------------------------
def preset_row(panel) -> widgets.HBox:
    """Buttons that set the panel to a preset's values exactly (one run), so its points are the leaderboard's."""
    buttons = []
    for name in cap.PRESETS:
        b = widgets.Button(description=name, tooltip=f"set every control to the '{name}' preset",
                           layout=widgets.Layout(width="auto"))
        b.on_click(lambda _b, n=name: panel.set(**cap.preset_values(n)))
        buttons.append(b)
    label = widgets.Label("start from a preset:")
    return widgets.HBox([label, *buttons], layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
