"""The synthetic demo's annotator: the true events of every demo clip, written as Label Studio export
files under ``<data>/labels/demo/`` where the embedded (serverless) ``annotations`` path reads them; and
the long demo match (``demo/match.py``) written as a video with its ground truth.

It belongs to the annotation stage, not to ingest: fetching a clip never writes labels.
"""

from __future__ import annotations

import json
from pathlib import Path

from football_assets.core.annotation.ls_export import task_export
from football_assets.core.annotation.snapshots import parse_result
from football_assets.core.demo import generator, match, scene
from football_assets.core.events import TARGET_FPS
from football_assets.core.fsutil import atomic_path, read_json, write_json
from football_assets.core.ingest.catalog import load_source
from football_assets.core.ingest.sources import ClipSource
from football_assets.core.layout import DataLayout


def write_demo_ground_truth(layout: DataLayout, source: ClipSource) -> Path:
    """The demo clip's true events as a Label Studio export file; rewritten only when it would change."""
    clip = generator.clip_at(source.location)
    out = layout.labels_dir / "demo" / f"{source.key}.json"
    export = [task_export(source.key, TARGET_FPS, list(clip.events), task_id=clip.index + 1)]
    if read_json(out) != export:
        write_json(out, export)
    return out


def write_demo_labels(layout: DataLayout, clips: list[dict]) -> list[Path]:
    """Ground-truth files for every demo clip among ``clips`` (4 fps clip facts); other clips are skipped."""
    out = []
    for facts in clips:
        source = load_source(layout, facts["clip_id"])
        if source.kind == "demo":
            out.append(write_demo_ground_truth(layout, source))
    return out


def write_match(dest: str | Path, minutes: float, seed: int, graphics: bool = True, fps: int = TARGET_FPS) -> dict:
    """Render the long match to ``<dest>/<key>.mp4`` and its ground truth to ``<dest>/<key>.json`` (Label
    Studio export), atomically; returns ``{video, labels, clip}``."""
    from football_assets.core.ingest.video import encode_frames

    clip = match.plan_match(minutes, seed, graphics=graphics)
    clip.fps = fps
    dest = Path(dest)
    video, labels = dest / f"{clip.key}.mp4", dest / f"{clip.key}.json"
    encode_frames(scene.render_frames(clip), video, fps, clip.key, crf=generator.ENCODE_CRF)
    with atomic_path(labels) as tmp:
        tmp.write_text(json.dumps([task_export(clip.key, TARGET_FPS, clip.events, task_id=1)], indent=2))
    return {"video": video, "labels": labels, "clip": clip}


def read_truth(labels: str | Path) -> list[dict]:
    """The events of a match ground-truth file (Label Studio export, first task), as event dicts."""
    task = json.loads(Path(labels).read_text())[0]
    events = parse_result(task["annotations"][0]["result"], float(task["data"]["fps"]), str(labels))
    return sorted((e.to_dict() for e in events), key=lambda e: e["start_time"])
