"""Notebook 05's lesson around the panels: predictions, tables and what each run showed."""

from __future__ import annotations

import math

import numpy as np

from ....experiments import get
from ....experiments.flexibility import (
    compare_policies,
    throughput_vs_consumers,
)
from ... import exercises, tables
from ...panel import ControlPanel
from .._revealed import closest, text_and_tables


# -- what the notebook shows around the panels -------------------------------------------------------
def rows_table(frame, rows: dict, caption: str | None = None, columns: dict | None = None):
    """``frame``'s rows named in ``rows`` ({key: (label, decimals, scale)}), each rounded its own way,
    "–" where a value does not apply."""
    frame = frame.loc[list(rows)].astype(float)
    out = frame.apply(lambda row: row.map(lambda v: tables.number(v * rows[row.name][2], rows[row.name][1])),
                      axis=1)
    out = out.rename(index={k: label for k, (label, _, _) in rows.items()}, columns=columns or {})
    return tables.tidy(out, caption=caption)


SCALING_OPTIONS = ["it must be reconfigured to send orders to the new consumers",
                   "it pauses while the group rebalances",
                   "nothing: it publishes the same orders at the same times",
                   "it publishes faster, because the backlog clears"]
REPLAY_OPTIONS = {0: "0", 313: "about 313 (one per order)", 626: "about 626"}
BACKPRESSURE_OPTIONS = ["orders are lost", "the producer is made to wait", "the consumer works faster",
                        "nothing: 100 is plenty"]
PARTITION_OPTIONS = {60: "about 60/s", 120: "about 120/s", 130: "about 130/s"}
PREDICTIONS = {
    "scaling": ("When two consumers join the billing group at 60 s, what happens to the order service "
                "(the producer)?", SCALING_OPTIONS),
    "replay": ("While the analytics service replays the 313 past orders from the log, how many extra reads "
               "does the order database serve?", list(REPLAY_OPTIONS.values())),
    "backpressure": ("The queue holds at most 100 orders and the policy is block. During the flash sale:",
                     BACKPRESSURE_OPTIONS),
    "partitions": ("The topic has 6 partitions. With 12 consumers in the group, each taking 10 orders/s, about "
                   "how many orders per second does the group process?", list(PARTITION_OPTIONS.values())),
}


def prediction(key: str) -> exercises.Prediction:
    prompt, options = PREDICTIONS[key]
    return exercises.Prediction(prompt, options)


def actual(key: str) -> str:
    """The option the default run of ``key``'s question shows."""
    if key == "scaling":
        return SCALING_OPTIONS[2] if get("scaling")().same_orders() else SCALING_OPTIONS[1]
    if key == "replay":
        return closest(REPLAY_OPTIONS, get("replay")().extra_reads("eda"))
    if key == "backpressure":
        block = get("backpressure")(policy="block").numbers()
        return BACKPRESSURE_OPTIONS[1] if block["producer_wait_max_s"] > 0 and block["lost"] == 0 \
            else BACKPRESSURE_OPTIONS[0]
    if key == "partitions":
        sweep = throughput_vs_consumers(get("partitions").defaults())
        return closest(PARTITION_OPTIONS, sweep["log_throughput"][-1])
    raise KeyError(f"no prediction {key!r}")


def reveal(pred: exercises.Prediction, key: str):
    """Give ``pred`` its verdict from the run its question describes (the default settings)."""
    return pred.reveal(actual(key))


def explanation(key: str):
    """What a prediction holds back: the default run's numbers, why, and a table (called at reveal time)."""
    return {"scaling": _explain_scaling, "replay": _explain_replay, "backpressure": _explain_backpressure,
            "partitions": _explain_partitions}[key]


DEFAULT_RUN = "The default run (seed 1), not the panel's current settings."


