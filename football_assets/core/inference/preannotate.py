"""Pre-annotations for Label Studio: the model's events on clips nobody has annotated yet, and per clip the
score annotators sort by (least certain first).

The cascade (spotter times and confidences, VLM descriptions) is used when a spotter trained on the adapter's
splits version exists: its confidences rank true above false events, where the VLM's alone are nearly flat.
Without one (or with one of other splits) the VLM alone answers every window, and the file says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from football_assets.core.annotation import ls_export
from football_assets.core.inference import analyze


def choose_mode(spotter_dir: str | Path, adapter_dir: str | Path) -> tuple[str, str]:
    """``("cascade", "")`` when ``spotter_dir`` holds a spotter of the adapter's splits version, else
    ``("vlm", why not)``."""
    from football_assets.core.spotter.cascade import CascadeMismatchError, check_same_splits

    if not (Path(spotter_dir) / "spotter_config.json").exists():
        return "vlm", f"no event spotter at {spotter_dir}: the VLM alone (materialize event_spotter for the cascade)"
    try:
        check_same_splits(spotter_dir, adapter_dir)
    except CascadeMismatchError as exc:
        return "vlm", f"the VLM alone: {exc}"
    return "cascade", ""


def predict_clips(clips: list[dict], predictor, window_s: float, spotter=None, overlap_s: float = analyze.DEFAULT_OVERLAP_S,
                  nms_iou: float = analyze.DEFAULT_NMS_IOU, max_new_tokens: int | None = None,
                  proposal_threshold: float | None = None,
                  log: Callable[[str], None] | None = None) -> tuple[dict[str, list[dict]], dict[str, float | None]]:
    """Events and clip score of each clip (catalog facts: ``clip_id``, ``path``, ``duration_s``).

    With a ``spotter``, the cascade (``cascade_run.cascade_clip``): each event's ``confidence`` is the fused
    one and a clip without events scores the spotter's certainty that nothing happens. Without, the VLM on
    every window (``analyze.predict_windows``), scored by its answer probabilities. Either way the score is
    ``ls_export.clip_score``: the least certain event."""
    from football_assets.core.inference.cascade_run import cascade_clip

    events: dict[str, list[dict]] = {}
    scores: dict[str, float | None] = {}
    for i, c in enumerate(clips, 1):
        path, duration = Path(c["path"]), float(c["duration_s"])
        if spotter is not None:
            out = cascade_clip(path, duration, spotter, predictor, window_s, proposal_threshold, nms_iou,
                               progress=False, max_new_tokens=max_new_tokens)
            events[c["clip_id"]], answers = out["events"], [out["no_event_confidence"]]
        else:
            answers = []
            events[c["clip_id"]] = analyze.predict_windows(predictor, path, duration, window_s, overlap_s, nms_iou,
                                                           progress=False, max_new_tokens=max_new_tokens,
                                                           answer_confidences=answers)
        scores[c["clip_id"]] = ls_export.clip_score(events[c["clip_id"]], answers)
        if log:
            log(f"predictions: {i}/{len(clips)} clips ({c['clip_id']}: {len(events[c['clip_id']])} events, score {scores[c['clip_id']]})")
    return events, scores
