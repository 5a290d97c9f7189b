"""Drawing the demo as a broadcast: one perspective camera, a pitch in metres, figures, and the graphics.

Everything lives in pitch coordinates (metres): x along the touchlines 0..105 (left goal at x=0), y away
from the main camera 0..68 (near touchline at y=0), z up. A ``Camera`` is a pinhole at a position looking at
a point; every pixel's ray is cast onto the ground plane and reads a per-match pitch texture (stripes,
lines, lighting, a stand's shadow); rays that miss the pitch read the crowd by their direction. Figures are
drawn as upright boxes scaled by their distance, so the same code gives the wide shot (players ~20 px tall,
numbers barely readable), the close-up (a player fills the frame, his number is large) and the replay (a low
camera behind the goal). Pure numpy; about 4 ms a frame at 384x256.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

WIDTH, HEIGHT = 384, 256
PITCH_X, PITCH_Y = 105.0, 68.0
GOAL_Y0, GOAL_Y1 = 34 - 3.66, 34 + 3.66
TEX_PX = 8  # texels per metre
TEX_X0, TEX_Y0, TEX_X1, TEX_Y1 = -8.0, -6.0, 113.0, 72.0  # the texture covers the pitch and its surrounds
BASE_FOCAL = (WIDTH / 2) / np.tan(np.radians(26))  # ~52 degrees across at zoom 1
MAIN_CAMERA = (52.5, -26.0, 21.0)  # elevated, on the halfway line behind the near touchline

#: The background is cast at half resolution (one ray per 2x2 block, ~4x faster) and scaled up: the
#: pitch texture is coarser than a pixel anyway, and figures are drawn at full resolution on top.
_U, _V = np.meshgrid(np.arange(0, WIDTH, 2, dtype=np.float32) - WIDTH / 2 + 1.0,
                     np.arange(0, HEIGHT, 2, dtype=np.float32) - HEIGHT / 2 + 1.0)


@dataclass(frozen=True)
class Camera:
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    zoom: float = 1.0

    @cached_property
    def _basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        c = np.asarray(self.position, np.float64)
        fwd = np.asarray(self.target, np.float64) - c
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, (0.0, 0.0, 1.0))
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return c, np.stack([right, down, fwd]), fwd, BASE_FOCAL * self.zoom

    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Position, rotation (rows: right, down, forward), forward, focal length in pixels."""
        return self._basis

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixel x, pixel y, depth (depth <= 0: behind the camera)."""
        c, rot, _, f = self.basis()
        pc = (np.asarray(pts, np.float64) - c) @ rot.T
        z = np.maximum(pc[:, 2], 1e-3)
        return pc[:, 0] / z * f + WIDTH / 2, pc[:, 1] / z * f + HEIGHT / 2, pc[:, 2]


@dataclass(frozen=True)
class Look:
    """What one match looks like: kits, grass, light. Drawn per match so two matches never share a palette."""

    home: tuple[int, int, int]
    home_shorts: tuple[int, int, int]
    away: tuple[int, int, int]
    away_shorts: tuple[int, int, int]
    grass: tuple[int, int, int]
    gain: float  # overall brightness (floodlights vs daylight)
    tint: tuple[float, float, float]
    shadow: tuple[float, float, float]  # a stand's shadow: ground with a*x + b*y > c is darker
    crowd_seed: int


@lru_cache(maxsize=8)
def pitch_texture(look: Look) -> np.ndarray:
    """The ground seen from above at TEX_PX texels per metre, lit for this match (H x W x 3 uint8)."""
    w, h = int((TEX_X1 - TEX_X0) * TEX_PX), int((TEX_Y1 - TEX_Y0) * TEX_PX)
    xs = TEX_X0 + (np.arange(w) + 0.5) / TEX_PX
    ys = TEX_Y0 + (np.arange(h) + 0.5) / TEX_PX
    x, y = np.meshgrid(xs, ys)
    grass = np.asarray(look.grass, np.float32)
    stripe = ((np.floor(x / 5.25) % 2) * 2 - 1)[..., None]
    img = grass + stripe * np.float32(9)
    outside = (x < -2) | (x > PITCH_X + 2) | (y < -3) | (y > PITCH_Y + 2)
    img[outside] = grass * 0.75
    lw = 0.14  # line half-width in metres (two texels: thin lines vanish at distance, as on TV)

    def line(mask):
        img[mask] = (235, 235, 235)

    on_x = (x >= 0) & (x <= PITCH_X)
    on_y = (y >= 0) & (y <= PITCH_Y)
    line((np.abs(y) < lw) & on_x | (np.abs(y - PITCH_Y) < lw) & on_x)
    line((np.abs(x) < lw) & on_y | (np.abs(x - PITCH_X) < lw) & on_y | (np.abs(x - 52.5) < lw) & on_y)
    r = np.hypot(x - 52.5, y - 34)
    line(np.abs(r - 9.15) < lw)
    for gx, inward in ((0.0, 1.0), (PITCH_X, -1.0)):
        d = (x - gx) * inward
        for depth, half in ((16.5, 20.16), (5.5, 9.16)):
            line((np.abs(d - depth) < lw) & (np.abs(y - 34) <= half))
            line((np.abs(np.abs(y - 34) - half) < lw) & (d >= 0) & (d <= depth))
        rs = np.hypot(x - (gx + inward * 11), y - 34)
        line((np.abs(rs - 9.15) < lw) & (d > 16.5))
        line(rs < 0.2)
        # the goal seen from above: its frame and net behind the line
        line((d > -2.0) & (d < 0) & ((np.abs(y - GOAL_Y0) < lw) | (np.abs(y - GOAL_Y1) < lw)))
        img[(d > -2.0) & (d < -lw) & (y > GOAL_Y0 + lw) & (y < GOAL_Y1 - lw)] = grass * 0.85 + 30
    a, b, c = look.shadow
    img[(a * x + b * y) > c] *= 0.72
    img = img * look.gain * np.asarray(look.tint, np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def crowd_texture(seed: int) -> np.ndarray:
    """The stands as seen by direction: (elevation rows, azimuth columns) of spectator-coloured dots."""
    rng = np.random.default_rng(seed)
    rows, cols = 192, 2048
    palette = rng.integers(40, 230, size=(12, 3))
    img = palette[rng.integers(0, 12, size=(rows, cols))].astype(np.float32)
    img *= np.linspace(0.55, 1.0, rows)[:, None, None]  # darker high up under the roof
    img[:10] = (60, 60, 70)  # advertising boards along the bottom of the stand
    img[:10, ::90] = (220, 220, 240)
    return img.astype(np.uint8)


def background(cam: Camera, look: Look) -> np.ndarray:
    """The ground and stands through ``cam``: every pixel's ray hits the pitch texture or the crowd."""
    c, rot, _, f = cam.basis()
    r = (rot / f).astype(np.float32)  # rays for pixel offsets (u, v): r[0] * u + r[1] * v + rot[2] * f
    dx = _U * r[0, 0] + _V * r[1, 0] + np.float32(rot[2, 0])
    dy = _U * r[0, 1] + _V * r[1, 1] + np.float32(rot[2, 1])
    dz = _U * r[0, 2] + _V * r[1, 2] + np.float32(rot[2, 2])
    tex = pitch_texture(look)
    th, tw = tex.shape[:2]
    t = np.float32(-c[2]) / np.minimum(dz, np.float32(-1e-4))
    gx = ((t * dx + np.float32(c[0] - TEX_X0)) * TEX_PX).astype(np.int32)
    gy = ((t * dy + np.float32(c[1] - TEX_Y0)) * TEX_PX).astype(np.int32)
    hit = (dz < -1e-4) & (gx >= 0) & (gx < tw) & (gy >= 0) & (gy < th)
    idx = np.clip(gy, 0, th - 1) * tw + np.clip(gx, 0, tw - 1)
    out = tex.reshape(-1, 3)[idx.ravel()].reshape(HEIGHT // 2, WIDTH // 2, 3)
    miss = ~hit
    if miss.any():  # the crowd, by the ray's direction
        crowd = crowd_texture(look.crowd_seed)
        ch, cw = crowd.shape[:2]
        mx, my, mz = dx[miss], dy[miss], dz[miss]
        az = np.arctan2(mx, my)
        el = np.arctan2(mz, np.hypot(mx, my))
        col = ((az / np.pi + 1) * cw / 2).astype(np.int32) % cw
        row = np.clip(((el + 0.45) / 0.75 * ch).astype(np.int32), 0, ch - 1)
        px = crowd[row, col].astype(np.float32) * look.gain
        px[el > 0.3] = (25, 25, 32)  # the roof
        out[miss] = np.clip(px, 0, 255).astype(np.uint8)
    return out.repeat(2, axis=0).repeat(2, axis=1)


# --------------------------------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """A person (or the ball) in pitch coordinates; ``lying`` draws him on the ground."""

    x: float
    y: float
    shirt: tuple[int, int, int]
    shorts: tuple[int, int, int] = (240, 240, 240)
    number: str = ""
    lying: bool = False
    arm_up: tuple[int, int, int] | None = None  # a raised hand holding something of this colour (a card)
    board: tuple[str, str] | None = None  # the fourth official's board: (number off, number on)
    height: float = 1.8


SKIN = (205, 160, 125)


def draw_figures(img: np.ndarray, cam: Camera, figures: list[Figure]) -> None:
    """Draw figures far to near so nearer ones hide farther ones."""
    if not figures:
        return
    feet = np.array([(f.x, f.y, 0.0) for f in figures])
    heads = feet + np.array([(0.0, 0.0, f.height) for f in figures])
    fx, fy, depth = cam.project(feet)
    _, hy, _ = cam.project(heads)
    for i in np.argsort(-depth):
        if depth[i] < 1.0:
            continue
        f = figures[i]
        h = fy[i] - hy[i]
        if h < 2 or h > 6 * HEIGHT:
            continue
        _figure(img, f, fx[i], fy[i], h)


def _rect(img, x0, y0, x1, y1, color) -> None:
    x0, x1 = max(int(round(x0)), 0), min(int(round(x1)), WIDTH)
    y0, y1 = max(int(round(y0)), 0), min(int(round(y1)), HEIGHT)
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = color


def _figure(img, f: Figure, x: float, y: float, h: float) -> None:
    if f.lying:  # on the ground: a body lying across, the shirt visible
        w, t = 0.9 * h, max(2.0, 0.22 * h)
        _rect(img, x - w / 2, y - t, x + w * 0.1, y, f.shirt)
        _rect(img, x + w * 0.1, y - t, x + w * 0.35, y, f.shorts)
        _rect(img, x - w / 2 - t, y - t, x - w / 2, y, SKIN)
        return
    w = max(1.5, 0.3 * h)
    _rect(img, x - w / 2, y - 0.45 * h, x + w / 2, y, (30, 30, 30))  # legs
    _rect(img, x - w / 2, y - 0.55 * h, x + w / 2, y - 0.38 * h, f.shorts)
    _rect(img, x - w / 2 - 0.05 * h, y - 0.86 * h, x + w / 2 + 0.05 * h, y - 0.53 * h, f.shirt)
    _rect(img, x - 0.09 * h, y - h, x + 0.09 * h, y - 0.86 * h, SKIN)
    if f.number:
        scale = int(0.33 * h / 5)
        if scale >= 1:
            draw_text(img, f.number, x, y - 0.72 * h, scale, _contrast(f.shirt), center=True)
    if f.arm_up is not None:  # an arm straight up, the card held above the head
        _rect(img, x + w / 2, y - 1.15 * h, x + w / 2 + 0.07 * h, y - 0.8 * h, SKIN)
        _rect(img, x + w / 2 - 0.04 * h, y - 1.32 * h, x + w / 2 + 0.12 * h, y - 1.1 * h, f.arm_up)
    if f.board is not None:  # held up at head height: black, "off" number in red, "on" in green
        bw, bh = 0.6 * h, 0.3 * h
        bx, by = x + w / 2, y - 1.1 * h
        _rect(img, bx, by, bx + bw, by + bh, (12, 12, 12))
        scale = max(1, int(bh / 7))
        draw_text(img, f.board[0], bx + bw * 0.27, by + bh / 2, scale, (240, 40, 40), center=True)
        draw_text(img, f.board[1], bx + bw * 0.73, by + bh / 2, scale, (40, 240, 70), center=True)


def _contrast(c) -> tuple[int, int, int]:
    return (20, 20, 20) if sum(c) > 450 else (245, 245, 245)


def draw_goal(img: np.ndarray, cam: Camera, gx: float) -> None:
    """The goal frame at ``gx``: two posts and the crossbar, 2.44 m high, white."""
    pts = np.array([(gx, GOAL_Y0, 0.0), (gx, GOAL_Y0, 2.44), (gx, GOAL_Y1, 0.0), (gx, GOAL_Y1, 2.44)])
    xs, ys, d = cam.project(pts)
    if (d < 1).any():
        return
    r = max(0.6, 0.06 * cam.basis()[3] / d.mean())
    for k in (0, 2):
        _rect(img, xs[k] - r, ys[k + 1], xs[k] + r, ys[k], (245, 245, 245))
    v = np.linspace(0, 1, int(abs(xs[3] - xs[1]) + abs(ys[3] - ys[1])) + 2)
    for off in range(-int(r), int(r) + 1):  # the crossbar: a line as thick as the posts
        bx = np.round(xs[1] + (xs[3] - xs[1]) * v).astype(int)
        by = np.round(ys[1] + (ys[3] - ys[1]) * v).astype(int) + off
        ok = (bx >= 0) & (bx < WIDTH) & (by >= 0) & (by < HEIGHT)
        img[by[ok], bx[ok]] = (245, 245, 245)


def draw_ball(img: np.ndarray, cam: Camera, x: float, y: float, z: float) -> None:
    (bx, sx), (by, sy), (d, _) = cam.project(np.array([(x, y, z), (x, y, 0.0)]))
    if d < 1:
        return
    r = max(1.0, 0.2 * cam.basis()[3] / d)
    if z > 0.3:  # its shadow on the grass
        _disk(img, sx, sy, r, (25, 60, 25))
    _disk(img, bx, by, r, (250, 250, 250))


def _disk(img, x, y, r, color) -> None:
    x0, x1 = max(int(x - r), 0), min(int(x + r) + 1, WIDTH)
    y0, y1 = max(int(y - r), 0), min(int(y + r) + 1, HEIGHT)
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    img[y0:y1, x0:x1][(xx - x) ** 2 + (yy - y) ** 2 <= r * r + 0.5] = color


# --------------------------------------------------------------------------------------------------
# Text and overlays


#: 3x5 pixel glyphs (rows top to bottom, "1" = lit): digits, the clock's colon, and the few letters used.
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    ":": ("000", "010", "000", "010", "000"), "-": ("000", "000", "111", "000", "000"),
    "R": ("110", "101", "110", "101", "101"), " ": ("000", "000", "000", "000", "000"),
}
_MASKS = {ch: np.array([[c == "1" for c in row] for row in rows]) for ch, rows in _GLYPHS.items()}