def scaling_numbers(**overrides) -> dict:
    r = get("scaling")(**overrides)
    p = r.params
    fixed_t, fixed_lag = r.lag("fixed")
    return {"result": r, "produced": r.results["fixed"].summary["produced"], "same": r.same_orders(),
            "fluid_at_sale_end": float(np.interp(p.spike_start + p.spike_length, *r.fluid("fixed"))),
            "peak_fixed": r.peak_lag("fixed"), "peak_scaled": r.peak_lag("scaled"),
            "end_fixed": float(fixed_lag[-1]), "drained_scaled": r.drained_at("scaled"),
            "p95_fixed": r.results["fixed"].summary["latency_p95"],
            "p95_scaled": r.results["scaled"].summary["latency_p95"],
            "duplicates": r.results["scaled"].summary["duplicates"]}


SCALING_ROWS = {"produced": ("orders published", 0, 1), "processed": ("orders processed by the end", 0, 1),
                "peak_lag": ("largest lag (orders)", 0, 1), "drained_at_s": ("lag back under 10 at (s)", 0, 1),
                "latency_p95_s": ("order to billing, 95th percentile (s)", 1, 1),
                "duplicates": ("orders processed twice", 0, 1), "rebalances": ("rebalances", 0, 1)}


def _explain_scaling():
    n = scaling_numbers()
    dup = scaling_numbers(commit_every=60)["duplicates"]
    text = (
        "**What the run shows** (the defaults): the producer published "
        f"{n['produced']:,} orders in both runs, "
        f"{'at identical times' if n['same'] else 'but not at identical times'}, and "
        "every publish was acknowledged at once in both.\n\n"
        "**Why.** The producer's only contract is the topic. Which consumers read it, and how many, is "
        "settled between the consumers and the broker: when a consumer joins or leaves, the group "
        "**rebalances** (its partitions are reassigned, here with a 2-second pause) and reading resumes "
        "from the last committed offsets.\n\n"
        "The lag follows simple arithmetic, the dashed fluid line. During the sale orders arrive at 10/s; "
        "one consumer processes 4/s, so lag grows at 6/s, and by the end of the sale about "
        f"{n['fluid_at_sale_end']:.0f} orders wait (the simulation peaks at {n['peak_fixed']:.0f}). After "
        "the sale the single consumer gains only 1 order/s on the backlog and still has "
        f"{n['end_fixed']:.0f} waiting at the end. With three consumers from 60 s the group processes 12/s: "
        f"the lag peaks at {n['peak_scaled']:.0f}, shrinks during the sale and is back under 10 by "
        f"{n['drained_scaled']:.0f} s. For the orders billed by the end, the 95th-percentile time from "
        f"order to billing falls from {n['p95_fixed']:.0f} s to {n['p95_scaled']:.0f} s.\n\n"
        "Try these with the sliders:\n\n"
        "- **8 consumers after scaling.** The topic has 6 partitions, so two consumers get none and sit "
        "idle: the lag curve is exactly the one for 6 consumers.\n"
        "- **Commit offsets every 60 orders.** Each rebalance rewinds to the last commit, so the orders "
        f"processed since then are processed again: {dup} duplicates. The lag chart rises too, because "
        "lag is counted from committed offsets.\n\n"
        "Scaling an R/R service behind a load balancer is invisible to its callers as well. The difference "
        "is who feels the overload before you scale: here nobody waits to publish, whereas an R/R caller "
        "waits for every slow answer (notebook 03).")
    table = rows_table(n["result"].table(), SCALING_ROWS, DEFAULT_RUN,
                       {"fixed": "1 consumer throughout", "scaled": "consumers added, then removed"})
    return text_and_tables(text, table)


def replay_numbers(**overrides) -> dict:
    r = get("replay")(**overrides)
    start, end = r.backfill_window()
    return {"result": r, "history": r.history, "extra_eda": r.extra_reads("eda"), "extra_rr": r.extra_reads("rr"),
            "ready_eda": r.history_ready_at("eda") - r.params.join_at, "backfill_s": end - start,
            "lookup_rr": r.mean_lookup_latency("rr", start, end),
            "lookup_eda": r.mean_lookup_latency("eda", start, end),
            "theory_before": r.theory_latency(False), "theory_during": r.theory_latency(True),
            "obtained_eda": len(r.history_times("eda")), "retained": r.retained}


