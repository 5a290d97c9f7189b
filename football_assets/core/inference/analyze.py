"""Whole-video analysis with the adapter: load a predictor, cut a video into model-length windows, merge
the windows' events (per-class NMS), draw them on the video. ``football-events analyze`` (``cli/analyze.py``)
is the command on top.

Any video (any fps, size, rotation) is resampled to the model's 4 fps clip format in a temp dir. A
video longer than the model's clip length (the base model's frame budget, 8 s for both registered
models) is cut into overlapping windows; each window's events are shifted to video time and the merged
list goes through per-class non-maximum suppression (an event seen by two overlapping windows is kept
once: the more confident one, then the one farther from a cut window edge).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from football_assets.core.events import EVENT_CLASSES, TARGET_FPS
from football_assets.core.fsutil import atomic_path, read_json
from football_assets.core.ingest.video import VideoError, cut_segment, probe, transcode_4fps
from football_assets.core.matching import tiou

DEFAULT_OVERLAP_S = 2.0
DEFAULT_NMS_IOU = 0.3
GRID = 1.0 / TARGET_FPS  # window starts on frame boundaries of the 4 fps clip


class AnalyzeError(RuntimeError):
    """Bad input to the inference command; the message names the thing and the cause."""


# ---------------------------------------------------------------------------------------------------
# Adapter


def adapter_info(adapter_dir: str | Path, base: str | None = None) -> dict:
    """Check that ``adapter_dir`` is a trained adapter (for ``base`` when given); return its train_meta."""
    d = Path(adapter_dir)
    if not d.is_dir():
        raise AnalyzeError(f"adapter {d}: directory does not exist (train one with the training_job, or pass --adapter)")
    if not (d / "adapter_config.json").exists():
        raise AnalyzeError(f"adapter {d}: adapter_config.json missing, not a LoRA adapter directory")
    try:
        meta = read_json(d / "train_meta.json")
    except json.JSONDecodeError as exc:
        raise AnalyzeError(f"adapter {d}: train_meta.json is not valid JSON ({exc})") from None
    if not meta or "base_model" not in meta:
        raise AnalyzeError(f"adapter {d}: train_meta.json missing or has no base_model")
    if base and meta["base_model"] != base:
        raise AnalyzeError(f"adapter {d} was trained on base model {meta['base_model']!r}, not {base!r}: "
                           "use the matching --base or the matching adapter")
    return meta


def load_predictor(adapter_dir: str | Path | None, base: str | None = None, device: str | None = None,
                   dtype: str | None = None):
    """``(EventPredictor, model_version, base)``; ``adapter_dir`` None = the base model without adapter."""
    from football_assets.core.training.model import UnknownModelError, get_spec

    if adapter_dir is None:
        if not base:
            raise AnalyzeError("no adapter given: pass --adapter DIR, or --no-adapter with --base NAME")
        version = f"{base} (no adapter)"
    else:
        meta = adapter_info(adapter_dir, base)
        base = meta["base_model"]
        version = str(meta.get("model_version") or Path(adapter_dir).name)
    try:
        get_spec(base)
    except UnknownModelError as exc:
        raise AnalyzeError(str(exc)) from None
    from football_assets.core.inference.predictor import EventPredictor  # torch/transformers: only once the inputs look right

    try:
        predictor = EventPredictor(base, str(adapter_dir) if adapter_dir else None, device=device, dtype=dtype)
    except Exception as exc:  # peft/safetensors/torch raise many types; one clear message for all
        what = f"adapter {adapter_dir} cannot be loaded onto base model {base!r}" if adapter_dir else \
            f"base model {base!r} cannot be loaded"
        raise AnalyzeError(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    return predictor, version, base


def default_window_s(base: str | None, budget=None) -> float:
    """The clip length the adapter was trained on (``budget``: its video budget), else the base model's:
    the frame budget at 4 fps (8 s for the registered models)."""
    from football_assets.core.training.model import get_spec

    frames = budget.max_frames if budget is not None else get_spec(base).max_frames if base else 32
    return frames / TARGET_FPS


# ---------------------------------------------------------------------------------------------------
# Windows and merging (pure)


def plan_windows(duration: float, window_s: float, overlap_s: float = DEFAULT_OVERLAP_S) -> list[tuple[float, float]]:
    """Overlapping ``(start, end)`` windows covering ``[0, duration]``; starts on the 4 fps frame grid,
    the last window ends at the video's end. One window when the video fits."""
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    if window_s <= 0 or not 0 <= overlap_s < window_s:
        raise ValueError(f"need window > 0 and 0 <= overlap < window; got window {window_s}, overlap {overlap_s}")
    if duration <= window_s + 1e-9:
        return [(0.0, duration)]
    stride = max(GRID, math.floor((window_s - overlap_s) / GRID) * GRID)
    last = math.ceil((duration - window_s) / GRID - 1e-9) * GRID
    starts, s = [], 0.0
    while s < last - 1e-9:
        starts.append(s)
        s = round(s + stride, 6)
    starts.append(last)
    return [(st, min(st + window_s, duration)) for st in starts]


