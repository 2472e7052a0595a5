"""Notebook 09's lesson around the panels: the prediction, what the review says and why, where the verdict
breaks, and the exercise. Every number in the texts comes from the reviews when the text is shown."""

from __future__ import annotations

import ipywidgets as widgets

from ....experiments.your_system import METRIC, Review, example_text, rule_of_thumb
from ....experiments.your_system.verdict import WORDS, said
from ...exercises import LiveExercise, Prediction, markdown_html
from .panels import EditorPanel, _output, example_review, ranked_table, reviewed, verdict_html

RULE = "the rule of thumb: R/R for place and reserve, events for bill, audit and email"
OPTIONS = ("all request/response", "all event-driven", RULE, "events for bill and email only (audit stays a call)",
           "another hybrid")
PREDICTIONS = {"order flow": ("The order flow example has five interactions (the client places an order; the order "
                              "service reserves stock, bills, audits and e-mails). Which of its 32 designs wins the "
                              "review?", OPTIONS)}


def prediction(key: str = "order flow") -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def option_of(r: Review) -> str:
    """The prediction's option that names the winner of the order flow's review ``r``."""
    n = len(r.spec.interactions)
    return {"r" * n: OPTIONS[0], "e" * n: OPTIONS[1], rule_of_thumb(r.spec).code(): RULE,
            "rrere": OPTIONS[3]}.get(r.winner, OPTIONS[4])


def reveal(prediction: Prediction) -> None:
    """Give the prediction its verdict: the winner of the order flow example's review."""
    prediction.reveal(option_of(example_review("order_flow")))


def _held(build) -> widgets.Widget:
    return widgets.HTMLMath(markdown_html(build()))


# -- explain ----------------------------------------------------------------------------------------------
def explain_text(r: Review | None = None) -> str:
    """Why the order flow's winner wins (Markdown), from its review."""
    r = r or example_review("order_flow")
    m, win = r.means, r.winner
    rr, eda = "r" * len(r.spec.interactions), "e" * len(r.spec.interactions)
    pts = r.points()
    flips = r.flips()
    inter = flips[(flips.kind == "interaction") & (flips.new_winner == "")].sort_values("points")
    decisive = inter.iloc[0]
    failures = "; ".join(
        f"during *{f.name}* all R/R lost {m.loc[rr, f'lost_in_failure_{k}']:.0f} requests, the winner "
        f"{m.loc[win, f'lost_in_failure_{k}']:.0f}" for k, f in enumerate(r.spec.failures))
    rule = "is exactly the rule of thumb" if win == rule_of_thumb(r.spec).code() else "is not the rule of thumb"
    d, low, high = r.margin
    return "\n\n".join([
        f"**The winner, {r.label(win)}, {rule}**: request/response where the answer needs the step (place, "
        f"reserve), events everywhere else. It scores {pts.loc[win, 'total']:.1f} points; all R/R scores "
        f"{pts.loc[rr, 'total']:.1f} and all EDA {pts.loc[eda, 'total']:.1f}"
        + (" (all EDA is not ranked: it makes reserve event-driven, so 'accepted' would go out before the stock "
           "is held)." if not r.eligible(eda) else "."),
        f"**Where the points come from.** A synchronous step puts its time, its tail and its failures into the "
        f"client's wait: {failures}. Over the whole run, all R/R has {said('lost', m.loc[rr, 'lost_share'])}, the "
        f"winner {said('lost', m.loc[win, 'lost_share'])}; the winner's client wait is "
        f"{said('wait', m.loc[win, 'wait_p95'])} against {said('wait', m.loc[rr, 'wait_p95'])}.",
        f"**The decisive interaction**: {decisive['change']} would cost {-decisive['points']:.1f} points. The price "
        f"of events is paid elsewhere: {said('done', m.loc[win, 'done_p95'])} (all R/R: "
        f"{said('done', m.loc[rr, 'done_p95'])}), {said('parts', m.loc[win, 'moving_parts'])} against "
        f"{said('parts', m.loc[rr, 'moving_parts'])}, and {m.loc[win, 'out_of_order']:.0f} same-key audit records "
        f"out of order on average.",
        f"**How sure?** The lead over the runner-up, {r.label(r.runner_up)}, is {d:.1f} points (95 % interval "
        f"{low:.1f} to {high:.1f} over seeds {', '.join(map(str, r.seeds))}). The verdict in the review's own "
        f"words:"])


def explanation(prediction: Prediction) -> widgets.Widget:
    """The explanation, the verdict and the table of the order flow's review, held back until the prediction."""
    def build():
        r = example_review("order_flow")
        return widgets.VBox([_held(lambda: explain_text(r)), widgets.HTML(verdict_html(r)),
                             _output(ranked_table(r, rows=8))])

    return prediction.after(build)


