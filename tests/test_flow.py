"""The message-flow traces of notebook 00 (eda_sim.lab.flow) and the animation that draws them."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from eda_sim import Down
from eda_sim.comparison import build_eda, build_rr, compare
from eda_sim.lab import flow
from eda_sim.lab.flow import HIDDEN, OrderExample, fifo_starts, trace_eda, trace_rr, worker_slots


@pytest.fixture(scope="module")
def anim():
    return flow.run(OrderExample())


@pytest.fixture(scope="module", params=[dict(seed=2, workers=2, entry_workers=6), dict(seed=5, rate=2.6, dt=0.02)])
def other(request):
    return flow.run(OrderExample(**request.param))


def runs(anim, other):
    return [anim, other]


# -- reconstruction helpers ----------------------------------------------------------------------------
def test_fifo_starts_follows_one_queue_by_hand():
    # Two workers. Calls arrive at 0, 0.1, 0.2, 0.3 and finish at 1.0, 0.5, 1.2, 0.9:
    # the third waits for the first worker to free (0.5), the fourth for the next (1.0).
    start = fifo_starts(np.array([0.0, 0.1, 0.2, 0.3]), np.array([1.0, 0.5, 1.2, 0.9]), 2)
    assert start.tolist() == [0.0, 0.1, 0.5, 1.0]
    # A call still busy at the end (NaN) keeps its worker; a call that never arrived never starts.
    start = fifo_starts(np.array([0.0, 0.1, np.nan]), np.array([np.nan, 0.4, np.nan]), 1)
    assert start[0] == 0.0 and math.isnan(start[1]) and math.isnan(start[2])


def test_worker_slots_take_the_lowest_free_worker():
    slots = worker_slots(np.array([0.0, 0.1, 0.5, 0.6]), np.array([0.4, 1.0, 0.7, 0.8]), 2)
    assert slots.tolist() == [0, 1, 0, 0]


# -- frames --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["rr", "eda"])
def test_frame_count_times_and_bounds(anim, arch):
    tr = anim.traces[arch]
    p = anim.params
    assert tr.frames == round(p.until / p.dt) + 1
    assert tr.times[0] == 0 and tr.times[-1] == pytest.approx(p.until)
    assert np.allclose(np.diff(tr.times), p.dt)
    for a in (tr.x, tr.y, tr.station, tr.slot, tr.step):
        assert a.shape == (tr.frames, len(tr.order))
    shown = ~np.isnan(tr.x)
    assert np.array_equal(shown, ~np.isnan(tr.y))
    assert (tr.x[shown] >= 0).all() and (tr.x[shown] <= tr.layout.width).all()
    assert (tr.y[shown] >= 0).all() and (tr.y[shown] <= tr.layout.height).all()
    assert (tr.station[~shown & (tr.station != HIDDEN)] >= 0).all()  # hidden only beyond a lane's length
    assert tr.frame_at(-1) == 0 and tr.frame_at(1e9) == tr.frames - 1
    assert tr.frame_at(4.0) == round(4.0 / p.dt)


@pytest.mark.parametrize("arch", ["rr", "eda"])
def test_no_two_markers_share_a_place(anim, other, arch):
    """A marker is at one station at a time by construction; no two visible markers overlap either."""
    for a in runs(anim, other):
        tr = a.traces[arch]
        for k in range(tr.frames):
            shown = ~np.isnan(tr.x[k])
            places = set(zip(np.round(tr.x[k, shown], 6), np.round(tr.y[k, shown], 6), strict=True))
            assert len(places) == shown.sum(), f"frame {k}: two markers drawn in one place"
            if tr.held_x.shape[1]:
                held = ~np.isnan(tr.held_x[k])
                spots = set(zip(tr.held_x[k, held], tr.held_y[k, held], strict=True))
                assert len(spots) == held.sum()


def test_markers_match_the_records_in_every_frame(anim, other):
    """EDA: a copy is queued exactly while enqueued <= t < taken, processed while taken <= t < done."""
    for a in runs(anim, other):
        tr = a.traces["eda"]
        rec = a.comparison.results["eda"].records()
        t = tr.times[:, None]
        for sub in ("billing", "audit"):
            r = rec[rec.subscription == sub].sort_values("message")
            cols = np.flatnonzero(tr.copy == ("billing", "audit").index(sub))
            assert tr.order[cols].tolist() == r.message.tolist()
            enq, taken, done = (r[c].to_numpy()[None, :] for c in ("enqueued", "taken", "done"))
            queued = (enq <= t) & (t < np.where(np.isnan(taken), np.inf, taken))
            working = (taken <= t) & (t < np.where(np.isnan(done), np.inf, done))
            assert np.array_equal(tr.station[:, cols] == tr.stations.index(f"{sub}.queue"), queued)
            assert np.array_equal(tr.station[:, cols] == tr.stations.index(sub), working)
            assert np.array_equal(tr.counts[:, tr.stations.index(f"{sub}.queue")], queued.sum(axis=1))


def test_eda_copies_reach_both_subscriptions(anim, other):
    for a in runs(anim, other):
        tr = a.traces["eda"]
        n = len(tr.created)
        assert len(tr.order) == 2 * n
        for c, sub in enumerate(("billing", "audit")):
            cols = np.flatnonzero(tr.copy == c)
            assert sorted(tr.order[cols]) == list(range(n))
            path = [tr.stations[i] for i in tr.path[cols[0]]]
            assert path == ["orders", f"{sub}.queue", sub, f"{sub}.done"]
            done = ~np.isnan(tr.finished)
            # every order that is done went through both consumers, after it was published
            work = tr.enter[cols, 2]
            assert (work[done] >= tr.accepted[done] - 1e-12).all()
        # only the first copy stands for the order at OrderSvc: never two copies of one order there
        at_producer = tr.station == tr.stations.index("orders")
        assert not at_producer[:, tr.copy == 1].any()


def test_eda_queue_lanes_keep_arrival_order(anim):
    tr = anim.traces["eda"]
    q = tr.stations.index("billing.queue")
    for k in range(tr.frames):
        cols = np.flatnonzero(tr.station[k] == q)
        if len(cols) < 2:
            continue
        enq = tr.enter[cols, 1]
        ranks = tr.slot[k, cols]
        assert sorted(ranks) == list(range(len(cols)))
        assert np.array_equal(np.argsort(ranks), np.argsort(enq, kind="stable"))  # head = first in
        x = tr.x[k, cols]
        assert np.all(np.diff(x[np.argsort(ranks)]) < 0)  # the head is on the right


def test_rr_hops_in_order(anim, other):
    """Each request waits for OrderSvc, then Billing, then Audit, then is answered: never backwards."""
    for a in runs(anim, other):
        tr = a.traces["rr"]
        names = [tr.stations[i] for i in tr.path[0]]
        assert names == ["orders.queue", "orders", "billing.queue", "billing", "audit.queue", "audit", "answered"]
        done = ~np.isnan(tr.finished)
        assert (np.diff(tr.enter[done], axis=1) >= -1e-12).all()
        assert np.allclose(tr.leave[done, :-1], tr.enter[done, 1:])  # leaving one station is entering the next
        assert np.allclose(tr.enter[done, -1], tr.accepted[done])  # answered when Audit is done
        for j in range(len(tr.order)):
            steps = tr.step[:, j]
            seen = steps[steps >= 0]
            assert (np.diff(seen) >= 0).all()


def test_rr_reconstructed_service_starts_are_exact(anim):
    """Billing's start = its completion minus order i's billing draw, as the service drew it."""
    rr = anim.comparison.results["rr"]
    tr = anim.traces["rr"]
    svc = rr.system.components["billing"]
    draws = rr.system.streams.draws("service:billing", svc.service)
    done = ~np.isnan(tr.finished)
    start = tr.enter[done, 3]
    expected = svc.done_times(len(tr.created))[done] - np.array([draws[i] for i in np.flatnonzero(done)])
    assert np.allclose(start, expected, atol=1e-9)


def test_rr_held_workers_and_waiting_clients(anim, other):
    for a in runs(anim, other):
        tr = a.traces["rr"]
        workers = a.params.entry_workers
        held = (~np.isnan(tr.held_x)).sum(axis=1)
        assert held.max() <= workers
        downstream = np.isin(tr.station, [tr.stations.index(s) for s in
                                          ("billing.queue", "billing", "audit.queue", "audit")]).sum(axis=1)
        assert np.array_equal(held, downstream)  # a request downstream always holds an OrderSvc worker
        queued = tr.counts[:, tr.stations.index("orders.queue")]
        assert (held[queued > 0] == workers).all()  # requests queue at OrderSvc only when every worker is held
        t = tr.times[:, None]
        waiting = ((tr.created[None, :] <= t) & (t < tr.accepted[None, :])).sum(axis=1)
        assert np.array_equal(tr.waiting, waiting)


def test_same_seed_same_orders_and_same_work(anim):
    rr, eda = anim.traces["rr"], anim.traces["eda"]
    assert np.array_equal(rr.created, eda.created)
    done = ~np.isnan(rr.finished) & ~np.isnan(eda.finished)
    billing_rr = rr.leave[done, 3] - rr.enter[done, 3]
    cols = np.flatnonzero(eda.copy == 0)
    billing_eda = (eda.leave[cols, 2] - eda.enter[cols, 2])[done]
    assert np.allclose(billing_rr, billing_eda)


def test_moves_join_where_a_marker_was_to_where_it_is(anim):
    for tr in anim.traces.values():
        drawn = 0
        for k in range(1, tr.frames):
            x, y = tr.moves(k)
            if not len(x):
                continue
            assert math.isnan(x[-1]) and len(x) == len(y)
            ends = {(round(a, 6), round(b, 6)) for a, b, c in zip(x[:-1], y[:-1], x[1:], strict=True) if c != c}
            now = {(round(a, 6), round(b, 6)) for a, b in zip(tr.x[k], tr.y[k], strict=True) if a == a}
            assert ends <= now
            drawn += 1
        assert drawn > 10
    assert anim.traces["eda"].moves(0)[0].size == 0


def test_totals_never_decrease(anim):
    for tr in anim.traces.values():
        assert (np.diff(tr.answered) >= 0).all() and (np.diff(tr.done) >= 0).all()
        assert tr.done[-1] == len(tr.created) and tr.answered[-1] == len(tr.created)


# -- what the traces refuse ------------------------------------------------------------------------------
def test_refuses_what_it_would_draw_wrongly():
    f = OrderExample().flow()
    with pytest.raises(ValueError, match="trace_rr needs an R/R run"):
        trace_rr(build_eda(f).run(5))
    with pytest.raises(ValueError, match="trace_eda needs an EDA run"):
        trace_eda(build_rr(f).run(5))
    with pytest.raises(ValueError, match="sequential"):
        trace_rr(build_rr(dataclasses.replace(f, calls="parallel")).run(5))
    with pytest.raises(ValueError, match="faults"):
        trace_eda(compare(f, until=5, faults=[Down(target="billing", start=1, end=2)]).results["eda"])
    with pytest.raises(ValueError, match="dt"):
        trace_eda(build_eda(f).run(5), dt=0)


@pytest.mark.parametrize(("field", "value"), [("rate", 0), ("workers", 9), ("entry_workers", 0), ("dt", 0.0),
                                              ("burst_start", 9.5), ("until", -1), ("seed", -1)])
def test_bad_parameters_name_themselves(field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        OrderExample(**{field: value})


def test_same_seed_same_frames():
    a, b = flow.run(OrderExample(seed=3)), flow.run(OrderExample(seed=3))
    for arch in ("rr", "eda"):
        assert np.array_equal(a.traces[arch].x, b.traces[arch].x, equal_nan=True)


# -- the animation ---------------------------------------------------------------------------------------
def test_animation_steps_in_place_and_fast():
    from eda_sim.lab.views import start_here

    anim = start_here.animation()
    fig = anim.figure
    n = len(fig.data)
    assert anim.play.max == anim.slider.max == anim.traces["eda"].frames - 1
    assert anim.goto(4.0) == anim.traces["eda"].frame_at(4.0) and anim.t == pytest.approx(4.0)
    assert "t = 4.00 s" in fig.data[anim._index[("eda", "clock")]].text[0] and "4.00" in anim.clock.value
    assert anim.step(1) == anim.frame and anim.t == pytest.approx(4.05)
    anim.step(-10**6)
    assert anim.frame == 0
    anim.play.value = 80  # the Play widget drives the frame slider
    assert anim.frame == 80
    for k in range(0, anim.slider.max + 1, 3):
        anim.slider.value = k  # frame speed is measured by benchmarks/bench_panels.py, not asserted here
    assert len(fig.data) == n  # frames only change data, never add traces
    # the browser draws from the chart's state: it holds the frame shown, not the first one
    state = json.loads(fig.widget.figure_data)
    assert state[anim._index[("eda", "clock")]]["text"] == ["<b>t = 12.90 s</b>"]
    anim.goto(4.0)
    queued = fig.data[anim._index[("eda", "queued")]]
    assert len(queued.x) == anim.traces["eda"].count("billing.queue", anim.frame) + \
        anim.traces["eda"].count("audit.queue", anim.frame)