REPLAY_ROWS = {"past_orders_obtained": ("past orders the new service got", 0, 1),
               "history_ready_at_s": ("had them all at (s)", 1, 1),
               "extra_db_reads": ("extra reads on the order database", 0, 1),
               "lookup_latency_during_backfill_s": ("customers' lookup time during the backfill, mean (s)", 3, 1),
               "lookup_latency_before_s": ("customers' lookup time before 60 s, mean (s)", 3, 1)}


def _explain_replay():
    n = replay_numbers()
    fast = replay_numbers(replay_consumers=4)
    hard = replay_numbers(backfill_rate=16.0)
    p = n["result"].params
    text = (
        f"**What the run shows** (the defaults): the replay cost the order database **{n['extra_eda']} extra "
        f"reads**; the backfill cost {n['extra_rr']}.\n\n"
        "**Why.** The log is a second copy of the history, kept by the broker for whoever wants it. The "
        f"replaying group reads it at its own pace: one consumer had all {n['history']} past orders "
        f"{n['ready_eda']:.0f} s after starting. Set *replaying consumers* to 4 and it takes "
        f"{fast['ready_eda']:.1f} s, still without touching the source.\n\n"
        f"The backfill costs the source one read per past order: {n['extra_rr']} reads over "
        f"{n['backfill_s']:.0f} s. The database goes from about 4 to about 14 queries per second (70% of "
        "what it can serve) and the customers feel it: while the backfill runs their mean lookup time is "
        f"{n['lookup_rr']:.2f} s, against {n['lookup_eda']:.2f} s in the replay run over the same seconds, "
        "and it recovers once the backfill ends. Queueing theory explains the shape: for an M/M/2 database "
        f"the mean response time is {n['theory_before']:.2f} s at 4 queries/s and {n['theory_during']:.2f} s "
        "at 14 queries/s; the backfill stops before the queue settles at that steady state, so the "
        f"simulation stays below the dashed line. Speed the backfill up to 16 reads/s and the database is "
        f"saturated: lookups average {hard['lookup_rr']:.2f} s, and there is no steady state at all.\n\n"
        "Notice also what neither variant had to do: change the order service. Both follow new orders by "
        "subscribing to the log. Without the log, R/R would need the order service to call the analytics "
        "service for every new order, which is the \"touching the server code\" the guide warns about.")
    table = rows_table(n["result"].table(), REPLAY_ROWS, DEFAULT_RUN)
    del p
    return text_and_tables(text, table)


def retention_numbers() -> dict:
    """Part B with 30 s of retention, and the bug-fix replay (what "where the claims break" quotes)."""
    r = replay_numbers(retention=30.0)
    fix = get("bugfix")().numbers()
    short = get("bugfix")(retention=30.0).numbers()
    return {"obtained": r["obtained_eda"], "history": r["history"], "retained": r["retained"],
            "hit": fix["orders_hit_by_the_bug"], "duplicates": fix["duplicates"],
            "short_reprocessed": short["reprocessed"], "short_lost": short["could_not_be_replayed"]}


BUGFIX_ROWS = {"orders_hit_by_the_bug": ("orders hit by the bug", 0, 1), "reprocessed": ("reprocessed", 0, 1),
               "duplicates": ("handled twice (duplicates)", 0, 1),
               "could_not_be_replayed": ("no longer in the log: cannot be replayed", 0, 1)}


def bugfix_table():
    """The bug-fix replay with 120 s and 30 s of retention, side by side."""
    import pandas as pd

    frame = pd.concat([get("bugfix")().table(), get("bugfix")(retention=30.0).table()], axis=1)
    return rows_table(frame, BUGFIX_ROWS, "Bug from 30 s to 90 s, then a rewind to 30 s (seed 1).")


POLICY_ROWS = {"lost": ("orders lost", 0, 1), "lost_share": ("orders lost (%)", 1, 100),
               "producer_wait_max_s": ("producer's longest wait (s)", 1, 1),
               "peak_held_by_producer": ("most orders held at the producer", 0, 1),
               "peak_queue": ("largest queue", 0, 1), "latency_p95_s": ("order latency, 95th percentile (s)", 1, 1),
               "processed": ("orders processed", 0, 1)}


