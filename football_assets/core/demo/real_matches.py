"""Event statistics of three real matches, so the demo's synthetic football follows real football.

The data: the three complete StatsBomb open-data matches that the ``kloppy`` package (BSD-3) ships with its
tests (``kloppy/tests/files/statsbomb*_event.json``; the event data itself is StatsBomb's free open data).
Reading the raw event JSON is simpler and faster than ``kloppy.statsbomb.load`` and needs only the event
type, period and timestamp. Everything is computed once per process.

Mapping from StatsBomb events to our ``EVENT_CLASSES`` (periods 1-4; a shoot-out, period 5, is not play):

* Goal: a Shot with outcome Goal (scored penalties included; own goals are not shots and do not count).
* Penalty: a Shot of type Penalty.
* Shot on target: a Shot with outcome Saved or Saved to Post, i.e. on target but not scored.
* Yellow card / Red card: the card of a Foul Committed or a Bad Behaviour; a second yellow is a Red card.
* Corner: a Pass of type Corner.
* Foul: a Foul Committed (one that earns a card is a Foul and a card at the same instant).
* Substitution: a Substitution.

Match time runs on: the second half starts where the first one's played time ended, so the half-time
break is neither a gap nor part of a match's duration. Events at the same instant are ordered cause
first (a Foul before its card, a Penalty before its Goal).
"""

from __future__ import annotations

import copy
import functools
import json
import random
from dataclasses import dataclass
from importlib import resources

from football_assets.core.events import EVENT_CLASSES

#: kloppy's test files with a complete match each (the lineup files are not needed).
MATCH_FILES = ("statsbomb_event.json", "statsbomb_15986_event.json", "statsbomb_3788741_event.json")
FOLLOW_S = 60.0  # a next event within this many seconds "follows" (a sequence); later, nothing followed
_CAUSE_FIRST = ("Foul", "Penalty", "Corner", "Shot on target", "Goal", "Yellow card", "Red card", "Substitution")
_CARDS = {"Yellow Card": "Yellow card", "Second Yellow": "Red card", "Red Card": "Red card"}


@dataclass(frozen=True)
class RealMatch:
    name: str  # "Home - Away"
    file: str
    minutes: float  # played time, all periods
    events: tuple[tuple[float, str, int], ...]  # (match seconds, class, period), in order


def data_dir():
    """Where kloppy keeps its test files (a Traversable inside the installed package)."""
    return resources.files("kloppy").joinpath("tests", "files")


def _seconds(timestamp: str) -> float:
    h, m, s = timestamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _classes(e: dict) -> list[str]:
    """Our classes for one StatsBomb event (none, one, or a foul/shot and what came with it)."""
    kind = e["type"]["name"]
    out = []
    if kind == "Shot":
        shot = e.get("shot", {})
        if shot.get("type", {}).get("name") == "Penalty":
            out.append("Penalty")
        outcome = shot.get("outcome", {}).get("name", "").lower()
        if outcome == "goal":
            out.append("Goal")
        elif outcome in ("saved", "saved to post"):
            out.append("Shot on target")
    elif kind == "Pass" and e.get("pass", {}).get("type", {}).get("name") == "Corner":
        out.append("Corner")
    elif kind == "Substitution":
        out.append("Substitution")
    elif kind in ("Foul Committed", "Bad Behaviour"):
        if kind == "Foul Committed":
            out.append("Foul")
        card = e.get(kind.lower().replace(" ", "_"), {}).get("card", {}).get("name")
        if card in _CARDS:
            out.append(_CARDS[card])
    return out


def _read(file: str) -> RealMatch:
    events = json.loads(data_dir().joinpath(file).read_text(encoding="utf-8"))
    events = [e for e in events if 1 <= e["period"] <= 4]
    teams = [e["team"]["name"] for e in events if e["type"]["name"] == "Starting XI"]
    played = {}  # period -> played seconds (its last timestamp: Half End)
    for e in events:
        played[e["period"]] = max(played.get(e["period"], 0.0), _seconds(e["timestamp"]))
    offset, start = {}, 0.0
    for p in sorted(played):
        offset[p], start = start, start + played[p]
    ours = sorted(((offset[e["period"]] + _seconds(e["timestamp"]), cls, e["period"]) for e in events for cls in _classes(e)),
                  key=lambda x: (x[0], _CAUSE_FIRST.index(x[1])))
    return RealMatch(" - ".join(teams[:2]), file, start / 60, tuple(ours))


