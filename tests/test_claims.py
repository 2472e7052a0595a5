"""Each notebook's headline claim, checked against its experiment at the default settings.

These are the sentences the notebooks say out loud; if a change to the simulator made one false, the
notebook's text would be wrong, so the test fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from eda_sim import theory
from eda_sim.experiments import get


# -- 04 reactivity -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reactivity():
    return get("reactivity")()


def test_04_polling_detection_delay_is_about_half_the_period(reactivity):
    p = reactivity.params
    delays = reactivity.delays("poll")
    assert len(delays) > 400
    # Uniform(0, T): mean T/2 with standard error T/sqrt(12 n) ~ 0.05 s here; allow 10 %.
    assert delays.mean() == pytest.approx(theory.polling_delay_mean(p.poll_interval), rel=0.10)
    assert np.percentile(delays, 95) == pytest.approx(0.95 * p.poll_interval, rel=0.08)
    assert delays.max() <= p.poll_interval + 1e-9


def test_04_push_and_long_polling_have_no_detection_delay(reactivity):
    assert reactivity.delays("push").max() == 0.0
    assert reactivity.delays("long_poll").mean() < 0.01 * reactivity.delays("poll").mean()


def test_04_polling_costs_one_request_per_period_whatever_happens(reactivity):
    p = reactivity.params
    assert reactivity.requests_per_s("poll") == pytest.approx(1 / p.poll_interval, rel=0.02)
    assert reactivity.requests_per_s("push") == 0
    quiet = get("reactivity")(rate=0.2, poll_interval=10.0, until=6000.0)  # 600 polls: SE of the share 0.014
    assert quiet.empty_fraction("poll") == pytest.approx(theory.polling_empty_fraction(0.2, 10.0), abs=0.045)


def test_04_under_bursts_push_consumers_queue_too(reactivity):
    calm = reactivity.results["push"].summary["latency_p95"]
    bursty = get("reactivity")(burst=15.0, service_mean=0.2).results["push"].summary["latency_p95"]
    assert bursty > 20 * calm
