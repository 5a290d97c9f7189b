"""Spotter -> VLM cascade logic: which windows of a long video go to the VLM, and how the two outputs fuse.

The spotter scans the whole video cheaply; only windows around its proposals are sent to the VLM, which
names and describes what happened. Fusion rule (when they agree and when they disagree):

1. A spotter interval and a VLM event of the same class that overlap in time are one event: start, end and
   confidence from the spotter (calibrated per frame), class agreed, description from the VLM.
2. A spotter interval with no overlapping same-class VLM event stays (the spotter is the better timer),
   with no description and its confidence times ``unconfirmed_factor``: the VLM did not confirm it.
3. A VLM event with no overlapping same-class spotter interval stays with the VLM's times and
   description, confidence = the VLM's (1.0 when it gives none) times ``unconfirmed_factor``.

Every fused event carries ``sources``: which stage produced each field.
"""

from __future__ import annotations


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


def fuse(spotter_events: list[dict], vlm_events: list[dict], unconfirmed_factor: float = 0.5) -> list[dict]:
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
        if k not in used:
            out.append({"event": v["event"], "start_time": v["start_time"], "end_time": v["end_time"],
                        "confidence": float(v.get("confidence", 1.0)) * unconfirmed_factor,
                        "description": v.get("description", ""),
                        "sources": {"event": "vlm", "start_time": "vlm", "end_time": "vlm", "confidence": "vlm",
                                    "description": "vlm"}})
    return sorted(out, key=lambda e: (e["start_time"], e["end_time"]))


class CascadeMismatchError(RuntimeError):
    """A spotter and a VLM adapter that cannot run as one cascade; the message names both and the cause."""


def check_same_splits(spotter_dir, adapter_dir) -> str:
    """The splits version both were trained on; raises when either is missing or they differ (a cascade of
    models that saw different test clips would leak test data into its own evaluation)."""
    import json
    from pathlib import Path

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
