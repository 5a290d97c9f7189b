"""Each frame's source time drawn onto the frame ("3.25s"), so the model can read when a frame is.

Cosmos-Reason1's maintainers found that the model gives event times past the end of a clip unless each
frame carries its time (their inference script's ``--timestamp``): a black strip under the frame, the time
in white with two decimals, placed in the left or the right half in turn so the two frames that one
temporal patch merges show their times side by side instead of on top of each other.

Here the strip is part of the frame's final size instead of added under it: the picture is scaled (by
ffmpeg, once, from the source) into the rows above the strip, and the strip fills whole patch rows at the
bottom. So the frame size and the video token count do not change with the setting, the glyphs are drawn
at the resolution the model sees (a resize after drawing would blur them at the tiny model's 84x112), and
no part of the picture is covered (drawing over the bottom rows would hide the broadcaster's lower-third
graphic; the demo's event graphic is the bottom fifth). The cost is a slight vertical squeeze of the
picture (1/12 at 336x504, 1/6 at 84x112), the same in training and inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: The strip is about this share of the frame height (Cosmos-Reason1: 28 px under frames of ~336 px)...
STRIP_SHARE = 1 / 12
#: ...and the text this share of the strip (their 20 px font in a 28 px strip).
FONT_SHARE = 0.72


def strip_height(height: int, patch: int) -> int:
    """Rows of the time strip: whole patch rows (no patch mixes picture and strip), about 1/12 of the frame,
    at least one patch row (28 at 336 rows, 14 at 84)."""
    return patch * max(1, round(height * STRIP_SHARE / patch))


def picture_height(height: int, patch: int) -> int:
    """Rows left to the picture above the strip."""
    return height - strip_height(height, patch)


def label(seconds: float) -> str:
    """The text drawn for a frame at ``seconds`` of its source video: ``3.25s``."""
    return f"{seconds:.2f}s"


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)  # the font Pillow ships: no file or download needed


def draw_strip(text: str, width: int, height: int, position: int, sections: int) -> np.ndarray:
    """A black ``height`` x ``width`` strip with ``text`` in white, centred in section ``position`` of
    ``sections`` equal parts of the width (kept inside the strip)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "black")
    draw = ImageDraw.Draw(img)
    font = _font(max(6, round(height * FONT_SHARE)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    section = width / max(1, sections)
    x = int(min(max(0, (position % max(1, sections) + 0.5) * section - (right - left) / 2), max(0, width - (right - left))))
    y = (height - (bottom - top)) // 2
    draw.text((x - left, y - top), text, fill="white", font=font)
    return np.asarray(img)


def stamp(pictures: np.ndarray, times: Sequence[float], positions: Sequence[int], height: int, patch: int,
          sections: int) -> np.ndarray:
    """Frames (T, ``height``, W, 3) uint8: each picture (T, ``picture_height``, W, 3) above its strip, the
    strip showing ``label(times[t])`` at ``positions[t]`` of ``sections``."""
    t, rows, width, _ = pictures.shape
    strip = strip_height(height, patch)
    if rows != height - strip:
        raise ValueError(f"timestamps: pictures have {rows} rows, expected {height - strip} above a {strip}-row strip")
    if not len(times) == len(positions) == t:
        raise ValueError(f"timestamps: {t} frames but {len(times)} times and {len(positions)} positions")
    out = np.empty((t, height, width, 3), np.uint8)
    out[:, :rows] = pictures
    for i, (sec, pos) in enumerate(zip(times, positions)):
        out[i, rows:] = draw_strip(label(sec), width, strip, pos, sections)
    return out
