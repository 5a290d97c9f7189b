"""Procedural synthetic football clips with ground truth: the offline demo source.

A top-down broadcast-style view: striped pitch with lines and goals, two teams of six (red and blue,
keepers in darker shades), a white ball and a black referee. Each event class has a coarse visual
signature that survives 4 fps and a few dozen pixels per side, so a tiny model can learn it:

* Goal: ball travels into a goal, the net flashes white, the scorers gather at the corner flag.
* Penalty: everyone lines up on the box edge, ball on the spot, then a shot.
* Shot on target: ball flies fast at the goal and stops in the keeper's hands.
* Yellow card / Red card: play freezes, the referee raises a large yellow / red card.
* Corner: ball in a corner, players crowd the six-yard box, then a cross.
* Foul: two players collide and one lies flat (a horizontal bar), referee runs in.
* Substitution: the fourth official's board (black with green/red lights) at the touchline,
  one player walks off, one walks on.

On top of the action, each event gets the broadcaster's lower-third graphic for as long as it lasts, as
real coverage does (goal banner, card graphic, substitution board, set-piece caption): a band across the
bottom fifth of the frame in a colour and layout of its own per class. At the tiny model's 84x112 input
the pitch-level signatures above are a few pixels across; the graphic is what makes the classes
separable for a model that small, while the action keeps the timing honest.

Descriptions name what the frames show, so reading the video can beat a class-only template: the team
colour of the player who acts, the half of the pitch (left/right, as drawn) and his shirt number, which is
drawn on him (every outfield player wears a number, 3x5 pixel digits).

Everything is seeded: the same (seed, index) always yields byte-identical frames.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

import numpy as np

from football_assets.core.events import EVENT_CLASSES, Event

GENERATOR_VERSION = "3"
WIDTH, HEIGHT = 384, 256
FPS = 25
DURATION_S = 8.0
CLIPS_PER_MATCH = 4  # consecutive demo clips share a "match" (source id): splits must keep them together

GRASS = (np.array([46, 139, 58], np.uint8), np.array([54, 154, 66], np.uint8))
WHITE = np.array([240, 240, 240], np.uint8)
RED = np.array([220, 30, 30], np.uint8)
BLUE = np.array([40, 70, 230], np.uint8)
RED_KEEPER = np.array([120, 10, 60], np.uint8)
BLUE_KEEPER = np.array([20, 200, 220], np.uint8)
REFEREE = np.array([15, 15, 15], np.uint8)
CARD_COLORS = {"Yellow card": np.array([250, 225, 20], np.uint8), "Red card": np.array([235, 0, 0], np.uint8)}

# Pitch geometry (pixels).
M = 16  # margin around the pitch
X0, X1, Y0, Y1 = M, WIDTH - M, M, HEIGHT - M
CX, CY = WIDTH // 2, HEIGHT // 2
BOX_W, BOX_H = 44, 120  # penalty box depth and height
SIX_W, SIX_H = 16, 56
GOAL_H, GOAL_D = 40, 10


def clip_key(seed: int, index: int, graphics: bool = True) -> str:
    """Stable, filesystem-safe partition key of demo clip ``index`` for ``seed`` (graphics off: another key)."""
    digest = hashlib.sha1(f"demo:{GENERATOR_VERSION}:{seed}:{index}{'' if graphics else ':nographics'}".encode()).hexdigest()[:8]
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
    graphics: bool = True  # the lower-third graphic; off, only the pitch-level action shows the event
    scene_key: str = ""  # seeds the scene (default: key), so graphics on and off draw the same play
    rosters: dict[str, list[int]] = field(default_factory=lambda: {"red": [2, 3, 4, 5, 6], "blue": [7, 8, 9, 10, 11]})
    roles: list[dict] = field(default_factory=list)  # per event: team, side, player index, shirt numbers


# --------------------------------------------------------------------------------------------
# Ground truth


_TEAMS = {"red": ["Red", "the red team", "the home side in red"], "blue": ["Blue", "the blue team", "the visitors in blue"]}
#: Every template names what the frames show: the team's colour, the shirt number drawn on the player
#: involved and, where the action has one, the half of the pitch it happens in ("left"/"right" as seen).
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
TEAM_BASE = {"red": 0, "blue": 5}  # players 0-4 wear red, 5-9 blue


def _rosters(rng: random.Random) -> dict[str, list[int]]:
    """Shirt numbers (2-11) of the five outfield players of each team in one clip."""
    return {team: rng.sample(range(2, 12), 5) for team in ("red", "blue")}


def _describe(rng: random.Random, event: str, team: str, side: str, n: int, m: int) -> str:
    return rng.choice(_TEMPLATES[event]).format(team=rng.choice(_TEAMS[team]), n=n, m=m, side=side)


def plan_clips(n_clips: int, seed: int = 0, graphics: bool = True) -> list[DemoClip]:
    """Decide every clip's events. Classes are dealt round-robin so each appears evenly;
    about 1 clip in 8 has no event and 1 in 4 has two. Each event's team, side and player (with his shirt
    number) are decided here, so the frames draw exactly what the description says."""
    rng = random.Random(f"plan:{seed}")
    deck: list[str] = []
    clips = []
    for i in range(n_clips):
        crng = random.Random(f"clip:{seed}:{i}")
        roll = crng.random()
        count = 0 if roll < 0.125 else (2 if roll < 0.375 else 1)
        rosters = _rosters(random.Random(f"roster:{seed}:{i}"))
        events: list[Event] = []
        roles: list[dict] = []
        # Event windows live on the 0.25 s (4 fps) grid so Label Studio frame ranges round-trip exactly.
        slots = [(0.5, DURATION_S - 0.5)] if count == 1 else [(0.5, DURATION_S / 2), (DURATION_S / 2 + 0.25, DURATION_S - 0.5)]
        for lo, hi in slots[:count]:
            if not deck:
                deck = list(EVENT_CLASSES)
                rng.shuffle(deck)
            cls = deck.pop()
            length = crng.choice([2.0, 2.25, 2.5, 2.75, 3.0]) if count == 1 else crng.choice([2.0, 2.25, 2.5])
            start = crng.choice(np.arange(lo, hi - length + 1e-9, 0.25).tolist())
            team, side = crng.choice(["red", "blue"]), crng.choice(["left", "right"])
            n, m = rosters[team][ROLE[cls]], crng.randint(12, 23)
            roles.append({"team": team, "side": side, "player": TEAM_BASE[team] + ROLE[cls], "number": n, "sub_number": m})
            events.append(Event(cls, round(start, 2), round(start + length, 2), _describe(crng, cls, team, side, n, m)))
        clips.append(DemoClip(clip_key(seed, i, graphics), match_id(seed, i), i, seed, events, graphics=graphics,
                              scene_key=clip_key(seed, i), rosters=rosters, roles=roles))
    return clips


def clip_at(location: str) -> DemoClip:
    """The demo clip a source location ``demo:<seed>:<index>[:nographics]`` names. Clip i's plan depends
    only on clips 0..i (the class deck is dealt in order), so planning index + 1 clips is enough."""
    _, seed, index, *flags = location.split(":")
    return plan_clips(int(index) + 1, int(seed), graphics="nographics" not in flags)[int(index)]


# --------------------------------------------------------------------------------------------
# Drawing


def _pitch() -> np.ndarray:
    img = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    stripe = WIDTH // 12
    for k in range(12):
        img[:, k * stripe:(k + 1) * stripe] = GRASS[k % 2]
    img[:, 12 * stripe:] = GRASS[0]

    def rect(x0, y0, x1, y1, c=WHITE):
        img[y0, x0:x1 + 1] = c
        img[y1, x0:x1 + 1] = c
        img[y0:y1 + 1, x0] = c
        img[y0:y1 + 1, x1] = c

    rect(X0, Y0, X1, Y1)
    img[Y0:Y1 + 1, CX] = WHITE
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    ring = np.abs(np.hypot(xx - CX, yy - CY) - 26) < 0.7
    img[ring] = WHITE
    for left in (True, False):
        bx0, bx1 = (X0, X0 + BOX_W) if left else (X1 - BOX_W, X1)
        rect(bx0, CY - BOX_H // 2, bx1, CY + BOX_H // 2)
        sx0, sx1 = (X0, X0 + SIX_W) if left else (X1 - SIX_W, X1)
        rect(sx0, CY - SIX_H // 2, sx1, CY + SIX_H // 2)
        gx0, gx1 = (X0 - GOAL_D, X0) if left else (X1, X1 + GOAL_D)
        img[CY - GOAL_H // 2:CY + GOAL_H // 2, gx0:gx1] = (90, 110, 90)
        rect(gx0, CY - GOAL_H // 2, gx1, CY + GOAL_H // 2)
    return img


_PITCH = None
_DISKS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _disk(img: np.ndarray, x: float, y: float, r: int, color) -> None:
    if r not in _DISKS:
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        inside = dx * dx + dy * dy <= r * r + r
        _DISKS[r] = (dy[inside], dx[inside])
    dy, dx = _DISKS[r]
    ys, xs = dy + int(round(y)), dx + int(round(x))
    ok = (ys >= 0) & (ys < HEIGHT) & (xs >= 0) & (xs < WIDTH)
    img[ys[ok], xs[ok]] = color


def _box(img: np.ndarray, x: float, y: float, w: int, h: int, color) -> None:
    x0, y0 = max(int(round(x - w / 2)), 0), max(int(round(y - h / 2)), 0)
    img[y0:min(y0 + h, HEIGHT), x0:min(x0 + w, WIDTH)] = color


def _lerp(a, b, t):
    t = min(max(t, 0.0), 1.0)
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


class _Scene:
    """Positions of everyone at time t: open play plus whatever event is active."""

    def __init__(self, clip: DemoClip):
        rng = np.random.default_rng(abs(hash_int(clip.scene_key or clip.key)))
        self.home = rng.uniform([X0 + 40, Y0 + 20], [X1 - 40, Y1 - 20], size=(10, 2))
        self.phase = rng.uniform(0, 2 * np.pi, size=(10, 2))
        self.speed = rng.uniform(0.4, 1.1, size=(10, 2))
        self.clip = clip
        roles = list(clip.roles) + [None] * (len(clip.events) - len(clip.roles))
        self.roles = {id(e): r or {"team": "red", "side": "left" if rng.random() < 0.5 else "right",
                                   "player": ROLE[e.event], "number": clip.rosters["red"][ROLE[e.event]], "sub_number": 12}
                      for e, r in zip(clip.events, roles)}
        self.sides = {k: r["side"] for k, r in self.roles.items()}
        # the action happens in the half of the pitch the plan (and so the description) names
        self.spots = {id(e): (float(rng.uniform(X0 + 80, CX - 10) if self.sides[id(e)] == "left" else rng.uniform(CX + 10, X1 - 80)),
                              float(rng.uniform(Y0 + 40, Y1 - 40))) for e in clip.events}
        self.numbers = [str(n) for n in clip.rosters["red"] + clip.rosters["blue"]]
        self.caption_widths = {id(e): int(rng.integers(90, 200)) for e in clip.events}

    def players(self, t: float) -> np.ndarray:
        return self.home + 18 * np.sin(self.speed * t + self.phase)

    def draw(self, t: float) -> np.ndarray:
        global _PITCH
        if _PITCH is None:
            _PITCH = _pitch()
        img = _PITCH.copy()
        pos = self.players(t)
        ball = tuple(_lerp(pos[int(t) % 10], pos[(int(t) + 3) % 10], t - int(t)))
        keepers = [(X0 + 6, CY + 10 * np.sin(t)), (X1 - 6, CY + 10 * np.cos(t))]
        ref = (CX + 30 * np.sin(0.5 * t), CY + 40 * np.cos(0.3 * t))
        overlay = []
        numbers = list(self.numbers)
        for ev in self.clip.events:
            if ev.start_time <= t < ev.end_time:
                u = (t - ev.start_time) / (ev.end_time - ev.start_time)
                ball, ref, keepers = self._event(ev, u, pos, ball, ref, keepers, overlay, img)
                role = self.roles[id(ev)]
                if ev.event == "Substitution":  # the player coming on wears the number on the board
                    numbers[(role["player"] + 4) % 10] = str(role["sub_number"])
        for i, (x, y) in enumerate(pos):
            _disk(img, x, y, 4, RED if i < 5 else BLUE)
            _number(img, x, y, numbers[i])
        _disk(img, *keepers[0], 4, RED_KEEPER)
        _disk(img, *keepers[1], 4, BLUE_KEEPER)
        _disk(img, *ref, 4, REFEREE)
        _disk(img, *ball, 2, WHITE)
        for fn in overlay:
            fn(img)
        for ev in self.clip.events if self.clip.graphics else ():
            if ev.start_time <= t < ev.end_time:
                _graphic(img, ev.event, self.caption_widths[id(ev)])
        return img

    def _event(self, ev, u, pos, ball, ref, keepers, overlay, img):
        side = self.sides[id(ev)]
        role = self.roles[id(ev)]
        me, base = role["player"], TEAM_BASE[role["team"]]  # the acting player and his team's first index
        left = side == "left"
        gx = X0 if left else X1
        inward = 1 if left else -1
        spot = self.spots[id(ev)]
        kind = ev.event
        if kind == "Goal":
            ball = _lerp((gx + inward * 90, CY - 30), (gx - inward * 5, CY + 5), u / 0.4)
            if u > 0.4:
                gx0, gx1 = (X0 - GOAL_D, X0) if left else (X1, X1 + GOAL_D)
                img[CY - GOAL_H // 2:CY + GOAL_H // 2, gx0:gx1 + 1] = WHITE if int(u * 20) % 2 == 0 else (200, 200, 200)
                corner = (gx + inward * 12, Y0 + 10)
                pos[base:base + 5] = [_lerp(p, corner, (u - 0.4) / 0.5) for p in pos[base:base + 5]]
                pos[me] = _lerp(pos[me], (corner[0] + inward * 10, corner[1] + 6), (u - 0.4) / 0.5)
        elif kind == "Penalty":
            spot_xy = (gx + inward * 34, CY)
            edge = gx + inward * (BOX_W + 8)
            pos[:] = [(edge + inward * (i % 2) * 8, Y0 + 30 + i * (Y1 - Y0 - 60) / 9) for i in range(10)]
            pos[me] = (spot_xy[0] + inward * 8, CY)
            ball = spot_xy if u < 0.6 else _lerp(spot_xy, (gx - inward * 4, CY - 12), (u - 0.6) / 0.2)
            keepers[0 if left else 1] = (gx + inward * 3, CY)
        elif kind == "Shot on target":
            keeper = (gx + inward * 8, CY + 14 * np.sin(4 * u))
            ball = _lerp((gx + inward * 150, CY + 50), keeper, u / 0.5)
            keepers[0 if left else 1] = keeper
            pos[me] = _lerp((gx + inward * 150, CY + 55), (gx + inward * 120, CY + 40), u)
        elif kind in CARD_COLORS:
            ref = (spot[0] + 8, spot[1])
            pos[:] = self.players(ev.start_time)  # play frozen
            pos[me] = (spot[0] - 10, spot[1])
            if kind == "Red card" and u > 0.5:
                pos[me] = _lerp((spot[0] - 10, spot[1]), (spot[0] - 10, Y1 + 8), (u - 0.5) / 0.5)
            card = CARD_COLORS[kind]
            overlay.append(lambda im, r=ref, c=card: _box(im, r[0] + 4, r[1] - 18, 16, 22, c))
        elif kind == "Corner":
            cy = Y0 + 2 if spot[1] < CY else Y1 - 2
            corner = (gx + inward * 2, cy)
            for i in range(8):
                pos[i] = _lerp(pos[i], (gx + inward * (10 + 6 * (i % 3)), CY - 20 + 6 * i), u / 0.3)
            ball = corner if u < 0.5 else _lerp(corner, (gx + inward * 20, CY), (u - 0.5) / 0.3)
            pos[me] = (corner[0] + inward * 5, corner[1])
        elif kind == "Foul":
            victim, culprit = me, (5 - base) + 2  # a player of the other team brings him down
            pos[victim] = spot
            pos[culprit] = (spot[0] + 6, spot[1] - 3)
            ref = _lerp(ref, (spot[0] - 20, spot[1] - 10), u / 0.5)
            ball = (spot[0] + 14, spot[1] + 6)
            overlay.append(lambda im, s=spot: _box(im, s[0], s[1] + 6, 20, 5, RED))
        elif kind == "Substitution":
            board = (CX, Y1 + 8)
            pos[me] = _lerp((CX - 30, Y1 - 30), (CX - 8, Y1 + 6), u)
            pos[(me + 4) % 10] = _lerp((CX + 8, Y1 + 8), (CX + 30, Y1 - 30), u)

            def draw_board(im, b=board):
                _box(im, b[0], b[1] - 4, 26, 18, (10, 10, 10))
                _box(im, b[0] - 6, b[1] - 4, 8, 10, (30, 240, 60))
                _box(im, b[0] + 6, b[1] - 4, 8, 10, (240, 40, 40))
            overlay.append(draw_board)
        return ball, ref, keepers


#: Lower-third graphic per class: (band colour, icon colour or None). Icons sit on the left of the band;
#: a dark caption block (the player's name) follows with a width that varies per event.
GRAPHICS = {
    "Goal": ((250, 200, 0), (255, 255, 255)),
    "Penalty": ((130, 20, 190), (255, 255, 255)),
    "Shot on target": ((250, 110, 0), None),
    "Yellow card": ((235, 235, 235), (250, 225, 20)),
    "Red card": ((235, 235, 235), (235, 0, 0)),
    "Corner": ((0, 190, 230), None),
    "Foul": ((230, 0, 140), None),
    "Substitution": ((10, 10, 10), (30, 240, 60)),
}
BAND_Y0, BAND_Y1 = HEIGHT - 64, HEIGHT - 12


def _graphic(img: np.ndarray, event: str, caption_width: int) -> None:
    band, icon = GRAPHICS[event]
    img[BAND_Y0:BAND_Y1, 24:WIDTH - 24] = band
    if icon is not None:  # a card, a ball, the board's "in" light: 36 px square on the left
        img[BAND_Y0 + 8:BAND_Y1 - 8, 32:68] = icon
    if event == "Substitution":  # the board's "out" light next to the "in" one
        img[BAND_Y0 + 8:BAND_Y1 - 8, 76:112] = (240, 40, 40)
    x0 = 124
    img[BAND_Y0 + 18:BAND_Y1 - 18, x0:x0 + caption_width] = (25, 25, 45) if event != "Substitution" else (220, 220, 220)


#: 3x5 pixel digits for the shirt numbers (rows top to bottom, "1" = lit).
_DIGITS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
}


def _number(img: np.ndarray, x: float, y: float, text: str) -> None:
    """Draw a shirt number (white 3x5 digits, 1 px apart) centred on a player at (x, y)."""
    w = 4 * len(text) - 1
    x0, y0 = int(round(x)) - w // 2, int(round(y)) - 2
    for k, ch in enumerate(text):
        for r, row in enumerate(_DIGITS[ch]):
            for c, lit in enumerate(row):
                yy, xx = y0 + r, x0 + 4 * k + c
                if lit == "1" and 0 <= yy < HEIGHT and 0 <= xx < WIDTH:
                    img[yy, xx] = WHITE


def hash_int(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)


def render_frames(clip: DemoClip):
    """Yield the clip's RGB frames (HEIGHT x WIDTH x 3, uint8) at ``clip.fps``."""
    scene = _Scene(clip)
    for f in range(int(round(clip.duration * clip.fps))):
        yield scene.draw(f / clip.fps)
