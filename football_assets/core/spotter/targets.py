"""Per-frame training targets from annotation intervals.

Frame ``i`` of an ``fps`` clip covers ``[i/fps, (i+1)/fps)`` (as ``decode.py`` reads it back):

* spotting target (frames x (classes + 1), rows sum to 1): each event's centre frame, plus a Gaussian
  of ``sigma`` frames around it cut at ``radius`` frames (the dilation that tolerates a frame or two of
  annotator jitter), the rest of each row is background (the last column);
* membership target (frames x classes, 0/1): the frame's centre lies inside the event's interval —
  what interval start/end decoding reads.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from football_assets.core.events import EVENT_CLASSES


def centre_frame(event: dict, fps: float, n_frames: int) -> int:
    c = (float(event["start_time"]) + float(event["end_time"])) / 2.0
    return min(max(int(np.floor(c * fps)), 0), n_frames - 1)


def spot_targets(events: Sequence[dict], n_frames: int, fps: float, classes: Sequence[str] = EVENT_CLASSES,
                 sigma: float = 1.0, radius: int = 2) -> np.ndarray:
    idx = {c: k for k, c in enumerate(classes)}
    fg = np.zeros((n_frames, len(classes)), np.float32)
    for e in events:
        k = idx[e["event"]]
        f = centre_frame(e, fps, n_frames)
        for d in range(-radius, radius + 1):
            if 0 <= f + d < n_frames:
                w = 1.0 if d == 0 else float(np.exp(-d * d / (2 * sigma * sigma)))
                fg[f + d, k] = max(fg[f + d, k], w)
    total = fg.sum(1, keepdims=True)
    fg = np.where(total > 1, fg / np.maximum(total, 1e-9), fg)  # two events on one frame share it
    return np.concatenate([fg, 1.0 - fg.sum(1, keepdims=True)], axis=1).astype(np.float32)


def membership_targets(events: Sequence[dict], n_frames: int, fps: float,
                       classes: Sequence[str] = EVENT_CLASSES) -> np.ndarray:
    idx = {c: k for k, c in enumerate(classes)}
    centres = (np.arange(n_frames) + 0.5) / fps
    m = np.zeros((n_frames, len(classes)), np.float32)
    for e in events:
        inside = (centres >= float(e["start_time"])) & (centres < float(e["end_time"]))
        m[inside, idx[e["event"]]] = 1.0
    return m
