"""``football-events analyze --mode cascade|vlm|spotter``: the spotter -> VLM cascade on a whole video.

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

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from football_assets.core.fsutil import write_json
from football_assets.core.inference import analyze
from football_assets.core.ingest.video import cut_segment, read_frames, transcode_4fps

MODES = ("cascade", "vlm", "spotter")
SPOTTER_BATCH_WINDOWS = 16  # spotter windows (8 s each) scored per forward pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    from football_assets.core.layout import DataLayout, default_root

    p.add_argument("--mode", choices=MODES, default=None,
                   help="cascade (spotter proposals -> VLM), vlm (every window), spotter (no VLM); "
                        "default: cascade when a spotter exists, else vlm")
    p.add_argument("--spotter", default=str(DataLayout(default_root()).spotter_dir),
                   help="trained event spotter directory (default: <FOOTBALL_DATA_DIR>/models/event_spotter)")
    p.add_argument("--proposal-threshold", type=float, default=None,
                   help="spot confidence that sends a window to the VLM (default: the spotter's val-chosen threshold)")


def resolve_mode(mode: str | None, spotter_dir: str | Path) -> str:
    """The mode to run: ``mode`` when given, else cascade when ``spotter_dir`` holds a spotter, else vlm.
    A spotter mode asked for without a spotter is an error naming the directory."""
    has_spotter = (Path(spotter_dir) / "spotter_config.json").exists()
    if mode is None:
        return "cascade" if has_spotter else "vlm"
    if mode not in MODES:
        raise analyze.AnalyzeError(f"--mode {mode!r}: unknown mode; known: {', '.join(MODES)}")
    if mode != "vlm" and not Path(spotter_dir).is_dir():
        raise analyze.AnalyzeError(f"--mode {mode}: no spotter trained at {spotter_dir} (materialize event_spotter, "
                                   "pass --spotter DIR, or use --mode vlm)")
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
        merged += analyze.shift_events(predictor.predict_events(str(path), **kwargs), (ws, we), duration)
        cache = getattr(predictor, "cache", None)  # each window is seen once: do not keep its frames
        if cache is not None and isinstance(getattr(cache, "mem", None), dict):
            cache.mem.clear()
        path.unlink(missing_ok=True)
    return analyze.nms(merged, nms_iou)


def _rounded(events: list[dict]) -> list[dict]:
    return [{"event": e["event"], "start_time": e["start_time"], "end_time": e["end_time"],
             "description": e["description"], "confidence": round(float(e["confidence"]), 4), "sources": e["sources"]}
            for e in events]


def cascade_video(video: str | Path, spotter, predictor=None, model_version: str | None = None, window_s: float = 8.0,
                  proposal_threshold: float | None = None, nms_iou: float = analyze.DEFAULT_NMS_IOU,
                  progress: bool = True, max_new_tokens: int | None = None) -> dict:
    """Any video -> 4 fps (temp) -> spotter scan -> (with a predictor) proposal windows to the VLM -> fused.

    ``predictor`` None is the spotter mode. Returns ``{video, mode, model_version, spotter_version, duration,
    domain, vlm_windows, seconds, events}``; each event has ``sources`` (see ``core/spotter/cascade.py``);
    ``domain`` is ``{score, in_domain, threshold}`` (``core/spotter/domain.py``), None for a spotter trained
    without a domain reference."""
    from football_assets.core.spotter.cascade import fuse, proposal_windows

    video = Path(video)
    seconds = {"spotter": 0.0, "vlm": 0.0}
    with tempfile.TemporaryDirectory(prefix="football-cascade-") as tmp:
        clip = Path(tmp) / "clip_4fps.mp4"
        info = transcode_4fps(video, clip, video.name)
        t0 = time.perf_counter()
        spot, member, pooled = scan(spotter, clip, progress)
        domain = spotter.domain.assess(pooled) if spotter.domain is not None else None
        found = spotter.detect(spot, member, info.duration)
        seconds["spotter"] = round(time.perf_counter() - t0, 3)
        windows: list[tuple[float, float]] = []
        vlm_events: list[dict] = []
        if predictor is not None:
            threshold = spotter.proposal_threshold if proposal_threshold is None else proposal_threshold
            windows = proposal_windows(found["spots"], info.duration, threshold, window_s,
                                       grid=analyze.plan_windows(info.duration, window_s, analyze.DEFAULT_OVERLAP_S))
            t1 = time.perf_counter()
            vlm_events = vlm_on_windows(predictor, clip, info.duration, windows, Path(tmp), progress, max_new_tokens,
                                        nms_iou)
            seconds["vlm"] = round(time.perf_counter() - t1, 3)
    # spotter mode: fusing with no VLM events at factor 1 keeps the spotter's intervals as they are
    events = fuse(found["intervals"], vlm_events) if predictor is not None else fuse(found["intervals"], [], 1.0)
    return {"video": str(video.resolve()), "mode": "cascade" if predictor is not None else "spotter",
            "model_version": model_version, "spotter_version": spotter.meta.get("model_version", ""),
            "duration": round(info.duration, 3), "domain": domain, "vlm_windows": [[s, e] for s, e in windows], "seconds": seconds,
            "events": _rounded(events)}


def run(args: argparse.Namespace, mode: str) -> dict:
    """The cascade or spotter mode of ``analyze.run`` (inputs already probed); writes ``--out``/``--overlay``."""
    from football_assets.core.spotter.cascade import CascadeMismatchError, check_same_splits

    spotter = load_spotter(args.spotter, args.device)
    predictor, version, window = None, None, args.window or spotter.clip_frames / spotter.cfg.fps
    if mode == "cascade":
        adapter = None if args.no_adapter else args.adapter
        if adapter is not None:
            analyze.adapter_info(adapter, args.base)  # the adapter's own errors first
            try:
                check_same_splits(args.spotter, adapter)
            except CascadeMismatchError as exc:
                raise analyze.AnalyzeError(str(exc)) from None
        predictor, version, base = analyze.load_predictor(adapter, args.base, args.device, args.dtype)
        window = args.window or analyze.default_window_s(base, getattr(predictor, "budget", None))
    try:
        result = cascade_video(args.video, spotter, predictor, version, window, args.proposal_threshold, args.nms_iou,
                               max_new_tokens=args.max_new_tokens)
    except ValueError as exc:
        raise analyze.AnalyzeError(str(exc)) from None
    if args.out:
        write_json(args.out, result)
    else:
        print(json.dumps(result, indent=2))
    if args.overlay:
        analyze.draw_overlay(args.video, result["events"], args.overlay)
    return result
