"""The capstone as a team exercise: every team's share code ranked on the same seeds, and the preset a
panel's settings are closest to.

A team posts one line, ``Team name: eda1:capstone:...`` (the code the panel's *Share* button writes).
:func:`cross_team_leaderboard` runs each team's design on the same seeds (the seed in a code is ignored)
and ranks the teams by :data:`WINNER_RULE`.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from ... import budget
from ... import validate as v
from ...lab.panel import MAX_CODE, SHARE_PREFIX, ControlPanel
from .design import INTERACTIONS, PRESETS, SCENARIO, SEED_MAX, Design
from .results import run_design
from .workshop import SLIDERS, changes_from, check_design, matching_preset

SEEDS = (1, 2, 3, 4, 5)
MAX_SEEDS = 10
MAX_TEAMS = 12
MAX_NAME = 30  # characters: a team name must fit the chart's axis on a projector
#: The exercise's pass mark (check_design's default target).
PASS_TOTAL = 80.0
#: How the winner is decided, word for word what the notebook and the run sheet say.
WINNER_RULE = (
    "Every team's design runs on the same seeds (the seed in a share code is ignored). A team passes when its "
    f"design passes the exercise's check on every seed: at least {PASS_TOTAL:g} points, nobody charged twice, "
    "at most 5 % of orders lost. Teams that pass rank above teams that do not; then the higher mean rubric "
    "total over the seeds wins (to 0.1 point, as shown); a tie is broken by fewer lost orders (over all "
    "seeds), then by fewer moving parts; teams still tied share the place.")
#: Student's t, 97.5 % quantile, by degrees of freedom (a 95 % interval over at most MAX_SEEDS seeds).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
_LINE = re.compile(r"^(?P<name>[^:]*):(?P<code>.*)$")


@dataclass(frozen=True)
class Team:
    """One team: its name, its design (at seed 1) and where it came from (``line`` 1-based, 0 for a dict)."""

    name: str
    design: Design
    code: str
    line: int = 0


class _Codes:
    """What :meth:`ControlPanel._parse_code` reads of a panel, so a code is checked exactly as Load does."""

    name = "capstone"
    sliders = SLIDERS
    _names = ControlPanel._names
    parse = ControlPanel._parse_code


def design_code(design: Design) -> str:
    """The share code the capstone panel writes for ``design`` (settings that differ from the panel's start,
    the naive hybrid, then the seed)."""
    if not isinstance(design, Design):
        raise TypeError(f"design must be a Design, got {type(design).__name__}")
    base = Design()
    parts = [f"{s.param}={s.format(getattr(design, s.param))}" for s in SLIDERS
             if getattr(design, s.param) != getattr(base, s.param)]
    return f"{SHARE_PREFIX}:capstone:{','.join(parts + [f'seed={design.seed}'])}"


def parse_code(code: str) -> Design:
    """The design a capstone share code describes (ValueError saying what is wrong)."""
    values = _Codes().parse(code)
    return replace(Design(), **values)


def parse_teams(entries) -> tuple[Team, ...]:
    """Teams from pasted text (one ``Team name: share code`` a line, chat prefixes such as ``[10:42] Ana:``
    ignored; blank lines and lines starting with ``#`` skipped) or from a dict {team name: share code}.
    Every problem is collected and raised as one ValueError, one line per problem, naming the line and what
    is wrong."""
    if isinstance(entries, str):
        if len(entries) > MAX_TEAMS * (MAX_CODE + MAX_NAME + 40):
            raise ValueError(f"the pasted text has {len(entries):,} characters: paste at most {MAX_TEAMS} lines "
                             "of 'Team name: share code'")
        items = [(n, text.strip()) for n, text in enumerate(entries.splitlines(), 1)
                 if text.strip() and not text.strip().startswith("#")]
        rows, problems = [], []
        for n, text in items:
            if f"{SHARE_PREFIX}:" not in text and ":" not in text.rpartition(" ")[2]:
                problems.append((n, f"line {n} ({_clip(text)!r}): no share code on this line: if it is chat text "
                                    f"(a name, a time), delete it; a team's line is 'Team name: {SHARE_PREFIX}:...'"))
                continue
            try:
                rows.append((n, *_split(text), text))
            except ValueError as exc:
                problems.append((n, f"line {n} ({_clip(text)!r}): {exc}"))
    elif isinstance(entries, Mapping):
        rows, problems = [(0, k, c, "") for k, c in entries.items()], []  # problems: (line, text)
    else:
        raise TypeError(f"entries must be text (one 'Team name: share code' a line) or a dict {{team: code}}, "
                        f"got {type(entries).__name__}")
    teams, seen = [], {}
    for n, name, code, text in rows:
        where = f"line {n} ({_clip(text)!r})" if n else f"team {name!r}"
        try:
            name = _check_name(name)
            key = " ".join(name.casefold().split())
            if key in seen:
                raise ValueError(f"the team name {name!r} is already used by {seen[key]}: give each team its own "
                                 "name")
            seen[key] = f"line {n}" if n else f"team {name!r}"
            if not isinstance(code, str):
                raise ValueError(f"the share code must be text, got {type(code).__name__}")
            design = parse_code(code)
        except ValueError as exc:
            problems.append((n, f"{where}: {exc}"))
            continue
        teams.append(Team(name, design, code.strip(), n))
    if len(rows) > MAX_TEAMS:
        problems.append((10**9, f"{len(rows)} teams: rank at most {MAX_TEAMS} at once"))
    if not rows and not problems:
        problems.append((0, "no team given: paste one line per team, e.g. 'Team Red: eda1:capstone:pay=eda,seed=1'"))
    if problems:
        raise ValueError("\n".join(text for _, text in sorted(problems, key=lambda p: p[0])))  # in line order
    return tuple(teams)


def _split(text: str) -> tuple[str, str]:
    """(team name, code) of a line: the code starts at the first 'eda1:'; the name is the text just before
    it, after anything a chat puts first ("[10:42] Ana: Team Red: eda1:..." is Team Red's line)."""
    at = text.find(f"{SHARE_PREFIX}:")
    if at < 0:  # no code of this lab's format: let the code's parser say what is wrong with it
        m = _LINE.match(text)
        if not m:
            raise ValueError("expected 'Team name: share code' (the team's name, a colon, then the code the "
                             "panel's Share button writes)")
        return m.group("name").strip(), m.group("code").strip()
    name = text[:at].rstrip().removesuffix(":").rpartition(":")[2].strip().rstrip("-–—").strip()
    if not name:
        raise ValueError("no team name: write the team's name, a colon, then its code, e.g. "
                         "'Team Red: eda1:capstone:pay=eda,seed=1'")
    return name, text[at:].strip()


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise ValueError(f"the team name must be text, got {type(name).__name__}")
    if not name.strip():
        raise ValueError("the team name is empty: write it before the colon")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ValueError(f"the team name has {len(name)} characters; use at most {MAX_NAME}")
    if ":" in name:
        raise ValueError("a team name may not contain ':'")
    return name


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"seeds must be a list of integers, got {seeds!r}")
    seeds = tuple(v.integer("seed", s, 0, SEED_MAX) for s in seeds)
    if not 1 <= len(seeds) <= MAX_SEEDS:
        raise ValueError(f"seeds must hold 1 to {MAX_SEEDS} seeds, got {len(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds!r}")
    return seeds


# =====================================================================================================
# The cross-team leaderboard
# =====================================================================================================
def team_runs(teams, seeds=SEEDS) -> dict[str, list]:
    """{team name: [its run on each seed]}, every run inside one experiment budget (cached runs are free)."""
    seeds = _check_seeds(seeds)
    teams = teams if isinstance(teams, tuple) and all(isinstance(t, Team) for t in teams) else parse_teams(teams)
    out = {}
    with budget.allowance("the cross-team leaderboard"):
        for team in teams:
            runs = []
            for seed in seeds:
                r = run_design(replace(team.design, seed=seed), SCENARIO)
                if r.result.summary["bound_hit"]:
                    run_design.cache_clear()  # a cut run must not be served from the cache again
                    raise ValueError(f"team {team.name!r}, seed {seed}: the run was stopped before the end "
                                     f"({r.result.summary['bound_reason']}); rank fewer teams or seeds")
                runs.append(r)
            out[team.name] = runs
    return out


def cross_team_leaderboard(entries, seeds=SEEDS):
    """Rank the teams' share codes; one row per team, best first.

    ``entries``: text with one ``Team name: share code`` a line (``#`` lines and blank lines skipped) or a
    dict {team name: share code}; at most MAX_TEAMS teams, distinct names. Bad lines raise one ValueError
    naming each line and what is wrong. ``seeds``: the same for every team (default 1-5; the seed in a code
    is ignored).

    The winner rule (:data:`WINNER_RULE`): teams that pass the exercise's check (at least 80 points, nobody
    charged twice, at most 5 % lost) on every seed rank first; then the higher mean rubric total over the
    seeds, to 0.1 point; then fewer lost orders over all seeds; then fewer moving parts. Teams still tied
    share the place (listed by name).

    Columns: ``place``, ``team``, ``total`` (mean over the seeds), ``ci95`` (half-width of the 95 %
    t-interval of that mean; NaN with one seed), ``lowest`` and ``highest`` (per-seed totals), ``lost %``
    (mean share of orders lost or failed), ``lost`` (orders, over all seeds), ``charged twice`` (over all
    seeds), ``moving parts``, ``seeds passed``, ``passes`` (every seed), ``totals`` (per seed, in seed
    order), ``design`` (in words) and ``code``.
    """
    import pandas as pd

    seeds = _check_seeds(seeds)
    teams = parse_teams(entries)
    runs = team_runs(teams, seeds)
    rows = []
    for team in teams:
        rs = runs[team.name]
        totals = [r.total for r in rs]
        passed = [check_design(r.design)[0] for r in rs]
        mean = statistics.fmean(totals)
        ci = T975[len(totals) - 1] * statistics.stdev(totals) / math.sqrt(len(totals)) if len(totals) > 1 else math.nan
        rows.append({"team": team.name, "total": round(mean, 1), "ci95": ci, "lowest": min(totals),
                     "highest": max(totals),
                     "lost %": 100 * statistics.fmean(r.metrics["lost_share"] for r in rs),
                     "lost": sum(r.metrics["lost"] for r in rs),
                     "charged twice": sum(r.metrics["duplicate_payments"] for r in rs),
                     "moving parts": rs[0].metrics["moving_parts"], "seeds passed": sum(passed),
                     "passes": all(passed), "totals": tuple(totals), "design": describe_design(team.design),
                     "code": team.code})
    rows.sort(key=lambda r: (*rank_key(r), r["team"].casefold()))
    place = 0
    for i, row in enumerate(rows):
        if i == 0 or rank_key(row) != rank_key(rows[i - 1]):
            place = i + 1
        row["place"] = place
    board = pd.DataFrame(rows)
    board = board[["place"] + [c for c in board.columns if c != "place"]]
    board.attrs["seeds"] = seeds
    board.attrs["rule"] = WINNER_RULE
    return board


def rank_key(row: Mapping) -> tuple:
    """The winner rule as a sort key (smaller is better): passes, mean total to 0.1, lost orders, parts."""
    return (not row["passes"], -round(row["total"], 1), row["lost"], row["moving parts"])


def winners(board) -> list[str]:
    """The team(s) in first place."""
    return list(board.loc[board["place"] == 1, "team"])


def describe_design(design: Design) -> str:
    """A design in a few words, e.g. ``"R/R: place · EDA: pay, notify, analytics · idempotent"`` plus the knobs
    that differ from the presets' (4 workers, 0.5 s timeout, 1 retry, 8 partitions)."""
    rr = [i for i in INTERACTIONS if getattr(design, i) == "rr"]
    eda = [i for i in INTERACTIONS if getattr(design, i) == "eda"]
    parts = [f"R/R: {', '.join(rr)}" if rr else "", f"EDA: {', '.join(eda)}" if eda else "",
             "idempotent" if design.idempotent else "not idempotent"]
    base = Design()
    knobs = {"workers": "{} workers", "timeout": "timeout {:g} s", "retries": "{} retries",
             "partitions": "{} partitions"}
    parts += [text.format(getattr(design, k)) for k, text in knobs.items() if getattr(design, k) != getattr(base, k)]
    return " · ".join(p for p in parts if p)


# =====================================================================================================
# Panel settings against the presets
# =====================================================================================================
def nearest_preset(design: Design) -> tuple[str, list[str]]:
    """The preset with the fewest settings different from ``design`` (seed aside; first in PRESETS order on
    a tie) and those settings' names."""
    if not isinstance(design, Design):
        raise TypeError(f"design must be a Design, got {type(design).__name__}")
    best = min(PRESETS, key=lambda n: len(changes_from(design, PRESETS[n])))
    return best, changes_from(design, PRESETS[best])


LABELS = {s.param: s.label for s in SLIDERS}


def preset_note(design: Design) -> str:
    """One sentence for the panel: which preset these settings are, or the closest one and what differs."""
    same = matching_preset(design)
    if same:
        return f"These settings are the preset '{same}': same design, same points as the leaderboard."
    name, diff = nearest_preset(design)
    preset = PRESETS[name]
    said = "; ".join(f"{LABELS[f]}: yours {_show(getattr(design, f))}, the preset's {_show(getattr(preset, f))}"
                     for f in diff)
    return (f"Not a preset. Closest: '{name}', which differs in {said}. The presets have idempotent payment on, "
            "except the naive hybrid.")


def _show(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def preset_values(name: str) -> dict:
    """The panel settings (every slider) of the preset ``name``."""
    v.choice("preset", name, PRESETS)
    return {f.name: getattr(PRESETS[name], f.name) for f in fields(Design) if f.name != "seed"}
