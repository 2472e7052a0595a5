"""Kernel-side refresh time of every notebook panel: build it, move each slider, time the refresh.

Run: ``python benchmarks/bench_panels.py [panel-name-part ...]``. For each panel and slider it sets the
slider to a few values across its range (the first move of each is a first-time run, caches cold) and
reports the median and worst ``panel.last_ms`` (experiment run, figure update and sending the charts'
new data to the browser; wall clock) and the same for this process's CPU time around the move, which a
busy shared machine disturbs far less. Targets: median <= 50 ms and worst single move <= 150 ms per
slider. Buttons that run long on purpose (06's "precision: full") are listed apart.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time

import ipywidgets as widgets
import numpy as np

from eda_sim.lab.views import all_panels


def values_for(slider, n=4):
    if slider.options:
        return list(slider.options)
    vals = np.linspace(slider.min, slider.max, n)
    if slider.integer:
        return sorted({int(round(v)) for v in vals})
    return [round(float(v) / slider.step) * slider.step for v in vals]


LONG_ON_PURPOSE = {("use_cases.panel", "precision")}


def main(only: list[str]) -> None:
    worst_all = worst_cpu_all = 0.0
    over = []
    notebook = None
    for name, build in all_panels().items():
        if only and not any(o in name for o in only):
            continue
        if name.split(".")[0] != notebook:
            # Each notebook has a kernel of its own: close the previous notebook's widgets (ipywidgets keeps
            # every widget alive until closed) so its charts do not weigh on this one's garbage collections.
            notebook = name.split(".")[0]
            widgets.Widget.close_all()
            gc.collect()
        c0 = time.process_time()
        panel = build()
        build_cpu = (time.process_time() - c0) * 1000
        print(f"{name}: first run {panel.last_ms:.0f} ms ({build_cpu:.0f} ms CPU with the build)")
        for slider in panel.sliders:
            times, cpu = [], []
            for value in values_for(slider):
                c0 = time.process_time()
                panel.set(**{slider.param: value})
                cpu.append((time.process_time() - c0) * 1000)
                if panel.error:
                    print(f"  {slider.param}={value}: error {panel.error}")
                    continue
                times.append(panel.last_ms)
            panel.reset()
            if times:
                med, worst = statistics.median(times), max(times)
                med_cpu, worst_cpu = statistics.median(cpu), max(cpu)
                long = (name, slider.param) in LONG_ON_PURPOSE
                if not long:
                    worst_all, worst_cpu_all = max(worst_all, worst), max(worst_cpu_all, worst_cpu)
                    if med_cpu > 50 or worst_cpu > 150:
                        over.append(f"{name} {slider.param}")
                print(f"  {slider.param:16s} median {med:6.1f} ms   worst {worst:6.1f} ms   "
                      f"CPU median {med_cpu:6.1f} ms   worst {worst_cpu:6.1f} ms"
                      + ("   (long on purpose)" if long else ""))
    print(f"worst slider refresh over all panels: {worst_all:.0f} ms wall, {worst_cpu_all:.0f} ms CPU "
          f"(targets: median <= 50 ms, worst <= 150 ms)")
    print("over a target (CPU): " + (", ".join(over) or "none"))


if __name__ == "__main__":
    main(sys.argv[1:])