@functools.lru_cache(maxsize=1)
def matches() -> tuple[RealMatch, ...]:
    return tuple(_read(f) for f in MATCH_FILES)


@functools.lru_cache(maxsize=1)
def _rates() -> dict[str, dict]:
    out = {}
    for cls in EVENT_CLASSES:
        per = {m.name: sum(c == cls for _, c, _ in m.events) * 90 / m.minutes for m in matches()}
        v = list(per.values())
        out[cls] = {"per_match": per, "mean": sum(v) / len(v), "min": min(v), "max": max(v)}
    return out


def rates_per_90() -> dict[str, dict]:
    """Per class: ``{"per_match": {match: rate}, "mean", "min", "max"}``, events per 90 minutes played."""
    return copy.deepcopy(_rates())


@functools.lru_cache(maxsize=1)
def _gaps() -> tuple[float, ...]:
    return tuple(sorted(b[0] - a[0] for m in matches() for a, b in zip(m.events, m.events[1:]) if a[2] == b[2]))


def gaps() -> tuple[float, ...]:
    """Seconds between consecutive events of our classes (within a period), all matches, ascending.
    Zero where two classes share an instant (a foul and its card)."""
    return _gaps()


@functools.lru_cache(maxsize=1)
def _transitions() -> dict:
    counts = {cls: {} for cls in EVENT_CLASSES}
    delays = {}
    for m in matches():
        for i, (t, cls, period) in enumerate(m.events):
            nxt = m.events[i + 1] if i + 1 < len(m.events) else None
            follows = nxt[1] if nxt and nxt[2] == period and nxt[0] - t <= FOLLOW_S else None
            counts[cls][follows] = counts[cls].get(follows, 0) + 1
            if follows:
                delays.setdefault((cls, follows), []).append(nxt[0] - t)
    pooled = {}
    for row in counts.values():
        for k, n in row.items():
            pooled[k] = pooled.get(k, 0) + n
    total = sum(pooled.values())
    nxt = {}
    for cls, row in counts.items():
        n = sum(row.values())
        nxt[cls] = {k: v / n for k, v in row.items()} if n else {k: v / total for k, v in pooled.items()}
    subs = [p for m in matches() for _, c, p in m.events if c == "Substitution"]
    return {"next": nxt, "observed": {cls: sum(row.values()) for cls, row in counts.items()},
            "delay_s": {k: sorted(v) for k, v in delays.items()},
            "second_half_subs": sum(p >= 2 for p in subs) / len(subs) if subs else 0.0}


def transitions() -> dict:
    """``{"next": {cls: {next class or None: p}}, "observed": {cls: n}, "delay_s": {(a, b): [s, ...]},
    "second_half_subs": share}``. ``next`` is P(the next of our events within ``FOLLOW_S`` is b | a), None
    meaning nothing followed; a class never observed gets the pooled row (what follows any event)."""
    return copy.deepcopy(_transitions())


def follow_up(cls: str, rng: random.Random) -> str | None:
    """A class that follows ``cls`` within ``FOLLOW_S`` in real matches, drawn from its transition row, or
    None (nothing followed). A two-event demo clip uses it for its second event."""
    if cls not in EVENT_CLASSES:
        raise ValueError(f"unknown event class {cls!r}; known: {', '.join(EVENT_CLASSES)}")
    row = _transitions()["next"][cls]
    keys = sorted(row, key=lambda k: (k is None, k or ""))  # a fixed order: same rng, same draw
    return rng.choices(keys, weights=[row[k] for k in keys])[0]


def summary() -> str:
    """One paragraph for the README: the real rates the demo's long match is drawn at."""
    ms, r, tr = matches(), _rates(), _transitions()
    rates = "; ".join(f"{c} {r[c]['mean']:.1f} ({r[c]['min']:.1f}-{r[c]['max']:.1f})" for c in EVENT_CLASSES)
    card = sum(p for k, p in tr["next"]["Foul"].items() if k in ("Yellow card", "Red card"))
    return (f"Event rates per 90 minutes, mean (min-max) over {len(ms)} real StatsBomb open-data matches "
            f"({', '.join(m.name for m in ms)}; {sum(m.minutes for m in ms):.0f} minutes played, bundled with kloppy): "
            f"{rates}. A card follows {card:.0%} of fouls; {tr['second_half_subs']:.0%} of substitutions are "
            f"in the second half.")
