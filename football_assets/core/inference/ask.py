"""Free-text grounding on any video: "when does <described moment> happen?" -> a time range.

The video is resampled to the model's 4 fps format and cut into the adapter's windows (as ``analyze``);
each window gets the free-text grounding instruction (``prompts.free_grounding_question``, the one the
report scores). Spans a window places are shifted to video time; the answer is the span farthest from a
cut window edge (the window that saw the whole moment), the others are listed as ``candidates``.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from football_assets.core import prompts
from football_assets.core.inference.analyze import DEFAULT_OVERLAP_S, plan_windows
from football_assets.core.ingest.video import cut_segment, transcode_4fps


def ask_video(video: str | Path, question: str, predictor, model_version: str, window_s: float,
              overlap_s: float = DEFAULT_OVERLAP_S, progress: bool = True, max_new_tokens: int = 64, spotter=None) -> dict:
    """``{video, question, model_version, duration, domain, answer, candidates, raw}``; ``answer`` None when no
    window places the moment; ``domain`` as ``analyze_video``'s (None without a ``spotter``)."""
    from tqdm import tqdm

    from football_assets.core.spotter.domain import video_domain

    video = Path(video)
    instruction = prompts.free_grounding_question(question)
    candidates, raw = [], []
    with tempfile.TemporaryDirectory(prefix="football-ask-") as tmp:
        clip = Path(tmp) / "clip_4fps.mp4"
        info = transcode_4fps(video, clip, video.name)
        domain = video_domain(spotter, clip)
        windows = plan_windows(info.duration, window_s, overlap_s)
        for i, (ws, we) in enumerate(tqdm(windows, desc=f"ask {video.name}", unit="window",
                                          disable=None if progress else True, file=sys.stderr)):
            path = clip if len(windows) == 1 else Path(tmp) / f"w{i:05d}.mp4"
            if path != clip:
                cut_segment(clip, path, ws, we, f"{video.name} window {ws:.2f}-{we:.2f} s")
            text = predictor.generate_scored(str(path), instruction=instruction, max_new_tokens=max_new_tokens).text
            raw.append({"window": [ws, we], "answer": text})
            try:
                got = prompts.parse_free_grounding(text)
            except prompts.AnswerParseError:
                continue
            if got.get("occurs") is False:
                continue
            s, e = ws + got["start_time"], min(ws + got["end_time"], we)
            if s < e:
                centre = (s + e) / 2
                edge = min(centre - ws if ws > 0 else math.inf, we - centre if we < info.duration - 1e-6 else math.inf)
                candidates.append({**({"event": got["event"]} if "event" in got else {}),
                                   "start_time": round(s, 3), "end_time": round(e, 3), "_edge": edge})
            if path != clip:
                path.unlink(missing_ok=True)
    candidates.sort(key=lambda c: (-c["_edge"], c["start_time"]))
    candidates = [{k: v for k, v in c.items() if k != "_edge"} for c in candidates]
    return {"video": str(video.resolve()), "question": question, "model_version": model_version,
            "duration": round(info.duration, 3), "domain": domain, "answer": candidates[0] if candidates else None,
            "candidates": candidates, "raw": raw}