# -- where it breaks -----------------------------------------------------------------------------------------
def breaks_text(r: Review | None = None) -> str:
    """Where the order flow's verdict breaks (Markdown), from its review."""
    r = r or example_review("order_flow")
    flips = r.flips()
    weights = flips[flips.kind == "weight"]
    lines = [f"{'T' if not k else 't'}he {row['change']} makes {row['new_winner']} the winner"
             for k, (_, row) in enumerate(weights.head(3).iterrows())]
    ranked = r.per_seed.loc[r.ranking()]
    wins = int((ranked.idxmax(axis=0) == r.winner).sum())
    barred = r.ineligible()
    best_barred = barred[0] if barred else None
    mean, low, high = r.interval(r.winner)
    parts = [
        "1. **The weights decide.** " + (("; ".join(lines) + ". ") if lines else
                                         "No single weight from 0 to 8 times its value changes the winner. ")
        + "Move the sliders below: each move re-scores the designs already run.",
        f"2. **The seeds decide a little.** The winner's score is {mean:.1f} (95 % interval {low:.1f} to {high:.1f});"
        f" it is the best design on {wins} of {len(r.seeds)} seeds. A review on three seeds is a first answer; "
        "add seeds (`[review] seeds = [...]`) before a decision.",
    ]
    if best_barred:
        pts = r.points().loc[best_barred, "total"]
        parts.append(
            f"3. **Eligibility is not a score.** {len(barred)} designs make a step the answer needs event-driven; "
            f"they are run and shown but not ranked. The best of them, {r.label(best_barred)}, would score "
            f"{pts:.1f}: answering 'accepted' before the stock is held is faster, and wrong.")
    parts.append(
        f"{len(parts) + 1}. **Only the failures you rehearse count.** This description rehearses "
        + ", ".join(f"*{f.name}*" for f in r.spec.failures)
        + ". A broker outage, a slow database or a bigger burst are not in it, and events do not protect against "
          "what is not rehearsed: add them as `[[failure]]` blocks.")
    return "\n".join(parts)


def breaks(prediction: Prediction) -> widgets.Widget:
    return prediction.after(lambda: _held(breaks_text))


# -- the exercise --------------------------------------------------------------------------------------------
def pay_needed_text() -> str:
    """The food delivery example with ``needs_answer = true`` on pay (the exercise's solution)."""
    text = example_text("food_delivery")
    marker = 'to = "payment"\n'
    assert marker in text
    return text.replace(marker, marker + "needs_answer = true        # 'confirmed' now means 'charged'\n", 1)


def _norm(text) -> str:
    return " ".join(str(text).lower().replace("eda:", "").replace(",", " ").split())


def matches(value, r: Review, code: str) -> bool:
    """True when the learner's ``value`` names design ``code``: its label (with or without "EDA:") or code."""
    return _norm(value) in {_norm(r.label(code)), code.lower()}


def check_pay(panel: EditorPanel, value) -> tuple[bool, str]:
    """The exercise's check on the panel's own state and the learner's answer (the winning design)."""
    spec = panel.spec
    if spec is None:
        return False, f"The description in the panel does not read ({panel.error}). Fix it first."
    pay = next((i for i in spec.interactions if i.name == "pay"), None)
    if pay is None:
        return False, "Load the food delivery example in the panel (its 'pay' interaction is the one to change)."
    if not pay.needs_answer:
        return False, "In the panel's text, add needs_answer = true to the [[interaction]] named \"pay\"."
    r = panel.review
    if r is None or r.spec != spec:
        return False, "Press Run the review: the charts still show the description before your edit."
    before = example_review("food_delivery")
    if not matches(value, r, r.winner):
        return False, ("That is not the winner of your review: read the first bar of the ranking chart (type its "
                       "name, e.g. 'EDA: notify', or its code, e.g. 'rrer').")
    m = r.means
    lost = "; ".join(f"{m.loc[r.winner, f'lost_in_failure_{k}']:.0f} lost during '{f.name}'"
                     for k, f in enumerate(spec.failures))
    return True, (f"Correct: {r.label(r.winner)} wins with {r.points().loc[r.winner, 'total']:.1f} points, against "
                  f"{before.points().loc[before.winner, 'total']:.1f} for {before.label(before.winner)} before the "
                  f"change. Payment is in the customer's request again: {lost}. Eligibility removed "
                  f"{len(r.ineligible())} designs from the ranking; the weights did not change.")


def _solution() -> str:
    r = reviewed(pay_needed_text())
    win = r.winner
    return (f"Under `[[interaction]]` `name = \"pay\"` add `needs_answer = true`, then press *Run the review*. Every "
            f"design with event-driven payment is now *not ranked* ({len(r.ineligible())} of {len(r.means)}), and "
            f"the winner is **{r.label(win)}** (code `{win}`), {r.points().loc[win, 'total']:.1f} points. It loses "
            f"the orders placed while the provider is down "
            f"({said('lost', r.means.loc[win, METRIC['lost'][0]])}): when the business needs the charge before "
            f"it answers, no architecture hides the provider's outage from the customer.")


def exercise(key: str, panel: EditorPanel) -> LiveExercise:
    """The notebook's exercise ``key``: "pay needed" (checked on the editor panel's current text and review)."""
    if key != "pay needed":
        raise ValueError(f"exercise must be 'pay needed', got {key!r}")
    return LiveExercise(
        "The business decides that *order confirmed* must mean *charged*. In the panel, load **food delivery**, "
        "mark the `pay` interaction `needs_answer = true`, press *Run the review*, then type the winning design "
        "(its name as the ranking chart shows it, or its code) and press Check.",
        check=lambda value: check_pay(panel, value),
        solution=_solution,
        hint="A step the answer needs cannot be event-driven: every design with event-driven payment drops out of "
             "the ranking. Among the rest, which steps still gain from events?")


def criteria_table():
    """What each criterion scores, with its unit (for the notebook's 'read the charts' section)."""
    import pandas as pd

    from ... import tables

    frame = pd.DataFrame({"criterion": [WORDS[c] for c in METRIC], "measured as": [METRIC[c][3] for c in METRIC],
                          "better when": ["higher" if METRIC[c][1] else "lower" for c in METRIC]})
    return tables.tidy(frame.set_index("criterion"), caption="The criteria a review scores (weights in the "
                                                              "description's [weights] table)")