def policies_table(params=None):
    """Every overflow policy at ``params``' capacity and prefetch (the defaults unless given)."""
    import pandas as pd

    params = params or get("backpressure").defaults()
    frame = pd.DataFrame({policy: r.numbers() for policy, r in compare_policies(params).items()})
    return rows_table(frame, POLICY_ROWS, f"Queue capacity {params.capacity}, prefetch {params.prefetch}, "
                                          f"seed {params.seed}" + (" (the defaults)." if params ==
                                                                    get("backpressure").defaults() else "."))


def _explain_backpressure():
    n = {policy: r.numbers() for policy, r in compare_policies(get("backpressure").defaults()).items()}
    big = {policy: r.numbers() for policy, r in
           compare_policies(get("backpressure").make_params(prefetch=100)).items()}
    text = (
        "**What the run shows** (the defaults): with `block` the producer waited up to "
        f"{n['block']['producer_wait_max_s']:.0f} s and lost {n['block']['lost']} orders.\n\n"
        "**Why.** The sale brings orders at 15/s to a consumer that takes 5/s, for 30 s: about "
        "(15 − 5) × 30 = 300 orders more than it can handle on the spot. Backpressure does not make them "
        "disappear; the policy only decides **who holds them**:\n\n"
        f"- **unbounded**: the queue does, up to {n['unbounded']['peak_queue']} orders; nothing is lost, but "
        f"the 95th-percentile order waits {n['unbounded']['latency_p95_s']:.0f} s.\n"
        f"- **block**: the producer does. The queue stays at 100 and up to "
        f"{n['block']['peak_held_by_producer']:.0f} orders wait at the producer. The consumer sees exactly "
        "the orders of the unbounded run, so the latency is identical: the waiting has only moved upstream. "
        "A blocked producer is a caller that waits, which is request/response behaviour again.\n"
        f"- **reject** and **drop_oldest**: nobody does. About {n['reject']['lost']} orders (a quarter) are "
        "lost, roughly the fluid estimate 300 − 100 − 10 = 190. `drop_oldest` keeps the newest orders, so "
        f"the ones processed waited less (95th percentile {n['drop_oldest']['latency_p95_s']:.0f} s instead "
        f"of {n['reject']['latency_p95_s']:.0f} s).\n\n"
        "Prefetch moves orders from the queue into the consumer, so it is buffer too. Set *consumer "
        f"prefetch* to 100 and `reject` loses {big['reject']['lost']} orders instead of {n['reject']['lost']}, "
        f"and `block` holds the producer for at most {big['block']['producer_wait_max_s']:.0f} s instead of "
        f"{n['block']['producer_wait_max_s']:.0f} s. With several competing consumers, though, a large "
        "prefetch lets one busy consumer sit on orders an idle one could take, so prefetch is usually kept "
        "small.\n\n"
        "So \"consumers process at their own pace\" is true, and it has a price: someone must hold, or lose, "
        "what the consumer cannot take yet: the producer waits (`block`), orders are lost (`reject`, "
        "`drop_oldest`), or memory and latency grow (no bound).")
    return text_and_tables(text, policies_table())


def _explain_partitions():
    sweep = throughput_vs_consumers(get("partitions").defaults())
    keys = get("partitions")(keys=3)
    text = (
        f"**What the run shows** (the defaults): with 12 consumers the group processes "
        f"{sweep['log_throughput'][-1]:.1f} orders/s, the work queue {sweep['queue_throughput'][-1]:.1f}.\n\n"
        "**Why.** Inside a consumer group each partition belongs to one consumer at a time; that is how the "
        "log keeps each customer's orders in order. So a group can never have more busy consumers than "
        "partitions: with 6 partitions the 7th to 12th consumers get nothing (bottom chart) and throughput "
        "stays at about 6 × 10 = 60 orders per second, the dashed line. The work queue has no partitions: "
        "every consumer takes the next order, and throughput keeps growing.\n\n"
        "The queue pays for that freedom with ordering. Two orders of the same customer can be processed at "
        "the same time by two consumers, and the later one may finish first: "
        f"{100 * sweep['queue_out_of_order'][7]:.1f}% of orders with 8 consumers, "
        f"{100 * sweep['queue_out_of_order'][-1]:.1f}% with 12. In the group that never happens.\n\n"
        "**Where it breaks.** Parallelism is capped by the keys as well as by the partitions: with only 3 "
        "customers (3 distinct keys) only 3 of the 6 partitions ever receive orders, so the group processes "
        f"about {keys.throughput('log'):.0f} orders/s whatever its size, while the queue, which ignores keys, "
        f"finishes {100 * keys.out_of_order('queue'):.0f}% of orders out of order (table below, 3 keys, "
        "6 partitions, 8 consumers). And ordering holds per partition only: nothing orders events across "
        "partitions.")
    table = rows_table(keys.table(), {"throughput_per_s": ("orders processed per second", 1, 1),
                                      "theory_ceiling_per_s": ("ceiling (orders/s)", 1, 1),
                                      "idle_consumers": ("idle consumers", 0, 1),
                                      "out_of_order_share": ("finished out of order (%)", 1, 100)},
                       "3 customers (keys), the other settings at their defaults (seed 1).",
                       {"log": "log: consumer group", "queue": "work queue"})
    return text_and_tables(text, table)


