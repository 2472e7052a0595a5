"""The ready-check's status line: what it says before, during and after the browser reports a draw.

The browser itself is in tests/browser/test_ready_check.py; here the browser's report (the Chart
widget's ``rendered`` counter) is set by hand, as the extension would.
"""

from __future__ import annotations

import platform
import time

import pytest

from eda_sim import __version__
from eda_sim.lab.views.ready_check import FAILED, FOLLOWED, READY, WAITING, ReadyCheck


def test_green_only_after_the_browser_reports_a_draw():
    check = ReadyCheck(timeout_s=60)
    assert check.state == WAITING and check.chart.rendered == 0
    assert "Waiting for the chart to report from the browser" in check.status.value
    assert "Ready" not in check.status.value
    check.panel.set(rate=12.0)  # a run without a browser: still no report, still waiting
    assert check.state == WAITING
    check.chart.rendered = 1
    assert check.state == READY
    assert f"Ready: widgets and charts work in this browser (Python {platform.python_version()}, " \
           f"eda_sim {__version__})" in check.message()
    assert "eda-ready-ready" in check.status.value


def test_followed_needs_a_draw_after_the_slider_moved():
    check = ReadyCheck(timeout_s=60)
    check.chart.rendered = 1
    before = check.panel.figures[0].data[0].y
    check.panel.controls["rate"].value = 15.0  # the learner moves the slider: the panel reruns
    assert list(check.panel.figures[0].data[0].y) != list(before)
    assert check.state == READY  # the new data was sent, but the browser has not drawn it yet
    check.chart.rendered = 2
    assert check.state == FOLLOWED and "drawn 2 times" in check.message()
    check.chart.rendered = 3
    assert "drawn 3 times" in check.status.value


def test_no_report_turns_red_and_a_late_draw_still_turns_green():
    check = ReadyCheck(timeout_s=1)
    check.show()
    deadline = time.monotonic() + 10
    while check.state == WAITING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert check.state == FAILED
    assert check.message().startswith("Not ready: the chart did not draw within 1 s")
    assert "docs/workshop/setup.md#troubleshooting" in check.message()
    check.chart.rendered = 1
    assert check.state == READY


def test_the_note_for_pages_without_widgets_is_hidden_by_the_status_widget():
    check = ReadyCheck(timeout_s=60)
    assert ".eda-ready-note {display: none}" in check.status.value
    assert 'class="eda-ready-note"' in check._note(failed=False)
    assert "did not load" in check._note(failed=True)


@pytest.mark.parametrize("bad", [0, -1, 0.5, 601])
def test_timeout_must_be_a_sensible_number_of_seconds(bad):
    with pytest.raises(ValueError, match="timeout_s must be from 1 to 600"):
        ReadyCheck(timeout_s=bad)


@pytest.mark.parametrize("bad", ["30", True, None])
def test_timeout_must_be_a_number(bad):
    with pytest.raises(TypeError, match="timeout_s must be a number"):
        ReadyCheck(timeout_s=bad)
