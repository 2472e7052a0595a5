"""Coupling and failure propagation (notebook 03): who notices when one service is down?

``coupling_outage``  billing is down for a while (or, with ``target="broker"``, the EDA broker is). R/R:
                     client → orders → billing, audit. EDA: producer → topic ``orders`` → billing and
                     audit subscriptions. What the client waits for, what fails, where the work piles
                     up, and when each order is really done.
``coupling_deploy``  the same flow while billing restarts for a deploy (2 s, connections refused).
``coupling_storm``   the ``retry_storm`` system at half scale, after a short backend outage, under one of
                     four retry policies (R/R only): does goodput come back when the outage ends?
``coupling_fanout``  the ``fanout`` system with 100 leaves: the share of slow requests for every n ≤ 100.

Both architectures of ``coupling_outage`` share the seed, the arrivals and every billing and audit
time (``eda_sim.comparison``), so order i takes the same billing time in both.

The module is split into parts (outage, storm, fanout); every name is re-exported here.
"""

from .fanout import (  # noqa: F401
    FANOUT_SLIDERS,
    MAX_LEAVES,
    P_SLOW,
    SWEEP_N,
    FanoutSweepParams,
    FanoutSweepResult,
    _fanout_run,
    run_fanout_sweep,
)
from .outage import (  # noqa: F401
    DEPLOY_SLIDERS,
    OUTAGE_SLIDERS,
    SEED_MAX,
    TARGETS,
    DeployParams,
    OutageParams,
    OutageResult,
    _backlog,
    _client_failed,
    _unacknowledged,
    drain_time,
    outage_flow,
    outage_keys,
    run_deploy,
    run_outage,
    run_outage_params,
)
from .storm import (  # noqa: F401
    LOADS,
    POLICIES,
    POLICY_LABELS,
    STORM_SLIDERS,
    StormParams,
    StormResult,
    _storm,
    goodput_vs_load,
    run_storm,
)