# -- exercises -----------------------------------------------------------------------------------------
CAPACITY_STEP = 10  # the capacity slider's step


def smallest_capacity(params) -> int:
    """The smallest slider capacity with which ``reject`` loses no order at ``params``' seed and prefetch:
    the unbounded queue's exact peak, rounded up to the slider's step."""
    peak = compare_policies(params)["unbounded"].peak_queue()
    return int(math.ceil(peak / CAPACITY_STEP) * CAPACITY_STEP)


def exercise(key: str, panel: ControlPanel | None = None):
    """``"queue capacity"`` (reads the backpressure ``panel``) and ``"partitions"`` (a number)."""
    if key == "queue capacity":
        if panel is None:
            raise ValueError("exercise 'queue capacity' needs the backpressure panel")

        def check():
            p = panel.params
            if p.policy != "reject":
                return False, "Set *when the queue is full* to **reject** first: the question is about losing orders."
            lost = panel.result.numbers()["lost"]
            smallest = smallest_capacity(p)
            where = f"seed {p.seed}, prefetch {p.prefetch}"
            if lost:
                orders = "order" if lost == 1 else "orders"
                return False, f"With capacity {p.capacity} the queue still rejects {lost} {orders} ({where}): larger."
            if p.capacity > smallest:
                return False, (f"No order is lost at {p.capacity}: safe. But {smallest} is enough here ({where}): "
                               "try smaller, a tight bound protects the broker.")
            return True, (f"No order is lost at {p.capacity}, and {p.capacity - CAPACITY_STEP} would lose some "
                          f"({where}). The fluid estimate was 290; random arrivals bunch up a little more.")

        return exercises.Exercise(
            "In the backpressure panel, set *when the queue is full* to **reject** and find the smallest **queue "
            "capacity** on the slider that loses no order. Then press *Check*: it reads the panel's current "
            "run, with your seed and prefetch.",
            check=check,
            hint="Estimate first: the consumer takes 5 orders/s; during the 30-second sale 15/s arrive. How many "
                 "are left over, and how many of those can the consumer's prefetch hold? Then watch *Orders lost "
                 "so far* as you move the capacity slider around your estimate.",
            solution="The fluid estimate is (15 − 5) × 30 − 10 = 290 orders. With random arrivals the queue "
                     "of the unbounded run peaks a little higher (seed 1, prefetch 10: 308 ready orders), so the "
                     "smallest capacity on the slider is **310**. Another seed or prefetch peaks elsewhere: in "
                     "practice leave a margin, or use `block` if losing an order is never acceptable.")
    if key == "partitions":
        return exercises.Numeric(
            "Smallest number of partitions:", answer=5, tolerance=0, unit="partitions",
            explanation="The group can use at most one consumer per partition, so it needs at least "
                        "⌈45 / 10⌉ = **5** partitions (and 5 consumers). Plan for growth too: adding partitions "
                        "later changes which partition a key goes to, which breaks per-key order during the "
                        "change.",
            hint="Within a consumer group, how many consumers can read one partition at the same time?")
    raise KeyError(f"no exercise {key!r}; choose 'queue capacity' or 'partitions'")
