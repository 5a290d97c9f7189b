"""A long synthetic match: one continuous N-minute demo video with events at real per-90-minute rates.

The long-video benchmark for the spotter and the cascade: the same pitch, players and event signatures
as the 8 s demo clips (``generator.py`` draws it), but one video of any length in which events are a
Poisson process at about the rates of professional football. Ground truth is written as a Label Studio
JSON export (one task, one annotation), the form the annotations stage reads. A match's seed is its
own: a held-out match uses a seed no training clip was planned with.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from football_assets.core.demo import generator

from football_assets.core.annotation import ls_export
from football_assets.core.events import EVENT_CLASSES, TARGET_FPS, Event
from football_assets.core.fsutil import atomic_path

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
    taken: list[tuple[float, float]] = []
    events: list[Event] = []
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
            events.append(Event(cls, start, start + length, generator._describe(trng, cls, team, side)))
    events.sort(key=lambda e: e.start_time)
    return generator.DemoClip(match_key(seed, minutes, graphics), f"demo-match-s{seed}", 0, seed, events, duration=duration,
                         fps=TARGET_FPS, graphics=graphics, scene_key=match_key(seed, minutes))


def write_match(dest: str | Path, minutes: float, seed: int, graphics: bool = True, fps: int = TARGET_FPS) -> dict:
    """Render the match to ``<dest>/<key>.mp4`` and its ground truth to ``<dest>/<key>.json`` (Label Studio
    export), atomically; returns ``{video, labels, clip}``."""
    from football_assets.core.ingest.video import encode_frames

    clip = plan_match(minutes, seed, graphics=graphics)
    clip.fps = fps
    dest = Path(dest)
    video, labels = dest / f"{clip.key}.mp4", dest / f"{clip.key}.json"
    encode_frames(generator.render_frames(clip), video, fps, clip.key)
    with atomic_path(labels) as tmp:
        tmp.write_text(json.dumps([ls_export.task_export(clip.key, TARGET_FPS, clip.events, task_id=1)], indent=2))
    return {"video": video, "labels": labels, "clip": clip}


def read_truth(labels: str | Path) -> list[dict]:
    """The events of a match ground-truth file (Label Studio export, first task), as event dicts."""
    task = json.loads(Path(labels).read_text())[0]
    fps = float(task["data"]["fps"])
    out, texts = [], {}
    result = task["annotations"][0]["result"]
    for r in result:
        if r["type"] == "textarea":
            texts[r["id"]] = r["value"]["text"][0]
    for r in result:
        if r["type"] == "timelinelabels":
            rng = r["value"]["ranges"][0]
            s, e = ls_export.frames_to_seconds(rng["start"], rng["end"], fps)
            out.append({"event": r["value"]["timelinelabels"][0], "start_time": s, "end_time": e,
                        "description": texts.get(r["id"], "")})
    return sorted(out, key=lambda e: e["start_time"])