def draw_text(img: np.ndarray, text: str, x: float, y: float, scale: int, color, center: bool = False) -> None:
    """Draw ``text`` in the 3x5 glyphs at integer ``scale``; (x, y) is its top-left, or centre."""
    w, h = (4 * len(text) - 1) * scale, 5 * scale
    x0, y0 = (int(round(x - w / 2)), int(round(y - h / 2))) if center else (int(x), int(y))
    for k, ch in enumerate(text):
        m = _MASKS[ch].repeat(scale, 0).repeat(scale, 1)
        gx = x0 + 4 * scale * k
        ys, xs = np.nonzero(m)
        ys, xs = ys + y0, xs + gx
        ok = (ys >= 0) & (ys < HEIGHT) & (xs >= 0) & (xs < WIDTH)
        img[ys[ok], xs[ok]] = color


def score_bug(img: np.ndarray, look: Look, score: tuple[int, int], clock_s: float) -> None:
    """Top-left: home kit chip, score, away kit chip, match clock (mm:ss), as every broadcaster shows."""
    _rect(img, 8, 8, 96, 21, (18, 22, 40))
    _rect(img, 10, 10, 16, 19, look.home)
    draw_text(img, f"{score[0]}-{score[1]}", 19, 10, 2, (245, 245, 245))
    _rect(img, 44, 10, 50, 19, look.away)
    minutes, seconds = divmod(int(clock_s), 60)
    draw_text(img, f"{minutes % 100:02d}:{seconds:02d}", 55, 12, 1, (245, 245, 245))


