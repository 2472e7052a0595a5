"""Your system (notebook 09, ``python -m eda_sim review``): one engine for the capstone and any description,
the review's verdicts on the bundled examples, its scoring arithmetic, and its bounds."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from eda_sim.experiments import get
from eda_sim.experiments import your_system as ys
from eda_sim.experiments.capstone import PRESETS, run_design, spec_for
from eda_sim.experiments.coupling.outage import OutageParams
from eda_sim.experiments.your_system import engine
from eda_sim.sweep import t_quantile


@pytest.fixture(scope="module")
def reviews():
    """The review of every bundled example (serial: identical to the process pool, see below)."""
    return {name: ys.review(ys.example(name), executor="serial", progress=False) for name in ys.EXAMPLES}


def one(spec, code, seed=1):
    return ys.run_design(ys.DesignRunParams(spec=spec, design=code, seed=seed))


# -- one engine ---------------------------------------------------------------------------------------
def test_the_food_delivery_file_is_the_capstone():
    spec = ys.example("food_delivery")
    capstone = spec_for(PRESETS["hybrid"])  # every preset has these knobs
    for field in ("entry", "services", "interactions", "workload", "failures", "settings"):
        assert getattr(spec, field) == getattr(capstone, field), field


@pytest.mark.parametrize("preset, code", [("all R/R", "rrrr"), ("all EDA", "eeee"), ("hybrid", "reee")])
def test_a_description_run_gives_the_capstone_numbers(preset, code):
    cap = run_design(PRESETS[preset])
    run = one(ys.example("food_delivery"), code)
    s, m = run.summary, cap.metrics
    assert s["events"] == cap.result.summary["events"]
    assert s["wait_p95"] == m["customer_wait_p95"]
    assert s["db_queries_per_request"] == m["db_queries_per_order"]
    assert s["moving_parts"] == m["moving_parts"]
    assert s["duplicates_absorbed"] == m["repeated_payment_completions"]
    # The capstone's "lost" needs payment only; the review's needs every step: never fewer.
    assert s["lost"] >= m["lost"]


@pytest.mark.parametrize("arch, code", [("rr", "rrr"), ("eda", "eee")])
def test_the_outage_file_reproduces_notebook_03(arch, code):
    p = OutageParams()
    nb = get("coupling_outage")(p)
    ours = one(ys.example("outage"), code)
    theirs = nb.results[arch]
    assert ours.summary["events"] == theirs.summary["events"]
    n = theirs.system.messages.count
    assert ours.system.messages.count == n
    for field in ("created", "accepted"):
        a = np.frombuffer(getattr(theirs.system.messages, field), count=n)
        b = np.frombuffer(getattr(ours.system.messages, field), count=n)
        np.testing.assert_array_equal(a, b)
    assert ours.summary["told_failed"] / n == theirs.summary["failed_share"]
    assert ours.summary["recovery_0"] == theirs.summary["drain_time"]
    created, _, _ = engine.answers(ours.spec, ours.design, ours.system)
    done = np.fmax.reduce([engine.step_done(ours.system, h, n) for h in ("billing", "audit")])
    done = np.max([engine.step_done(ours.system, h, n) for h in ("billing", "audit")], axis=0)
    assert float(np.mean(done - created <= p.deadline)) == theirs.summary["on_time_share"]


# -- verdicts the lab already establishes -------------------------------------------------------------
def test_food_delivery_review_picks_the_capstone_hybrid(reviews):
    r = reviews["food_delivery"]
    assert r.styles(r.winner) == {"place": "rr", "pay": "eda", "notify": "eda", "analytics": "eda"}
    # The capstone's lesson: payment as R/R is what loses orders in the provider outage.
    assert all(r.styles(c)["pay"] == "eda" for c in r.ranking()[:8])
    failures = r.failures().set_index(["code", "failure"])
    assert failures.loc[("rrrr", "payment provider down"), "lost"] > 40
    assert failures.loc[(r.winner, "payment provider down"), "lost"] == 0


def test_outage_review_edA_keeps_the_orders_rr_loses(reviews):
    r = reviews["outage"]
    means = r.means
    assert means.loc["rrr", "lost_share"] > 0.4  # notebook 03: about half the clients are told "failed"
    assert means.loc["eee", "lost_share"] < 0.02
    assert r.styles(r.winner)["place"] == "eda" or r.styles(r.winner)["billing"] == "eda"


def test_order_flow_keeps_the_reservation_synchronous(reviews):
    r = reviews["order_flow"]
    assert len(r.means) == 32 and not r.searched
    assert all(r.styles(c)["reserve"] == "rr" for c in r.ranking())  # the answer needs it
    assert len(r.ineligible()) == 16
    assert r.styles(r.winner)["bill"] == "eda"  # billing slows: a synchronous bill stalls every order
    assert r.means.loc[r.ineligible()[0], "answered_before_needed"] > 0


def test_notifications_send_through_the_failing_providers_by_events(reviews):
    r = reviews["notifications"]
    styles = r.styles(r.winner)
    assert styles["preferences"] == "rr" and styles["sms"] == "eda" and styles["email"] == "eda"
    assert r.means.loc["r" * 5, "lost_share"] > 0.1


# -- scoring arithmetic ---------------------------------------------------------------------------------
def test_points_follow_the_stated_rule(reviews):
    r = reviews["food_delivery"]
    col, higher, floor, _ = ys.METRIC["lost"]
    per_seed = r.runs.set_index(["design", "seed"])[col]
    means = per_seed.groupby(level="design").mean()
    best, worst = means.min(), means.max()
    expected = (r.weights["lost"] * np.clip((worst - per_seed) / max(worst - best, floor), 0, 1)
                ).groupby(level="design").mean()
    for code in r.means.index:
        assert r.points().loc[code, "lost"] == pytest.approx(expected[code], abs=1e-9)
    totals = r.points()["total"]
    assert r.winner == max(r.ranking(), key=lambda c: totals[c])
    assert totals.max() <= sum(r.weights.values()) + 1e-9


def test_margin_is_a_paired_t_interval(reviews):
    r = reviews["food_delivery"]
    diff = (r.per_seed.loc[r.winner] - r.per_seed.loc[r.runner_up]).to_numpy()
    half = t_quantile(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
    assert r.margin == pytest.approx((diff.mean(), diff.mean() - half, diff.mean() + half))


def test_weights_that_flip_the_winner_do_flip_it(reviews):
    r = reviews["food_delivery"]
    flips = r.flips()
    weight_rows = flips[flips.kind == "weight"]
    assert len(weight_rows)
    for change in weight_rows["change"]:
        criterion = change.split(":")[0].removeprefix("weight of ")
        new = float(change.split("→")[1])
        assert r.ranking({**r.weights, criterion: new})[0] != r.winner
    # Switching one interaction is scored from the same means.
    inter = flips[flips.kind == "interaction"].set_index("change")
    totals = r.points()["total"]
    assert inter.loc["pay as R/R", "points"] == pytest.approx(totals["rree"] - totals[r.winner])


def test_every_request_is_done_or_lost():
    spec = ys.example("order_flow")
    for code in ("rrrrr", "reeee", "eeeee", "rreer"):
        s = one(spec, code).summary
        assert s["lost"] <= s["requests"]
        assert s["goodput"] * spec.workload.traffic_end == pytest.approx(s["requests"] - s["lost"])


def test_same_seed_same_review_whatever_the_executor(reviews):
    again = ys.review(ys.example("food_delivery"), progress=False)  # the process pool
    assert again.to_dict() == reviews["food_delivery"].to_dict()


def test_a_large_description_is_searched_not_enumerated():
    spec = ys.example("notifications")
    extra = tuple(ys.ServiceSpec(name=f"hook{k}", workers=2, work=0.01) for k in range(3))
    wide = dataclasses.replace(
        spec, services=spec.services + extra,
        interactions=spec.interactions + tuple(ys.InteractionSpec(name=f"hook{k}", caller="notify-api",
                                                                  callee=f"hook{k}") for k in range(3)),
        seeds=(1,))
    r = ys.review(wide, progress=False)
    assert r.searched and len(r.means) < 2 ** 8
    totals = r.points()["total"]
    win = r.winner
    for k in range(len(win)):  # no tried neighbour of the winner does better
        code = win[:k] + ("r" if win[k] == "e" else "e") + win[k + 1:]
        if code in totals.index and r.eligible(code):
            assert totals[code] <= totals[win]


def test_a_review_too_big_is_refused_before_running():
    spec = ys.example("order_flow")
    big = dataclasses.replace(spec, workload=dataclasses.replace(spec.workload, rate=400.0, until=1000.0,
                                                                 traffic_end=900.0, bursts=()))
    with pytest.raises(ValueError, match="events .* more than"):
        ys.review(big, progress=False)


def test_design_codes_are_checked():
    spec = ys.example("food_delivery")
    with pytest.raises(ValueError, match="4 letters"):
        ys.Design.from_code("rrx", spec)
    with pytest.raises(ValueError, match="4 letters"):
        ys.DesignRunParams(design="eeeee")


def test_a_review_whose_runs_hit_the_bound_says_so_and_reports_nothing(monkeypatch):
    from eda_sim import budget

    with budget.allowance("test", events=100_000), pytest.raises(budget.Exhausted, match="runs stopped at their"):
        ys.review(ys.example("order_flow"), progress=False)
    monkeypatch.setattr(budget, "EXPERIMENT_EVENTS", 100_000)  # the review's own budget, when none is open
    with pytest.raises(ValueError, match="the review stopped at its bound.*runs stopped at their share"):
        ys.review(ys.example("order_flow"), progress=False)


# -- command line -----------------------------------------------------------------------------------
def test_cli_review_prints_the_table_and_the_verdict(capsys, tmp_path):
    from eda_sim.__main__ import main

    assert main(["review", "outage", "--no-report", "--seeds", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "Billing outage (notebook 03): 8 designs, seeds 1, 2" in out
    assert "- Winner:" in out and "report:" not in out


def test_cli_review_json_is_strict_and_matches_the_review(capsys):
    import json

    from eda_sim.__main__ import main

    assert main(["review", "outage", "--no-report", "--json", "--seeds", "1,2", "--weight", "parts=40"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda t: pytest.fail(f"non-standard {t}"))
    r = ys.review(ys.example("outage"), seeds=(1, 2), weights={**ys.example("outage").weight, "parts": 40},
                  progress=False)
    assert data["winner_code"] == r.winner and data["weights"]["parts"] == 40
    assert [d["code"] for d in data["designs"]] == r.table()["code"].tolist()
    assert data["reasons"] == r.reasons and data["report"] is None


@pytest.mark.parametrize("args, words", [
    (["review", "missing.toml"], "no such file"),
    (["review", "outage", "--seeds", "1,x"], "--seeds expects comma-separated integers"),
    (["review", "outage", "--weight", "speed=3"], "unknown criterion 'speed'"),
    (["review", "outage", "--workers", "0"], "--workers must be from 1 to 64"),
])
def test_cli_review_errors_are_one_line(capsys, args, words):
    from eda_sim.__main__ import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_review_runs_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed") if __import__("os").environ.get("CI") != "true" \
        else __import__("distributed")
    spec = dataclasses.replace(ys.example("outage"), seeds=(1, 2))
    serial = ys.review(spec, executor="serial", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        on_dask = ys.review(spec, executor=client.get_executor(), progress=False)
    assert on_dask.to_dict() == serial.to_dict()


def test_cli_review_writes_the_report_of_a_file_with_its_text(capsys, tmp_path):
    from eda_sim.__main__ import main

    mine = tmp_path / "mine.toml"
    mine.write_text(ys.example_text("outage").replace('name = "Billing outage (notebook 03)"', 'name = "Mine <b>"'))
    out = tmp_path / "mine-review.html"
    assert main(["review", str(mine), "--seeds", "1", "--report", str(out)]) == 0
    assert f"report: {out}" in capsys.readouterr().out
    html = out.read_text()
    assert "Mine &lt;b&gt;" in html and "Mine <b>" not in html  # the description's text is escaped
    assert "sample_every = 0.5" in html  # the file's own text, shown in the report
