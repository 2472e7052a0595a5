"""Kernel-side refresh time of every notebook panel: build it, move each slider, time the refresh.

Run: ``python benchmarks/bench_panels.py``. For each panel and slider it sets the slider to a few
values across its range and reports the median and worst ``panel.last_ms`` (experiment run, figure
update and sending the charts' new data to the browser). Target: under 100 ms per slider move (aim for 50).
"""

from __future__ import annotations

import statistics
import sys

import numpy as np

from eda_sim.views import all_panels


def values_for(slider, n=4):
    if slider.options:
        return list(slider.options)
    vals = np.linspace(slider.min, slider.max, n)
    if slider.integer:
        return sorted({int(round(v)) for v in vals})
    return [round(float(v) / slider.step) * slider.step for v in vals]


def main(only: list[str]) -> None:
    worst_all = 0.0
    for name, build in all_panels().items():
        if only and not any(o in name for o in only):
            continue
        panel = build()
        print(f"{name}: first run {panel.last_ms:.0f} ms")
        for slider in panel.sliders:
            times = []
            for value in values_for(slider):
                panel.set(**{slider.param: value})
                if panel.error:
                    print(f"  {slider.param}={value}: error {panel.error}")
                    continue
                times.append(panel.last_ms)
            panel.reset()
            if times:
                worst_all = max(worst_all, max(times))
                print(f"  {slider.param:16s} median {statistics.median(times):6.1f} ms   worst {max(times):6.1f} ms")
    print(f"worst slider refresh over all panels: {worst_all:.0f} ms (target < 100 ms)")


if __name__ == "__main__":
    main(sys.argv[1:])