def shift_events(events: Sequence[dict], window: tuple[float, float], duration: float) -> list[dict]:
    """Window-relative events -> video time, clipped to the window; adds ``confidence`` (1.0 when the
    model gives none) and ``_edge``: how far (s) the event's centre is from a cut window edge."""
    ws, we = window
    out = []
    for e in events:
        s, t = ws + float(e["start_time"]), min(ws + float(e["end_time"]), we)
        if not s < t:
            continue
        centre = (s + t) / 2
        edges = [centre - ws if ws > 0 else math.inf, we - centre if we < duration - 1e-6 else math.inf]
        out.append({"event": e["event"], "start_time": round(s, 3), "end_time": round(t, 3),
                    "description": str(e.get("description", "")),
                    "confidence": float(e.get("confidence", 1.0)), "_edge": min(edges),
                    **{k: float(e[k]) for k in ("raw_confidence", "time_confidence") if k in e}})
    return out


def nms(events: Sequence[dict], iou_threshold: float = DEFAULT_NMS_IOU) -> list[dict]:
    """Per-class NMS: keep events by descending confidence (then distance from a cut edge); drop any
    whose tIoU with a kept event of its class is >= ``iou_threshold``. Result sorted by time."""
    ranked = sorted(events, key=lambda e: (-e.get("confidence", 1.0), -e.get("_edge", math.inf), e["start_time"]))
    kept: list[dict] = []
    for e in ranked:
        if all(k["event"] != e["event"] or tiou(k, e) < iou_threshold for k in kept):
            kept.append(e)
    kept.sort(key=lambda e: (e["start_time"], e["end_time"], EVENT_CLASSES.index(e["event"]) if e["event"] in EVENT_CLASSES else 99))
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in kept]


# ---------------------------------------------------------------------------------------------------
# Running


def predict_windows(predictor, clip_4fps: Path, duration: float, window_s: float, overlap_s: float = DEFAULT_OVERLAP_S,
                    nms_iou: float = DEFAULT_NMS_IOU, workdir: Path | None = None, progress: bool = True,
                    max_new_tokens: int | None = None, answer_confidences: list | None = None) -> list[dict]:
    """Events of a 4 fps clip: windows -> ``predictor.predict`` (a ``predictor.Predictor``) -> video time ->
    per-class NMS (ranked by the events' confidences). ``answer_confidences``: a list to which each window's
    answer probability is appended, the uncertainty of a clip without events."""
    kwargs = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    from tqdm import tqdm

    windows = plan_windows(duration, window_s, overlap_s)
    merged: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="windows-", dir=workdir) as tmp:
        for i, (ws, we) in enumerate(tqdm(windows, desc=f"analyze {clip_4fps.name}", unit="window",
                                          disable=None if progress else True, file=sys.stderr)):
            if len(windows) == 1:
                path = clip_4fps
            else:
                path = Path(tmp) / f"w{i:05d}.mp4"
                cut_segment(clip_4fps, path, ws, we, f"{clip_4fps.name} window {ws:.2f}-{we:.2f} s")
            answer = predictor.predict(str(path), **kwargs)
            if answer_confidences is not None:
                answer_confidences.append(answer["answer_confidence"])
            merged += shift_events(answer["events"], (ws, we), duration)
            predictor.forget(str(path))  # each window is seen once: do not keep its frames
            if path != clip_4fps:
                path.unlink(missing_ok=True)
    return nms(merged, nms_iou)


