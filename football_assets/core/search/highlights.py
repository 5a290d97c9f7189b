"""Highlight reels: an analysis's events (filtered by class and confidence) -> cuts with a margin, overlapping
cuts merged -> one mp4 (``football-events highlights``, the review page's "Build reel" button).

Cut edges are snapped outwards to the source's frame grid, so every cut is a whole number of frames and the
reel lasts exactly the sum of its cuts. One ffmpeg run does it all: each cut is its own input (input-side
seeking, frame-accurate when re-encoding), gets its caption (the classes it holds and their match times)
drawn by ``drawtext``, and the ``concat`` filter joins them; the source's first audio stream is kept, cut
and padded with silence to the video's length, when there is one.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from football_assets.core.events import UnknownEventClass, check_class
from football_assets.core.fsutil import atomic_path
from football_assets.core.ingest.video import VideoError, probe


class HighlightError(ValueError):
    """Input that cannot make a reel: an unknown class, no events left after the filter, a missing video."""


def load_result(path: str | Path) -> dict:
    """An ``analyze --out`` JSON (``{video, events, ...}``); HighlightError naming the file when it is not one."""
    import json

    path = Path(path)
    if not path.is_file():
        raise HighlightError(f"{path}: no such events file")
    try:
        result = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HighlightError(f"{path}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(result, dict) or "video" not in result or not isinstance(result.get("events"), list):
        raise HighlightError(f"{path}: not an `analyze --out` result (needs 'video' and a list of 'events')")
    return result


def check_classes(classes: Iterable[str] | None) -> list[str] | None:
    """The class filter, each name checked; None keeps every class."""
    if classes is None:
        return None
    try:
        return [check_class(c.strip()) for c in classes if c.strip()] or None
    except UnknownEventClass as exc:
        raise HighlightError(f"--classes: {exc}") from None


def select(events: Sequence[dict], classes: Iterable[str] | None = None, min_confidence: float | None = None) -> list[dict]:
    """The events of the given classes at least ``min_confidence`` confident (an event without a confidence,
    truth, counts as 1.0), by start time; HighlightError when none is left."""
    wanted = check_classes(classes)
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise HighlightError(f"--min-confidence {min_confidence}: expected a number between 0 and 1")
    kept = [e for e in events if (wanted is None or e["event"] in wanted)
            and (min_confidence is None or float(e.get("confidence") if e.get("confidence") is not None else 1.0)
                 >= min_confidence)]
    if not kept:
        what = f"classes {', '.join(wanted)}" if wanted else "any class"
        raise HighlightError(f"no events left after the filter ({len(events)} events in all; {what}, "
                             f"min confidence {min_confidence if min_confidence is not None else 'none'})")
    return sorted(kept, key=lambda e: (float(e["start_time"]), float(e["end_time"])))


def clock(seconds: float) -> str:
    """Match time as ``mm:ss`` (``h:mm:ss`` from an hour on)."""
    s = int(max(seconds, 0.0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def plan_cuts(events: Sequence[dict], margin: float, duration: float, fps: float, offset: float = 0.0) -> list[dict]:
    """Each event widened by ``margin`` either side, snapped outwards to the frame grid, clamped to the video,
    and merged with the cuts it overlaps or touches. Each cut: ``start``, ``end``, ``events``, ``caption``."""
    if margin < 0:
        raise HighlightError(f"--margin {margin}: expected seconds >= 0")
    grid = fps if fps > 0 else 25.0
    cuts: list[dict] = []
    for e in sorted(events, key=lambda e: float(e["start_time"])):
        start = max(0.0, math.floor((float(e["start_time"]) - margin) * grid + 1e-6) / grid)
        end = min(duration, math.ceil((float(e["end_time"]) + margin) * grid - 1e-6) / grid)
        if end <= start:
            continue  # an event past the video's end
        if cuts and start <= cuts[-1]["end"]:
            cuts[-1]["end"] = max(cuts[-1]["end"], end)
            cuts[-1]["events"].append(e)
        else:
            cuts.append({"start": start, "end": end, "events": [e]})
    for c in cuts:
        c["start"], c["end"] = round(c["start"], 6), round(c["end"], 6)
        c["caption"] = " · ".join(f"{e['event']} {clock(offset + float(e['start_time']))}" for e in c["events"])
    return cuts


def _font() -> str | None:
    from football_assets.core.inference.analyze import _font as font

    return font()


def render(video: Path, cuts: Sequence[dict], dest: Path, height: int, has_audio: bool) -> None:
    """One ffmpeg run: every cut captioned and concatenated into ``dest`` (atomically)."""
    font = _font()
    size = max(14, round(height / 20))
    with tempfile.TemporaryDirectory(prefix="reel-") as tmp:
        inputs, chains, joined = [], [], ""
        for i, c in enumerate(cuts):
            dur = c["end"] - c["start"]
            inputs += ["-ss", f"{c['start']:.6f}", "-t", f"{dur:.6f}", "-i", str(video)]
            text = Path(tmp) / f"c{i}.txt"
            text.write_text(c["caption"])
            opts = [f"textfile='{text}'", "expansion=none", f"fontsize={size}", "fontcolor=white", "box=1",
                    "boxcolor=black@0.65", f"boxborderw={max(6, size // 3)}", f"x={size}", f"y=h-th-{size}"]
            if font:
                opts.insert(0, f"fontfile='{font}'")
            chains.append(f"[{i}:v]setpts=PTS-STARTPTS,scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,"
                          f"drawtext={':'.join(opts)}[v{i}]")
            joined += f"[v{i}]"
            if has_audio:
                chains.append(f"[{i}:a:0]atrim=0:{dur:.6f},asetpts=PTS-STARTPTS,aresample=48000,"
                              f"apad=whole_dur={dur:.6f}[a{i}]")
                joined += f"[a{i}]"
        chains.append(f"{joined}concat=n={len(cuts)}:v=1:a={1 if has_audio else 0}[v]" + ("[a]" if has_audio else ""))
        script = Path(tmp) / "filter.txt"
        script.write_text(";\n".join(chains))
        with atomic_path(dest) as out:
            cmd = ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex_script", str(script), "-map", "[v]",
                   *(["-map", "[a]", "-c:a", "aac", "-b:a", "128k"] if has_audio else []),
                   "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                   "-movflags", "+faststart", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
                raise VideoError(video.name, f"highlight reel encode failed: {lines[-1] if lines else 'unknown error'}")


def highlights(result: dict, dest: str | Path, classes: Iterable[str] | None = None,
               min_confidence: float | None = None, margin: float = 2.0, offset: float = 0.0) -> dict:
    """Build the reel of ``result``'s events (an ``analyze`` result, or any ``{video, events}``) at ``dest``.

    ``offset``: where the video starts in its match (captions show match time). Returns ``{reel, video,
    cuts, events, duration_s}`` (``duration_s``: the cuts' total, which the reel lasts to the frame)."""
    events = select(result.get("events") or [], classes, min_confidence)
    video = Path(str(result["video"]))
    if not video.is_file():
        raise HighlightError(f"video {video} of these events does not exist (moved or deleted?)")
    dest = Path(dest)
    if dest.resolve() == video.resolve():
        raise HighlightError(f"--out {dest} would overwrite the source video")
    info = probe(video)
    cuts = plan_cuts(events, margin, info.duration, info.fps, offset)
    if not cuts:
        raise HighlightError(f"no events left inside the video ({info.duration:.2f} s): the events lie past its end")
    render(video, cuts, dest, info.height, info.has_audio)
    return {"reel": str(dest), "video": str(video), "events": sum(len(c["events"]) for c in cuts),
            "cuts": [{k: c[k] for k in ("start", "end", "caption")} for c in cuts],
            "duration_s": round(sum(c["end"] - c["start"] for c in cuts), 6), "audio": info.has_audio}
