"""``capstone``: a food-delivery backend that teams design interaction by interaction and defend with numbers.

Notebook 08. Four interactions, each built as request/response (``"rr"``) or event-driven (``"eda"``):

============  ============================================  ==================================================
interaction   ``"rr"``                                      ``"eda"``
============  ============================================  ==================================================
``place``     the customer's app calls the order service     the app puts a PlaceOrder command on a queue; order
              and waits for its answer (app timeout 5 s)     workers take it and push the confirmation back
``pay``       the order service calls the payment service    a payment consumer group reads OrderPlaced events
``notify``    the order service calls the notifier           a notifier consumer group reads OrderPlaced
``analytics`` the order service calls analytics              an analytics consumer group reads OrderPlaced
============  ============================================  ==================================================

The order service always stores the order (one database write), then makes its synchronous calls one
after the other (payment first; the first failure fails the order), then publishes one OrderPlaced event
if any interaction is event-driven. Synchronous downstream services read the order from the database;
consumers get it in the event (notebook 02). Payment writes one payment record; an *idempotent* payment
looks its order id up first (one more read) and never charges an order twice.

Knobs (:class:`Design`): ``workers`` (threads per service = consumers per group), ``timeout`` and
``retries`` on every synchronous call between services (exponential backoff with full jitter from 0.1 s),
``idempotent`` payment, and ``partitions`` of the event log (a consumer group uses at most that many
consumers). Consumers commit their offsets every 20 messages (and when they catch up), like Kafka's
periodic auto-commit, so a crash makes them redo what they had not committed.

The scenario script (:class:`Scenario`) is the same for every team: orders at 4/s, a lunch spike at 12/s,
the payment provider down for 15 s, then one payment worker crashing for 3 s while payments catch up.
The designs are built by the engine of ``your_system`` (notebook 09) from :func:`spec_for`, the capstone
as a system description; the bundled example ``food_delivery.toml`` is the same description.
Every design runs on the same seed: order *i* arrives at the same time and takes the same work time at
each interaction whichever way it is built (streams ``arrivals`` and ``service:<interaction>``).

:func:`score` turns one run into rubric points (:data:`RUBRIC`); :func:`defence` writes the two
sentences a team would say; :func:`leaderboard` ranks :data:`PRESETS`; :func:`cross_team_leaderboard`
ranks the teams' share codes over several seeds by :data:`WINNER_RULE` (module ``teams``).

One module per experiment of the family; this package re-exports their names, so
``from eda_sim.experiments.capstone import ...`` reads as before the split.
"""

from .design import (
    BACKOFF_BASE,
    COMMIT_EVERY,
    DB_CONNECTIONS,
    DOWNSTREAM,
    INTERACTIONS,
    PRESETS,
    PUBLISH_LATENCY,
    QUERY_TIME,
    RR_READS,
    SCENARIO,
    SEED_MAX,
    STYLES,
    WORK,
    WRITES,
    Design,
    Scenario,
    _done_times,
    build,
    moving_parts,
    spec_for,
    styles_of,
)
from .results import (
    MAX_POINTS,
    RUBRIC,
    CapstoneResult,
    Criterion,
    _binned_p95,
    _fmt,
    defence,
    describe,
    hold_mean,
    payment_capacity,
    rubric_table,
    run_design,
    score,
    spike_load,
)
from .teams import (
    MAX_TEAMS,
    PASS_TOTAL,
    SEEDS,
    WINNER_RULE,
    Team,
    cross_team_leaderboard,
    describe_design,
    design_code,
    nearest_preset,
    parse_code,
    parse_teams,
    preset_note,
    preset_values,
    rank_key,
    team_runs,
    winners,
)
from .workshop import (
    SLIDERS,
    _leaderboard,
    best_preset,
    breaking_points,
    changes_from,
    check_design,
    duplicates_explained,
    leaderboard,
    matching_preset,
    preset,
    preset_facts,
    run_capstone,
    wait_explained,
)

__all__ = [
    "BACKOFF_BASE", "COMMIT_EVERY", "CapstoneResult", "Criterion",
    "DB_CONNECTIONS", "DOWNSTREAM", "Design", "INTERACTIONS", "MAX_POINTS", "PRESETS", "PUBLISH_LATENCY",
    "QUERY_TIME", "RR_READS", "RUBRIC", "SCENARIO", "SEED_MAX", "SLIDERS", "STYLES", "Scenario", "WORK",
    "WRITES", "_binned_p95", "_done_times", "_fmt", "_leaderboard", "best_preset",
    "breaking_points", "build", "changes_from", "check_design", "defence", "describe", "duplicates_explained",
    "hold_mean", "leaderboard", "matching_preset", "moving_parts", "payment_capacity", "preset", "preset_facts",
    "rubric_table", "run_capstone", "run_design", "score", "spec_for", "spike_load", "styles_of",
    "wait_explained",
    # teams: the capstone as a team exercise
    "MAX_TEAMS", "PASS_TOTAL", "SEEDS", "WINNER_RULE", "Team", "cross_team_leaderboard", "design_code",
    "describe_design", "nearest_preset", "parse_code", "parse_teams", "preset_note", "preset_values", "rank_key",
    "team_runs", "winners",
]
