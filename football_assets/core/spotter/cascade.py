"""Spotter -> VLM cascade logic: which windows of a long video go to the VLM, and how the two outputs fuse.

The spotter scans the whole video cheaply; only windows around its proposals are sent to the VLM, which
names and describes what happened. Fusion rule (when they agree and when they disagree):

1. A spotter interval and a VLM event of the same class that overlap in time are one event: start, end and
   confidence from the spotter (calibrated per frame), class agreed, description from the VLM.
2. A spotter interval with no overlapping same-class VLM event stays (the spotter is the better timer),
   with no description and its confidence times ``unconfirmed_factor``: the VLM did not confirm it.
3. A VLM event with no overlapping same-class spotter interval stays with the VLM's times and
   description, confidence = the VLM's (1.0 when it gives none) times ``unconfirmed_factor``, but only when
   the VLM's own confidence is at least ``vlm_only_min_confidence``. That bar is chosen on val by the
   evaluation for one adapter and one spotter together (``choose_vlm_only_bar``), stored beside the adapter
   (``cascade_fusion.json``) and read back wherever the pair runs as a cascade. Why: on the demo the spotter
   finds nearly every event, and the VLM-only events were mostly false positives that cost the cascade a
   fifth of its precision; on video the spotter misses more, val picks a lower bar.

Every fused event carries ``sources``: which stage produced each field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

FUSION_FILE = "cascade_fusion.json"
#: the bars val chooses among: keep every VLM-only event (0) ... keep only those at confidence 1.0
VLM_ONLY_BARS = tuple(round(0.05 * i, 2) for i in range(21))


def proposal_windows(spots: list[dict], duration: float, threshold: float, window: float = 8.0,
                     overlap: float = 2.0, grid: list[tuple[float, float]] | None = None) -> list[tuple[float, float]]:
    """Windows of ``window`` seconds (clipped to the video) to send to the VLM: one centred on the first
    uncovered spot >= ``threshold``, covering every later spot within it that is at least 1 s from its edges.

    A spot just past the previous window opens the next one so that the two overlap by ``overlap`` s (the
    spot still >= 1 s inside), so dense proposals tile the video like the VLM-only grid instead of stacking
    half-overlapping windows. ``grid``: the VLM-only windows of the same video (``analyze.plan_windows``);
    when the proposals need as many, the grid itself is returned, so the cascade never costs more VLM calls
    than VLM-only."""
    times = sorted(s["time"] for s in spots if s["confidence"] >= threshold)
    out: list[tuple[float, float]] = []
    for t in times:
        if out and out[-1][0] + 1.0 <= t <= out[-1][1] - 1.0:
            continue
        start = t - window / 2
        if out:
            start = max(start, min(t - 1.0, out[-1][1] - overlap))
        start = min(max(0.0, start), max(0.0, duration - window))
        out.append((round(start, 3), round(min(duration, start + window), 3)))
    return list(grid) if grid is not None and out and len(out) >= len(grid) else out


def _overlap(a: dict, b: dict) -> bool:
    return a["event"] == b["event"] and a["start_time"] < b["end_time"] and b["start_time"] < a["end_time"]


def fuse(spotter_events: list[dict], vlm_events: list[dict], unconfirmed_factor: float = 0.5,
         vlm_only_min_confidence: float = 0.0) -> list[dict]:
    """Fused events (see the module doc for the rule), sorted by start time."""
    out, used = [], set()
    for s in spotter_events:
        match = next((k for k, v in enumerate(vlm_events) if k not in used and _overlap(s, v)), None)
        if match is not None:
            used.add(match)
            out.append({"event": s["event"], "start_time": s["start_time"], "end_time": s["end_time"],
                        "confidence": s["confidence"], "description": vlm_events[match].get("description", ""),
                        "sources": {"event": "both", "start_time": "spotter", "end_time": "spotter",
                                    "confidence": "spotter", "description": "vlm"}})
        else:
            out.append({"event": s["event"], "start_time": s["start_time"], "end_time": s["end_time"],
                        "confidence": s["confidence"] * unconfirmed_factor, "description": "",
                        "sources": {"event": "spotter", "start_time": "spotter", "end_time": "spotter",
                                    "confidence": "spotter", "description": None}})
    for k, v in enumerate(vlm_events):
        if k not in used and float(v.get("confidence", 1.0)) >= vlm_only_min_confidence:
            out.append({"event": v["event"], "start_time": v["start_time"], "end_time": v["end_time"],
                        "confidence": float(v.get("confidence", 1.0)) * unconfirmed_factor,
                        "description": v.get("description", ""),
                        "sources": {"event": "vlm", "start_time": "vlm", "end_time": "vlm", "confidence": "vlm",
                                    "description": "vlm"}})
    return sorted(out, key=lambda e: (e["start_time"], e["end_time"]))


def choose_vlm_only_bar(clips: Sequence[tuple[list, list, list]], iou: float = 0.5) -> tuple[float, dict[float, float]]:
    """The lowest bar of ``VLM_ONLY_BARS`` at which the fused events of ``clips`` (val: ``(truth, spotter
    intervals, VLM events sent)`` per clip) reach their best event F1 at ``iou``, and the F1 at every bar.
    Lowest among ties: it keeps the most of what only the VLM saw."""
    from football_assets.core import metrics

    f1 = {bar: metrics.detection_scores([(truth, fuse(spots, vlm, vlm_only_min_confidence=bar))
                                         for truth, spots, vlm in clips], iou)["micro"]["f1"]
          for bar in VLM_ONLY_BARS}
    best = max(f1.values())
    return next(bar for bar in VLM_ONLY_BARS if f1[bar] >= best - 1e-12), f1


@dataclass
class FusionRule:
    """The val-chosen bar for VLM-only events of one adapter and spotter pair (``cascade_fusion.json``)."""

    vlm_only_min_confidence: float = 0.0
    model_version: str = ""
    spotter_version: str = ""
    val_f1: float | None = None  # the cascade's val event F1 at the bar
    val_f1_keep_all: float | None = None  # ... and at bar 0 (every VLM-only event kept), for the report
    n_val_clips: int = 0


def save_rule(adapter_dir: str | Path, rule: FusionRule) -> Path:
    from football_assets.core.fsutil import write_json

    path = Path(adapter_dir) / FUSION_FILE
    write_json(path, asdict(rule))
    return path


def load_rule(adapter_dir: str | Path | None, model_version: str, spotter_version: str) -> FusionRule | None:
    """The rule stored beside the adapter when it was chosen for this adapter and this spotter, else None
    (keep every VLM-only event: the rule before any val choice)."""
    path = Path(adapter_dir) / FUSION_FILE if adapter_dir else None
    if path is None or not path.exists():
        return None
    rule = FusionRule(**json.loads(path.read_text()))
    return rule if (rule.model_version, rule.spotter_version) == (model_version, spotter_version) else None


class CascadeMismatchError(RuntimeError):
    """A spotter and a VLM adapter that cannot run as one cascade; the message names both and the cause."""


def check_same_splits(spotter_dir, adapter_dir) -> str:
    """The splits version both were trained on; raises when either is missing or they differ (a cascade of
    models that saw different test clips would leak test data into its own evaluation)."""
    versions = {}
    for name, d in (("spotter", spotter_dir), ("adapter", adapter_dir)):
        meta = Path(d) / "train_meta.json"
        if not meta.exists():
            raise CascadeMismatchError(f"no {name} at {d} ({meta.name} missing)")
        versions[name] = json.loads(meta.read_text()).get("splits_version", "")
    if versions["spotter"] != versions["adapter"]:
        raise CascadeMismatchError(f"spotter {spotter_dir} was trained on splits {versions['spotter']!r} but adapter "
                                   f"{adapter_dir} on {versions['adapter']!r}; retrain one on the same splits")
    return versions["spotter"]