def analyze_video(video: str | Path, predictor, model_version: str, window_s: float,
                  overlap_s: float = DEFAULT_OVERLAP_S, nms_iou: float = DEFAULT_NMS_IOU, progress: bool = True,
                  max_new_tokens: int | None = None, spotter=None) -> dict:
    """Any video -> 4 fps (temp) -> windowed events. Returns ``{video, model_version, duration, domain, events}``;
    ``domain`` (``{score, in_domain, threshold}``, ``core/spotter/domain.py``) needs a ``spotter``, else None."""
    from football_assets.core.spotter.domain import video_domain

    video = Path(video)
    with tempfile.TemporaryDirectory(prefix="football-analyze-") as tmp:
        clip = Path(tmp) / "clip_4fps.mp4"
        info = transcode_4fps(video, clip, video.name)
        domain = video_domain(spotter, clip)
        events = predict_windows(predictor, clip, info.duration, window_s, overlap_s, nms_iou, Path(tmp), progress,
                                 max_new_tokens)
    return {"video": str(video.resolve()), "model_version": model_version, "duration": round(info.duration, 3),
            "domain": domain, "events": events}


# ---------------------------------------------------------------------------------------------------
# Overlay


def _font() -> str | None:
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", "sans"], capture_output=True, text=True).stdout.strip()
        if out and Path(out).exists():
            return out
    return None


def _lanes(events: Sequence[dict]) -> list[int]:
    """A row per event so labels of overlapping events do not cover each other."""
    ends: list[float] = []
    lanes = []
    for e in events:
        for i, end in enumerate(ends):
            if end <= e["start_time"]:
                ends[i] = e["end_time"]
                lanes.append(i)
                break
        else:
            ends.append(e["end_time"])
            lanes.append(len(ends) - 1)
    return lanes


def draw_overlay(src: str | Path, events: Sequence[dict], dst: str | Path) -> None:
    """Write ``src`` with one label per event (``Goal 0.93: description``) shown during the event."""
    import ffmpeg

    src, dst = Path(src), Path(dst)
    info = probe(src)
    streams = ffmpeg.probe(str(src))["streams"]
    v = next(s for s in streams if s.get("codec_type") == "video")
    offset = float(v.get("start_time") or 0.0)  # drawtext's t is the frame timestamp, not time since start
    size = max(14, round(info.height / 24))
    max_chars = max(20, int((info.width - 20) / (size * 0.6)))  # ~0.6 em per character in DejaVu Sans
    font = _font()
    events = sorted(events, key=lambda e: (e["start_time"], e["end_time"]))
    with tempfile.TemporaryDirectory(prefix="overlay-") as tmp:
        chain, label = [], "[0:v]scale=trunc(iw/2)*2:trunc(ih/2)*2"
        for i, (e, lane) in enumerate(zip(events, _lanes(events))):
            text = Path(tmp) / f"e{i}.txt"
            desc = " ".join(str(e.get("description", "")).split())
            label_text = f"{e['event']} {e.get('confidence', 1.0):.2f}" + (f": {desc}" if desc else "")
            if len(label_text) > max_chars:  # keep the label inside the frame
                label_text = label_text[: max_chars - 3].rstrip() + "..."
            text.write_text(label_text)
            opts = [f"textfile='{text}'", "expansion=none", f"fontsize={size}", "fontcolor=white", "box=1",
                    "boxcolor=black@0.6", "boxborderw=6", "x=10", f"y={10 + lane * round(size * 1.8)}",
                    f"enable='between(t,{e['start_time'] + offset:.3f},{e['end_time'] + offset:.3f})'"]
            if font:
                opts.insert(0, f"fontfile='{font}'")
            label += ",drawtext=" + ":".join(opts)
        chain.append(label + "[v]")
        script = Path(tmp) / "filter.txt"
        script.write_text(";".join(chain))
        with atomic_path(dst) as out:
            cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-filter_complex_script", str(script), "-map", "[v]",
                   "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-movflags", "+faststart", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
                raise VideoError(src.name, f"overlay encode failed: {lines[-1] if lines else 'unknown error'}")
