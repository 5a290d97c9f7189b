"""The spotter -> VLM cascade on a whole video (``football-events analyze --mode cascade|vlm|spotter``).

- ``cascade`` (the default when a spotter exists, ``<data>/models/event_spotter``): the spotter scores every
  frame of the 4 fps video in batches of windows; only the VLM-length windows centred on its confident
  spots go to the VLM, which names and describes what happened; the two outputs are fused by the rule in
  ``core/spotter/cascade.py`` (time and confidence from the spotter, description from the VLM).
- ``spotter``: the spotter's intervals alone (no VLM, no descriptions).
- ``vlm``: every overlapping window goes to the VLM (``analyze.py``, the output it always had).

The cascade and spotter outputs add ``mode``, ``spotter_version``, ``vlm_windows`` (the windows sent to the
VLM), ``seconds`` (per stage) and, on every event, ``sources``: which stage produced each field.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from football_assets.core.inference import analyze
from football_assets.core.ingest.video import cut_segment, read_frames, transcode_4fps

MODES = ("cascade", "vlm", "spotter")
SPOTTER_BATCH_WINDOWS = 16  # spotter windows (8 s each) scored per forward pass


def has_spotter(spotter_dir: str | Path) -> bool:
    """Whether a trained spotter (the domain score's reference) is at ``spotter_dir``."""
    return (Path(spotter_dir) / "spotter_config.json").exists()


def resolve_mode(mode: str | None, spotter_dir: str | Path) -> str:
    """The mode to run: ``mode`` when given, else cascade when ``spotter_dir`` holds a spotter, else vlm.
    A spotter mode asked for without a spotter is an error naming the directory."""
    if mode is None:
        return "cascade" if has_spotter(spotter_dir) else "vlm"
    if mode not in MODES:
        raise analyze.AnalyzeError(f"mode {mode!r}: unknown mode; known: {', '.join(MODES)}")
    if mode != "vlm" and not Path(spotter_dir).is_dir():
        raise analyze.AnalyzeError(f"mode {mode}: no spotter trained at {spotter_dir} (materialize event_spotter, "
                                   "point to a trained spotter (--spotter DIR), or use mode vlm)")
    return mode


def load_spotter(spotter_dir: str | Path, device: str | None = None):
    from football_assets.core.spotter.infer import Spotter, SpotterLoadError

    try:
        from football_assets.core.training.presets import auto_inference_settings

        return Spotter.load(spotter_dir, auto_inference_settings(device)[0])  # "auto": cuda where visible
    except SpotterLoadError as exc:
        raise analyze.AnalyzeError(str(exc)) from None
    except Exception as exc:  # safetensors/torch: one clear line for a corrupt spotter
        raise analyze.AnalyzeError(f"spotter {spotter_dir} cannot be loaded: {type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''}") from None


def scan(spotter, clip_4fps: Path, progress: bool = True, batch_windows: int = SPOTTER_BATCH_WINDOWS):
    """Per-frame (spot, membership) scores of a whole 4 fps clip, scored in batches of windows, and the
    clip's mean backbone feature (the domain score's input)."""
    from tqdm import tqdm

    frames = read_frames(clip_4fps, spotter.cfg.width, spotter.cfg.height)
    with tqdm(desc=f"spotter {clip_4fps.name}", unit="window", disable=None if progress else True,
              file=sys.stderr) as bar:
        def on_batch(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return spotter.score_frames(frames, batch_windows, on_batch, features=True)


def vlm_on_windows(predictor, clip_4fps: Path, duration: float, windows: list[tuple[float, float]], workdir: Path,
                   progress: bool = True, max_new_tokens: int | None = None, nms_iou: float = analyze.DEFAULT_NMS_IOU
                   ) -> list[dict]:
    """The VLM's events on the given windows only, in video time, merged by per-class NMS."""
    from tqdm import tqdm

    kwargs = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    merged: list[dict] = []
    for i, (ws, we) in enumerate(tqdm(windows, desc=f"vlm {clip_4fps.name}", unit="window",
                                      disable=None if progress else True, file=sys.stderr)):
        path = workdir / f"p{i:05d}.mp4"
        cut_segment(clip_4fps, path, ws, we, f"{clip_4fps.name} window {ws:.2f}-{we:.2f} s")
        merged += analyze.shift_events(predictor.predict(str(path), **kwargs)["events"], (ws, we), duration)
        predictor.forget(str(path))  # each window is seen once: do not keep its frames
        path.unlink(missing_ok=True)
    return analyze.nms(merged, nms_iou)


def _rounded(events: list[dict]) -> list[dict]:
    return [{"event": e["event"], "start_time": e["start_time"], "end_time": e["end_time"],
             "description": e["description"], "confidence": round(float(e["confidence"]), 4), "sources": e["sources"]}
            for e in events]


def cascade_clip(clip_4fps: str | Path, duration: float, spotter, predictor=None, window_s: float = 8.0,
                 proposal_threshold: float | None = None, nms_iou: float = analyze.DEFAULT_NMS_IOU,
                 progress: bool = True, max_new_tokens: int | None = None, workdir: Path | None = None) -> dict:
    """A clip already at 4 fps -> spotter scan -> (with a predictor) proposal windows to the VLM -> fused.

    ``predictor`` None is the spotter mode. VLM-only events are kept at the bar the evaluation chose on val for
    this adapter and spotter (``cascade_fusion.json`` beside the adapter), every one of them when there is none.
    Returns ``{mode, spotter_version, duration, domain, vlm_windows, seconds, events, no_event_confidence}``;
    ``no_event_confidence`` is 1 - the highest spot score of any class on any frame, the spotter's certainty that
    nothing happens (the uncertainty of a clip without events)."""
    from football_assets.core.spotter.cascade import fuse, load_rule, proposal_windows

    clip_4fps = Path(clip_4fps)
    seconds = {"spotter": 0.0, "vlm": 0.0}
    t0 = time.perf_counter()
    spot, member, pooled = scan(spotter, clip_4fps, progress)
    domain = spotter.domain.assess(pooled) if spotter.domain is not None else None
    found = spotter.detect(spot, member, duration)
    seconds["spotter"] = round(time.perf_counter() - t0, 3)
    windows: list[tuple[float, float]] = []
    vlm_events: list[dict] = []
    if predictor is not None:
        threshold = spotter.proposal_threshold if proposal_threshold is None else proposal_threshold
        windows = proposal_windows(found["spots"], duration, threshold, window_s,
                                   grid=analyze.plan_windows(duration, window_s, analyze.DEFAULT_OVERLAP_S))
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="football-cascade-", dir=workdir) as tmp:
            vlm_events = vlm_on_windows(predictor, clip_4fps, duration, windows, Path(tmp), progress, max_new_tokens,
                                        nms_iou)
        seconds["vlm"] = round(time.perf_counter() - t1, 3)
    spotter_version = spotter.meta.get("model_version", "")
    if predictor is not None:
        rule = load_rule(predictor.adapter_dir, predictor.model_version, spotter_version)
        bar = rule.vlm_only_min_confidence if rule else 0.0
        events = fuse(found["intervals"], vlm_events, vlm_only_min_confidence=bar)
    else:  # spotter mode: fusing with no VLM events at factor 1 keeps the spotter's intervals as they are
        events = fuse(found["intervals"], [], 1.0)
    return {"mode": "cascade" if predictor is not None else "spotter", "spotter_version": spotter_version,
            "duration": round(duration, 3), "domain": domain,
            "vlm_windows": [[s, e] for s, e in windows], "seconds": seconds, "events": _rounded(events),
            "no_event_confidence": round(1.0 - float(spot.max()) if spot.size else 1.0, 4)}


def cascade_video(video: str | Path, spotter, predictor=None, model_version: str | None = None, window_s: float = 8.0,
                  proposal_threshold: float | None = None, nms_iou: float = analyze.DEFAULT_NMS_IOU,
                  progress: bool = True, max_new_tokens: int | None = None) -> dict:
    """Any video -> 4 fps (temp) -> ``cascade_clip``.

    Returns ``{video, mode, model_version, spotter_version, duration, domain, vlm_windows, seconds, events}``;
    each event has ``sources`` (see ``core/spotter/cascade.py``); ``domain`` is ``{score, in_domain, threshold}``
    (``core/spotter/domain.py``), None for a spotter trained without a domain reference."""
    video = Path(video)
    with tempfile.TemporaryDirectory(prefix="football-cascade-") as tmp:
        clip = Path(tmp) / "clip_4fps.mp4"
        info = transcode_4fps(video, clip, video.name)
        result = cascade_clip(clip, info.duration, spotter, predictor, window_s, proposal_threshold, nms_iou, progress,
                              max_new_tokens, Path(tmp))
    result.pop("no_event_confidence")
    return {"video": str(video.resolve()), "mode": result.pop("mode"), "model_version": model_version, **result}

