"""A small real dataset for the SFT tests: demo ground truth (``generator.plan_clips``) as an annotation
snapshot (interface 1, written with ``snapshots.write_snapshot``) plus the real rendered demo
clips made 4 fps by ``catalog`` (register -> ingest_raw -> make_clip), built once per session.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from football_assets.core.annotation import snapshots
from football_assets.core.dataset import assign, sft
from football_assets.core.demo import generator
from football_assets.core.events import TARGET_FPS
from football_assets.core.ingest import catalog
from football_assets.core.ingest.sources import ClipSource
from football_assets.core.layout import DataLayout

N_CLIPS = 16  # 4 matches of 4 clips; all 8 classes occur


def add_clip(layout: DataLayout, clip: generator.DemoClip) -> dict:
    """Render, ingest and resample one planned demo clip; return its 4 fps facts."""
    catalog.register(layout, [ClipSource(key=clip.key, kind="demo",
                                        location=f"demo:{clip.seed}:{clip.index}" + (":cue" if clip.cue else ""),
                                        source_id=clip.source_id, extra={"n_clips": clip.index + 1})])
    catalog.ingest_raw(layout, clip.key)
    return catalog.make_clip(layout, clip.key).facts


def snapshot_frames(clips: list[generator.DemoClip], facts: dict[str, dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interface-1 DataFrames holding the clips' ground truth as one annotation each."""
    ev_rows, task_rows = [], []
    for i, c in enumerate(clips):
        for e in c.events:
            ev_rows.append({"clip_id": c.key, "task_id": i + 1, "annotation_id": 100 + i, "annotator": "truth@demo",
                            "event": e.event, "start_time": e.start_time, "end_time": e.end_time,
                            "description": e.description, "lead_time": 10.0, "updated_at": "2026-01-01T00:00:00Z"})
        task_rows.append({"clip_id": c.key, "task_id": i + 1, "source_id": facts[c.key]["source_id"],
                          "fps": float(TARGET_FPS), "duration_s": float(facts[c.key]["duration_s"]),
                          "n_events": len(c.events), "annotators": 1, "agreement": float("nan")})
    events = pd.DataFrame(ev_rows, columns=snapshots.EVENT_COLUMNS)
    tasks = pd.DataFrame(task_rows, columns=snapshots.TASK_COLUMNS)
    return events, tasks


class DemoData:
    """A data root with N real clips and an annotation snapshot of their ground truth."""

    def __init__(self, root: Path, n: int = N_CLIPS, seed: int = 0, cue: bool = False):
        self.root = root
        self.layout = DataLayout(root / "data")
        self.plan = generator.plan_clips(n, seed, cue=cue)
        self.facts = {c.key: add_clip(self.layout, c) for c in self.plan}
        self.write_snapshot()

    @property
    def clips(self) -> list[dict]:
        return catalog.list_clips(self.layout)

    def frames(self, clips: list[generator.DemoClip] | None = None):
        return snapshot_frames(clips or self.plan, self.facts)

    def write_snapshot(self, clips: list[generator.DemoClip] | None = None):
        events, tasks = self.frames(clips)
        return snapshots.write_snapshot(self.layout, events, tasks)

    def copy(self, dest: Path) -> "DemoData":
        """An independent copy (clip facts hold absolute paths, so they are rewritten)."""
        shutil.copytree(self.root, dest)
        new = object.__new__(DemoData)
        new.root, new.layout, new.plan = dest, DataLayout(dest / "data"), self.plan
        for sidecar in new.layout.clips_dir.glob("*.json"):
            sidecar.write_text(sidecar.read_text().replace(str(self.root), str(dest)))
        new.facts = {f["clip_id"]: f for f in catalog.list_clips(new.layout)}
        return new


@pytest.fixture(scope="session")
def demo_data_master(tmp_path_factory) -> DemoData:
    """Built once per session (conftest registers this module as a plugin, so every test module shares it)."""
    return DemoData(tmp_path_factory.mktemp("sft_master"))


@pytest.fixture
def demo_data(demo_data_master, tmp_path) -> DemoData:
    """A fresh copy per test, so tests may break clips or labels freely."""
    return demo_data_master.copy(tmp_path / "demo")


def paper_facts(plan: list[generator.DemoClip], root: Path = Path("/nonexistent")) -> dict[str, dict]:
    """Clip facts without video files, for the pure split/sample logic tests (no check reads them)."""
    return {c.key: {"clip_id": c.key, "source_id": c.source_id, "path": str(root / f"{c.key}.mp4"),
                    "duration_s": generator.DURATION_S, "fps": TARGET_FPS, "sha256": f"sha-{c.key}"} for c in plan}


def make_splits_from(data: DemoData) -> dict[str, list[dict]]:
    """The splits the asset would write for ``data`` (same core calls, no files)."""
    snap = snapshots.load_latest(data.layout)
    samples = sft.build_samples(snap.events, snap.tasks, data.clips).samples
    return assign.split_samples(samples, assign.assign_splits(sft.group_classes(samples)))
