"""Per-frame spotter scores -> spots with confidences (SoccerNet form) and -> intervals (start/end).

Frame convention (the one ``targets.py`` trains with): frame ``i`` of an ``fps`` clip covers
``[i/fps, (i+1)/fps)``; a spot on frame ``i`` is reported at the frame's centre ``(i + 0.5)/fps``; a run
of frames ``a..b`` is the interval ``[a/fps, (b+1)/fps)``, clipped to the video's duration.

Thresholds are parameters: ``choose_threshold`` picks them on the validation split (never on test).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from football_assets.core.events import EVENT_CLASSES


class ScoreShapeError(ValueError):
    """Scores that are not a (frames, classes) array of values in [0, 1]."""


def _check(scores, n_classes: int, name: str) -> np.ndarray:
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != n_classes:
        raise ScoreShapeError(f"{name}: expected shape (frames, {n_classes}), got {a.shape}")
    if a.size and (np.isnan(a).any() or a.min() < 0 or a.max() > 1):
        raise ScoreShapeError(f"{name}: scores must lie in [0, 1] (got min {np.nanmin(a):.3g}, max {np.nanmax(a):.3g})")
    return a


def find_peaks(x: np.ndarray, min_score: float = 0.0) -> list[int]:
    """Local maxima of a 1-D score: ``x[i] >= x[i-1]`` and ``x[i] > x[i+1]`` (outside the video counts as
    -inf, so a maximum on the first or last frame is a peak; a plateau peaks on its last frame)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return []
    left = np.concatenate([[-np.inf], x[:-1]])
    right = np.concatenate([x[1:], [-np.inf]])
    return [int(i) for i in np.flatnonzero((x >= left) & (x > right) & (x >= min_score))]


def nms_1d(frames: Sequence[int], scores: Sequence[float], window: int) -> list[int]:
    """Greedy non-maximum suppression: keep the best-scoring frame, drop others within ``window`` frames."""
    order = sorted(range(len(frames)), key=lambda k: (-scores[k], frames[k]))
    kept: list[int] = []
    for k in order:
        if all(abs(frames[k] - frames[j]) > window for j in kept):
            kept.append(k)
    return sorted(frames[k] for k in kept)


def spots(scores, fps: float, classes: Sequence[str] = EVENT_CLASSES, min_score: float = 0.01,
          nms_window_s: float = 1.0) -> list[dict]:
    """Per class: peaks of the frame scores, then NMS over ``nms_window_s`` seconds.

    Returns ``{event, time, frame, confidence, start_time, end_time}`` sorted by time; start and end both
    equal ``time`` so the SoccerNet metric (which spots an event at its interval centre) reads them as is.
    A low ``min_score`` is right for average-mAP, which sweeps the confidence itself."""
    a = _check(scores, len(classes), "spot scores")
    window = max(0, int(round(nms_window_s * fps)))
    out = []
    for c, name in enumerate(classes):
        peaks = find_peaks(a[:, c], min_score)
        for i in nms_1d(peaks, [a[i, c] for i in peaks], window):
            t = round((i + 0.5) / fps, 3)
            out.append({"event": name, "time": t, "frame": i, "confidence": float(a[i, c]), "start_time": t, "end_time": t})
    return sorted(out, key=lambda s: (s["time"], -s["confidence"]))


def soccernet_predictions(spot_list: list[dict], video: str, half: int = 1) -> dict:
    """Spots in the SoccerNet action-spotting submission form (``results_spotting.json``)."""
    preds = []
    for s in spot_list:
        ms = int(round(s["time"] * 1000))
        preds.append({"gameTime": f"{half} - {ms // 60000:02d}:{(ms // 1000) % 60:02d}", "label": s["event"],
                      "position": str(ms), "half": str(half), "confidence": str(s["confidence"])})
    return {"UrlLocal": video, "predictions": preds}


def intervals(membership, fps: float, spot_scores=None, classes: Sequence[str] = EVENT_CLASSES,
              threshold: float = 0.5, member_threshold: float = 0.5, duration: float | None = None) -> list[dict]:
    """Per class: each run of frames with membership >= ``member_threshold`` is one interval; its confidence
    is the run's highest spot score (the membership mean without spot scores); kept when >= ``threshold``."""
    m = _check(membership, len(classes), "membership scores")
    s = _check(spot_scores, len(classes), "spot scores") if spot_scores is not None else None
    if s is not None and s.shape != m.shape:
        raise ScoreShapeError(f"spot scores {s.shape} and membership scores {m.shape} differ in shape")
    end_cap = duration if duration is not None else len(m) / fps
    out = []
    for c, name in enumerate(classes):
        on = m[:, c] >= member_threshold
        i = 0
        while i < len(on):
            if not on[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(on) and on[j + 1]:
                j += 1
            conf = float(s[i:j + 1, c].max()) if s is not None else float(m[i:j + 1, c].mean())
            if conf >= threshold:
                out.append({"event": name, "start_time": round(i / fps, 3), "end_time": round(min((j + 1) / fps, end_cap), 3),
                            "confidence": conf})
            i = j + 1
    return sorted(out, key=lambda e: (e["start_time"], e["end_time"], -e["confidence"]))


def choose_threshold(clips: Sequence[tuple[list[dict], np.ndarray, np.ndarray, float]], iou: float = 0.5,
                     grid: Sequence[float] = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))) -> dict:
    """The interval confidence threshold with the best micro event F1 at tIoU ``iou`` on ``clips``
    (``(true_events, spot_scores, membership, fps)`` each) — call it with validation clips only."""
    from football_assets.core.metrics import detection_scores

    best = {"threshold": 0.5, "f1": -1.0}
    for th in grid:
        pairs = [(truth, intervals(mem, fps, spot, threshold=float(th))) for truth, spot, mem, fps in clips]
        f1 = detection_scores(pairs, iou)["micro"]["f1"] or 0.0
        if f1 > best["f1"]:
            best = {"threshold": float(th), "f1": float(f1)}
    return best


def choose_proposal_threshold(clips: Sequence[tuple[list[dict], np.ndarray, np.ndarray, float]], recall: float = 0.98,
                              margin_s: float = 1.0, ceiling: float = 1.0,
                              grid: Sequence[float] = tuple(np.round(np.arange(0.01, 1.0, 0.01), 2))) -> dict:
    """The spot confidence that sends a window to the VLM in the cascade: the highest threshold at which at
    least ``recall`` of the true events on ``clips`` (validation clips only) have a spot of any class within
    ``margin_s`` of their interval, at most ``ceiling`` (the interval threshold: never send less than the
    spotter reports).

    Why a threshold of its own: a proposal only buys a VLM look at the window, and a missed event is lost to
    the cascade for good, while a wasted window costs one generation. So proposals are tuned for recall,
    and intervals (``choose_threshold``) for F1."""
    best_per_event = []
    for truth, spot, _mem, fps in clips:
        found = spots(spot, fps, min_score=0.0)
        for e in truth:
            near = [s["confidence"] for s in found if e["start_time"] - margin_s <= s["time"] <= e["end_time"] + margin_s]
            best_per_event.append(max(near, default=0.0))
    if not best_per_event:
        return {"threshold": min(ceiling, 0.5), "recall": None, "n_events": 0}
    chosen = min(grid)
    for th in sorted(grid):
        if th > ceiling:
            break
        if np.mean([b >= th for b in best_per_event]) >= recall:
            chosen = float(th)
    return {"threshold": float(chosen), "recall": float(np.mean([b >= chosen for b in best_per_event])),
            "n_events": len(best_per_event)}