#: The lower third shown after an event on the classes broadcasters caption. Its icon: what the graphic
#: is about (a ball for a goal, the card, the board's two lights); the same dark band for all of them.
CAPTION_ICONS = {"Goal": ((245, 245, 245), None), "Yellow card": ((250, 225, 20), None),
                 "Red card": ((235, 0, 0), None), "Substitution": ((240, 40, 40), (40, 240, 70))}
BAND_Y0, BAND_Y1 = HEIGHT - 46, HEIGHT - 18


def lower_third(img: np.ndarray, event: str, kit: tuple[int, int, int], number: str) -> None:
    """The caption band: the team's kit colour, the class's icon and the player's number."""
    _rect(img, 30, BAND_Y0, 250, BAND_Y1, (20, 24, 44))
    _rect(img, 30, BAND_Y0, 38, BAND_Y1, kit)
    first, second = CAPTION_ICONS[event]
    _rect(img, 46, BAND_Y0 + 6, 60, BAND_Y1 - 6, first)
    if second is not None:
        _rect(img, 64, BAND_Y0 + 6, 78, BAND_Y1 - 6, second)
    draw_text(img, number, 90, BAND_Y0 + 6, 3, (245, 245, 245))


#: Test worlds only (``DemoClip.cue``): one colour per class, shown exactly while the event lasts.
CUE_COLOURS = {"Goal": (250, 200, 0), "Penalty": (130, 20, 190), "Shot on target": (250, 110, 0),
               "Yellow card": (235, 235, 235), "Red card": (120, 0, 0), "Corner": (0, 190, 230),
               "Foul": (230, 0, 140), "Substitution": (10, 10, 10)}


def cue_band(img: np.ndarray, event: str) -> None:
    _rect(img, 24, HEIGHT - 64, WIDTH - 24, HEIGHT - 12, CUE_COLOURS[event])


def replay_badge(img: np.ndarray) -> None:
    """Top-right corner logo that broadcasters keep on screen during a replay."""
    _rect(img, WIDTH - 30, 8, WIDTH - 8, 24, (200, 160, 20))
    draw_text(img, "R", WIDTH - 25, 10, 2, (20, 20, 20))


def wipe(img: np.ndarray, progress: float) -> None:
    """The transition into and out of a replay: a band sweeping across the frame."""
    x = int(progress * (WIDTH + 80)) - 80
    _rect(img, x, 0, x + 80, HEIGHT, (200, 160, 20))


def finish(img: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Sensor noise on top; compression comes from the encoder."""
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
