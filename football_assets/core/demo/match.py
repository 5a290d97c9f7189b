"""A long synthetic match: one continuous N-minute demo video with events at real per-90-minute rates.

The long-video benchmark for the spotter and the cascade: the same pitch, players and event signatures
as the 8 s demo clips (``generator.py`` draws it), but one video of any length in which events are a
Poisson process at about the rates of professional football. ``annotation/demo_labels.py`` writes it to
disk with its ground truth as a Label Studio JSON export (one task, one annotation). A match's seed is its
own: a held-out match uses a seed no training clip was planned with.
"""

from __future__ import annotations

import random

import numpy as np

from football_assets.core.demo import generator
from football_assets.core.events import EVENT_CLASSES, TARGET_FPS, Event

#: Events per 90 minutes (top-flight averages, rounded).
RATES_PER_90: dict[str, float] = {"Goal": 2.7, "Shot on target": 9.0, "Corner": 10.0, "Foul": 22.0, "Yellow card": 4.0,
                                  "Red card": 0.15, "Penalty": 0.3, "Substitution": 9.0}
GAP_S = 2.0  # at least this much open play between two events


def match_key(seed: int, minutes: float, graphics: bool = True) -> str:
    return f"match-s{seed}-{minutes:g}m" + ("" if graphics else "-nographics")


def plan_match(minutes: float, seed: int, rates: dict[str, float] | None = None, graphics: bool = True) -> generator.DemoClip:
    """The match's events: per class a Poisson count at ``rates`` (per 90 min), uniform times on the 4 fps
    grid, 2-3 s long, never overlapping another event (a draw that would is redrawn)."""
    if minutes <= 0:
        raise ValueError(f"match length must be > 0 minutes, got {minutes}")
    rates = RATES_PER_90 if rates is None else rates
    unknown = sorted(set(rates) - set(EVENT_CLASSES))
    if unknown:
        raise ValueError(f"unknown event class(es) in rates: {unknown}; known: {', '.join(EVENT_CLASSES)}")
    rng = np.random.default_rng(seed)
    trng = random.Random(f"match:{seed}")
    duration = round(minutes * 60 * TARGET_FPS) / TARGET_FPS
    rosters = generator._rosters(random.Random(f"match-roster:{seed}"))
    taken: list[tuple[float, float]] = []
    events: list[Event] = []
    roles: list[dict] = []
    for cls in EVENT_CLASSES:
        for _ in range(int(rng.poisson(rates.get(cls, 0.0) * minutes / 90))):
            for _attempt in range(100):
                length = float(rng.choice([2.0, 2.25, 2.5, 2.75, 3.0]))
                start = float(rng.integers(2, max(3, int((duration - length - 1) * TARGET_FPS)))) / TARGET_FPS
                if all(start + length + GAP_S <= a or b + GAP_S <= start for a, b in taken):
                    break
            else:
                continue  # the match is too full for another event: fewer than drawn
            taken.append((start, start + length))
            team, side = trng.choice(["red", "blue"]), trng.choice(["left", "right"])
            n, m = rosters[team][generator.ROLE[cls]], trng.randint(12, 23)
            roles.append({"team": team, "side": side, "player": generator.TEAM_BASE[team] + generator.ROLE[cls],
                          "number": n, "sub_number": m})
            events.append(Event(cls, start, start + length, generator._describe(trng, cls, team, side, n, m)))
    order = sorted(range(len(events)), key=lambda i: events[i].start_time)
    return generator.DemoClip(match_key(seed, minutes, graphics), f"demo-match-s{seed}", 0, seed,
                              [events[i] for i in order], duration=duration, fps=TARGET_FPS, graphics=graphics,
                              scene_key=match_key(seed, minutes), rosters=rosters, roles=[roles[i] for i in order])
