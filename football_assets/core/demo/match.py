"""A long synthetic match: one continuous N-minute demo video whose events follow real football statistics.

The long-video benchmark for the spotter and the cascade: the same pitch, players and event signatures
as the 8 s demo clips (``generator.py`` draws it), but one video of any length whose events are a marked
point process drawn from three real matches (``real_matches.py``): per class a Poisson count at the real
per-90-minute rate, substitutions in the second half as often as there, a card a few seconds after a
foul and a shot after a corner as often as there, and after a goal a kick-off pause with no event.
``annotation/demo_labels.py`` writes it to disk with its ground truth as a Label Studio JSON export (one
task, one annotation). A match's seed is its own: a held-out match uses a seed no training clip was
planned with.
"""

from __future__ import annotations

import math
import random

import numpy as np

from football_assets.core.demo import generator, real_matches
from football_assets.core.events import EVENT_CLASSES, TARGET_FPS, Event

GAP_S = 2.0  # at least this much open play between two events
KICKOFF_S = 30.0  # after a goal, at least this long without an event: celebration and kick-off
#: The sequences kept: what may follow a class at once (drawn with ``real_matches.follow_up``).
SEQUENCES = {"Foul": ("Yellow card", "Red card"), "Corner": ("Shot on target", "Goal")}
LENGTHS = (2.0, 2.25, 2.5, 2.75, 3.0)


def match_key(seed: int, minutes: float, graphics: bool = True) -> str:
    return f"match-s{seed}-{minutes:g}m" + ("" if graphics else "-nographics")


def _grid(t: float) -> float:
    return math.ceil(t * TARGET_FPS - 1e-9) / TARGET_FPS


def _units(counts: dict[str, int], rng: np.random.Generator, srng: random.Random) -> list[list[tuple[float, float, str]]]:
    """The drawn events grouped into units placed as one: (offset, length, class) each. A Foul or Corner
    takes one of the drawn events that really follows it (``SEQUENCES``) with the real probability, as far
    as the drawn counts go, so sequences never change how many events of a class a match has."""
    pool = dict(counts)
    delays = real_matches.transitions()["delay_s"]
    units = []
    for cls in [*SEQUENCES, *(c for c in EVENT_CLASSES if c not in SEQUENCES)]:  # leaders first, then what is left
        for _ in range(counts[cls]):
            if pool[cls] <= 0:
                continue  # taken as another event's follow-up
            pool[cls] -= 1
            length = float(rng.choice(LENGTHS))
            unit = [(0.0, length, cls)]
            nxt = real_matches.follow_up(cls, srng) if cls in SEQUENCES else None
            if nxt in SEQUENCES.get(cls, ()) and pool[nxt] > 0:
                pool[nxt] -= 1
                real = srng.choice(delays.get((cls, nxt), [0.0]))  # start to start, seconds (a card: 0, same instant)
                start = _grid(max(length + GAP_S, real)) + srng.randint(0, 8) / TARGET_FPS
                unit.append((start, float(rng.choice(LENGTHS)), nxt))
            units.append(unit)
    return units


def plan_match(minutes: float, seed: int, rates: dict[str, float] | None = None, graphics: bool = True) -> generator.DemoClip:
    """The match's events. Per class a Poisson count at ``rates`` (per 90 min; default: the real matches'
    means, ``real_matches.rates_per_90``), 2-3 s long on the 4 fps grid, never overlapping, ``GAP_S`` apart
    and ``KICKOFF_S`` clear after a goal; a unit that finds no room in 100 draws is left out."""
    if minutes <= 0:
        raise ValueError(f"match length must be > 0 minutes, got {minutes}")
    if rates is None:
        rates = {cls: v["mean"] for cls, v in real_matches.rates_per_90().items()}
    unknown = sorted(set(rates) - set(EVENT_CLASSES))
    if unknown:
        raise ValueError(f"unknown event class(es) in rates: {unknown}; known: {', '.join(EVENT_CLASSES)}")
    negative = sorted(cls for cls, r in rates.items() if not r >= 0)
    if negative:
        raise ValueError(f"rates must be >= 0 events per 90 minutes: {negative}")
    rng = np.random.default_rng(seed)
    srng = random.Random(f"match-seq:{seed}")
    trng = random.Random(f"match:{seed}")
    duration = round(minutes * 60 * TARGET_FPS) / TARGET_FPS
    second_half = real_matches.transitions()["second_half_subs"]
    counts = {cls: int(rng.poisson(rates.get(cls, 0.0) * minutes / 90)) for cls in EVENT_CLASSES}
    taken: list[tuple[float, float]] = []  # a goal's span reaches to its kick-off pause's end
    placed: list[tuple[float, float, str, int]] = []  # start, end, class, its unit
    for u, unit in enumerate(_units(counts, rng, srng)):
        span = max(o + n for o, n, _ in unit)
        low = 2
        if unit[0][2] == "Substitution" and srng.random() < second_half:
            low = max(low, math.ceil(duration / 2 * TARGET_FPS))
        high = max(low + 1, int((duration - span - 1) * TARGET_FPS))
        for _attempt in range(100):
            start = float(rng.integers(low, high)) / TARGET_FPS
            spans = [(start + o, start + o + n + (KICKOFF_S - GAP_S if c == "Goal" else 0.0)) for o, n, c in unit]
            if start + span <= duration and all(e + GAP_S <= a or b + GAP_S <= s for s, e in spans for a, b in taken):
                break
        else:
            continue  # the match is too full for this unit: fewer events than drawn
        taken += spans
        placed += [(start + o, start + o + n, c, u) for o, n, c in unit]
    rosters = generator._rosters(random.Random(f"match-roster:{seed}"))
    events: list[Event] = []
    roles: list[dict] = []
    where: dict[int, tuple[str, str]] = {}  # a follow-up is by its unit's first team, in its half (its corner, its foul)
    for start, end, cls, u in sorted(placed):
        team, side = where.setdefault(u, (trng.choice(generator.TEAMS), trng.choice(["left", "right"])))
        if cls in ("Yellow card", "Red card") and any(p[3] == u and p[2] == "Foul" for p in placed):
            team = generator.TEAMS[1 - generator.TEAMS.index(team)]  # the fouler is booked, not the fouled
        n, m = rosters[team][generator.ROLE[cls]], trng.randint(12, 23)
        roles.append({"team": team, "side": side, "player": generator.TEAM_BASE[team] + generator.ROLE[cls],
                      "number": n, "sub_number": m})
        events.append(Event(cls, start, end, generator._describe(trng, cls, team, side, n, m)))
    return generator.DemoClip(match_key(seed, minutes, graphics), f"demo-match-s{seed}", 0, seed, events,
                              duration=duration, fps=TARGET_FPS, graphics=graphics, scene_key=match_key(seed, minutes),
                              rosters=rosters, roles=roles)
