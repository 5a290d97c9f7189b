"""Procedural synthetic football as a broadcast shows it, with ground truth: the offline demo source.

Version 4 draws what a main broadcast camera sees (``scene.py`` and ``broadcast.py`` draw it): a pitch in
perspective from an elevated camera on the halfway line that pans and zooms to follow the ball, a stand of
crowd above it, lighting and two kits drawn per match, figures with shirt numbers, a score bug with the
clock and a score that changes after a goal, sensor noise (and the encoder's compression). After a goal the
director cuts to a close-up of the scorer and a replay from behind the goal; after a card, to a close-up of
the referee holding it up. Captions come only where real coverage shows them: after goals, cards and
substitutions, delayed, for a fixed 3 s, and never around the event itself. So nothing on screen bounds an
event exactly; each class has to be read from the play:

* Goal: a run and a shot into the net, the keeper beaten, the scorer's team running to the corner flag.
* Penalty: everyone outside the box, one player and the ball on the spot, the keeper on his line.
* Shot on target: a shot from outside the box, the keeper diving to hold it.
* Yellow card / Red card: play stops, players gather, the referee holds a card up; a red card's player
  walks off towards the near touchline.
* Corner: the ball at a corner flag, players crowded in the six-yard box, a cross in the air.
* Foul: two players collide, one goes down, the referee runs in.
* Substitution: the fourth official's board (number off in red, number on in green) at the halfway line,
  one player walks off, one comes on.

Descriptions name what the frames show: the acting team by its kit colour, the end of the pitch
(left/right as the main camera sees it) and the shirt number, readable in the close-ups.
Matches are shaped by real ones: a clip's second event follows the first as events follow one another in
three real StatsBomb matches (``real_matches.py``).

Everything is seeded: the same (seed, index) always yields byte-identical frames.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

import numpy as np

from football_assets.core.demo import broadcast as bc
from football_assets.core.demo import real_matches
from football_assets.core.events import EVENT_CLASSES, Event

GENERATOR_VERSION = "4"
WIDTH, HEIGHT = bc.WIDTH, bc.HEIGHT
FPS = 25
DURATION_S = 8.0
CLIPS_PER_MATCH = 4  # consecutive demo clips share a "match" (source id): splits must keep them together
#: Clips a demo video is encoded at: a broadcast stream's compression, not a lossless master.
ENCODE_CRF = 28

TEAMS = ("home", "away")
OUTFIELD = 8  # outfield players per team; rosters list their shirt numbers
TEAM_BASE = {"home": 0, "away": OUTFIELD}  # players 0-7 are the home team's, 8-15 the away team's
#: Kits by the colour a commentator would name (no green: the grass).
KITS: dict[str, tuple[int, int, int]] = {
    "red": (205, 30, 35), "blue": (30, 60, 205), "white": (238, 238, 238), "yellow": (245, 215, 30),
    "sky blue": (110, 180, 235), "black": (28, 28, 30), "orange": (245, 125, 20), "purple": (115, 45, 160),
    "claret": (120, 25, 55),
}
DEFAULT_KITS = {"home": "red", "away": "blue"}
#: Classes the director follows with a cut (close-up, and a replay after a goal).
AFTERMATH = {"Goal": 4.25, "Yellow card": 1.75, "Red card": 1.75}
#: When the caption appears after the event ends, for the classes broadcasters caption; it stays 3 s.
CAPTION_DELAY = {"Goal": 4.25, "Yellow card": 0.5, "Red card": 0.5, "Substitution": 0.75}
CAPTION_S = 3.0


def clip_key(seed: int, index: int, graphics: bool = True, cue: bool = False) -> str:
    """Stable, filesystem-safe partition key of demo clip ``index`` for ``seed`` (graphics off or a cue: another key)."""
    flags = ("" if graphics else ":nographics") + (":cue" if cue else "")
    digest = hashlib.sha1(f"demo:{GENERATOR_VERSION}:{seed}:{index}{flags}".encode()).hexdigest()[:8]
    return f"demo-{index:03d}-{digest}"


def match_id(seed: int, index: int) -> str:
    """The demo 'match' (source video) a clip belongs to; several clips share one."""
    return f"demo-s{seed}-match{index // CLIPS_PER_MATCH:03d}"


@dataclass
class DemoClip:
    key: str
    source_id: str
    index: int
    seed: int
    events: list[Event] = field(default_factory=list)
    duration: float = DURATION_S
    fps: int = FPS
    graphics: bool = True  # the broadcaster's captions after events; off, only the play and the score bug
    scene_key: str = ""  # seeds the scene (default: key), so graphics on and off draw the same play
    rosters: dict[str, list[int]] = field(default_factory=lambda: {"home": list(range(2, 10)), "away": list(range(2, 10))})
    roles: list[dict] = field(default_factory=list)  # per event: team, side, player index, shirt numbers
    kits: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KITS))
    #: Test worlds only: a band in the class's colour across the bottom while each event lasts (version 3's
    #: shortcut), so a model trained on a handful of clips fires; tests of plumbing, not of quality, use it.
    cue: bool = False
    clock_start: float = 0.0  # the match clock at the clip's first frame, seconds
    score: tuple[int, int] = (0, 0)  # the score at the clip's first frame


# --------------------------------------------------------------------------------------------
# Ground truth


def _team_names(team: str, colour: str) -> list[str]:
    return [colour.capitalize(), f"the {colour} team", f"the home side in {colour}" if team == "home" else f"the visitors in {colour}"]


_TEMPLATES: dict[str, list[str]] = {
    "Goal": [
        "{team}'s number {n} fires into the {side} goal and the players celebrate at the corner flag.",
        "Goal! {team} score in the {side} goal through number {n}, the ball nestles in the net.",
        "Number {n} finishes calmly past the keeper at the {side} end to put {team} ahead.",
    ],
    "Penalty": [
        "A penalty for {team} at the {side} end: number {n} steps up while the others wait on the edge of the box.",
        "{team} take a spot kick at the {side} end, number {n} shooting.",
        "Penalty kick on the {side}: everyone lines up outside the area as {team}'s number {n} strikes it.",
    ],
    "Shot on target": [
        "Number {n} of {team} shoots at the {side} goal and the keeper gathers it.",
        "A powerful effort by {team}'s number {n} is held by the goalkeeper at the {side} end.",
        "{team}'s number {n} tests the keeper with a low shot at the {side} goal, saved.",
    ],
    "Yellow card": [
        "The referee shows a yellow card to {team}'s number {n} in the {side} half.",
        "Number {n} of {team} is booked with a yellow card in the {side} half.",
        "Caution in the {side} half: a yellow card for {team} after a late challenge by number {n}.",
    ],
    "Red card": [
        "The referee sends off {team}'s number {n} with a straight red card in the {side} half.",
        "Red card! Number {n} of {team} has to leave the pitch from the {side} half.",
        "{team} are down to ten men: number {n} is shown a red card in the {side} half.",
    ],
    "Corner": [
        "{team} take a corner from the {side} side and number {n} swings it into the box.",
        "Corner kick for {team} on the {side}; number {n} delivers it into a crowded area.",
        "The ball goes out for a corner on the {side} and {team}'s number {n} loads the six-yard box.",
    ],
    "Foul": [
        "Number {n} of {team} is brought down in the {side} half and the referee blows for a foul.",
        "A clumsy challenge in the {side} half sends {team}'s number {n} to the ground: free kick.",
        "Foul on number {n} in the {side} half; the referee runs over as {team} appeal.",
    ],
    "Substitution": [
        "Substitution for {team}: number {n} comes off and number {m} comes on.",
        "The fourth official raises the board, {team} bring on number {m} for number {n}.",
        "{team} make a change at the halfway line, number {n} replaced by number {m}.",
    ],
}

#: Which outfield player (0-4 within his team) acts in each class; the scene moves exactly that player
#: and the description names his shirt number.
ROLE = {"Goal": 0, "Penalty": 4, "Shot on target": 2, "Yellow card": 3, "Red card": 3, "Corner": 4, "Foul": 1,
        "Substitution": 0}


def _rosters(rng: random.Random) -> dict[str, list[int]]:
    """Shirt numbers (2-11) of the outfield players of each team in one clip."""
    return {team: rng.sample(range(2, 12), OUTFIELD) for team in TEAMS}


def _kits(seed: int, match: int) -> dict[str, str]:
    """Two kits per match that a viewer tells apart (never two light or two dark ones)."""
    rng = random.Random(f"kits:{seed}:{match}")
    while True:
        home, away = rng.sample(sorted(KITS), 2)
        if abs(sum(KITS[home]) - sum(KITS[away])) > 120 or np.abs(np.subtract(KITS[home], KITS[away])).max() > 150:
            return {"home": home, "away": away}


def _describe(rng: random.Random, event: str, team: str, side: str, n: int, m: int, kits: dict[str, str] | None = None) -> str:
    colour = (kits or DEFAULT_KITS)[team]
    return rng.choice(_TEMPLATES[event]).format(team=rng.choice(_team_names(team, colour)), n=n, m=m, side=side)


def plan_clips(n_clips: int, seed: int = 0, graphics: bool = True, cue: bool = False) -> list[DemoClip]:
    """Decide every clip's events. First events are dealt round-robin so each class appears evenly; about
    1 clip in 8 has no event and 1 in 4 has two, the second drawn as real matches follow the first (a card
    after a foul, a shot after a corner) or else from the deck. A goal or a card, which the director follows
    with a close-up, ends a clip's events. Each event's team, side and player are decided here, so the
    frames draw exactly what the description says."""
    rng = random.Random(f"plan:{seed}")
    deck: list[str] = []
    clips = []

    def deal() -> str:
        if not deck:
            deck.extend(EVENT_CLASSES)
            rng.shuffle(deck)
        return deck.pop()

    for i in range(n_clips):
        crng = random.Random(f"clip:{seed}:{i}")
        roll = crng.random()
        count = 0 if roll < 0.125 else (2 if roll < 0.375 else 1)
        rosters = _rosters(random.Random(f"roster:{seed}:{i}"))
        kits = _kits(seed, i // CLIPS_PER_MATCH)
        classes = [deal()] if count else []
        if count == 2 and classes[0] not in AFTERMATH:
            follow = real_matches.follow_up(classes[0], crng) or deal()
            classes.append(follow if follow != classes[0] else deal())  # a clip never holds one class twice
        # Event windows live on the 0.25 s (4 fps) grid so Label Studio frame ranges round-trip exactly.
        slots = [(0.5, DURATION_S - 0.5)] if len(classes) == 1 else [(0.5, DURATION_S / 2), (DURATION_S / 2 + 0.25, DURATION_S - 0.5)]
        events: list[Event] = []
        roles: list[dict] = []
        for (lo, hi), cls in zip(slots, classes):
            length = crng.choice([2.0, 2.25, 2.5, 2.75, 3.0]) if len(classes) == 1 else crng.choice([2.0, 2.25, 2.5])
            start = crng.choice(np.arange(lo, hi - length + 1e-9, 0.25).tolist())
            team, side = crng.choice(TEAMS), crng.choice(["left", "right"])
            if roles and cls in ("Yellow card", "Red card") and events[-1].event == "Foul":
                team, side = TEAMS[1 - TEAMS.index(roles[-1]["team"])], roles[-1]["side"]  # the fouler is booked
            n, m = rosters[team][ROLE[cls]], crng.randint(12, 23)
            roles.append({"team": team, "side": side, "player": TEAM_BASE[team] + ROLE[cls], "number": n, "sub_number": m})
            events.append(Event(cls, round(start, 2), round(start + length, 2), _describe(crng, cls, team, side, n, m, kits)))
        clips.append(DemoClip(clip_key(seed, i, graphics, cue), match_id(seed, i), i, seed, events, graphics=graphics,
                              scene_key=clip_key(seed, i), rosters=rosters, roles=roles, kits=kits, cue=cue,
                              clock_start=float(crng.randint(60, 88 * 60)),
                              score=(crng.choice([0, 0, 1, 1, 2, 3]), crng.choice([0, 0, 1, 1, 2]))))
    return clips


def clip_at(location: str) -> DemoClip:
    """The demo clip a source location ``demo:<seed>:<index>[:nographics][:cue]`` names. Clip i's plan depends
    only on clips 0..i (the class deck is dealt in order), so planning index + 1 clips is enough."""
    _, seed, index, *flags = location.split(":")
    return plan_clips(int(index) + 1, int(seed), graphics="nographics" not in flags, cue="cue" in flags)[int(index)]


def hash_int(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)
