"""The synthetic demo's annotator: the true events of every demo clip, written as Label Studio export
files under ``<data>/labels/demo/`` where the embedded (serverless) ``annotations`` path reads them.

It belongs to the annotation stage, not to ingest: fetching a clip never writes labels.
"""

from __future__ import annotations

from pathlib import Path

from football_assets.core.annotation.ls_export import task_export
from football_assets.core.demo import generator
from football_assets.core.events import TARGET_FPS
from football_assets.core.fsutil import read_json, write_json
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
