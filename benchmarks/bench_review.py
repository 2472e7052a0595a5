"""Speed of the design review (notebook 09, ``python -m eda_sim review``).

Run: ``python benchmarks/bench_review.py [repeats]``. Measures, for each bundled example, one design's
run (build, simulate, measure; the median of several) and the whole review with the default executor
(a process pool of ``min(2, cpu_count)`` workers), wall clock and this process's CPU time. Targets from
issue 14: a 5-interaction system (32 designs x 3 seeds: ``order_flow`` and ``notifications``) in under
60 s on 2 cores, a single design in under 1 s. Also prints the machine's load, which a shared machine
makes worth knowing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from eda_sim.experiments import your_system as ys


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(repeats: int = 3) -> None:
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'example':15} {'designs':>7} {'runs':>5} {'one design (s)':>15} {'review wall (s)':>16} "
          f"{'review CPU here (s)':>20}")
    for name in ys.EXAMPLES:
        spec = ys.example(name)
        n = len(spec.interactions)
        one = [timed(lambda s=spec, d=c * n: ys.run_design(ys.DesignRunParams(spec=s, design=d)).summary)[1]
               for c in "re" for _ in range(repeats)]
        walls, cpus = [], []
        for _ in range(repeats):
            r, wall, cpu = timed(lambda s=spec: ys.review(s, progress=False))
            walls.append(wall)
            cpus.append(cpu)
        print(f"{name:15} {len(r.means):>7} {len(r.runs):>5} {statistics.median(one):>15.3f} "
              f"{statistics.median(walls):>16.2f} {statistics.median(cpus):>20.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
