"""Spotter fixtures: 32 real demo clips split by match, a spotter trained on them with the default settings
(frozen EfficientNet-Lite0) through its real CLI, the real football clips, and a data root with a LoRA adapter
and a spotter trained on the same splits version plus a multi-clip video (the cascade tests)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from football_assets.core.layout import DataLayout
from tests.fixtures_evaluation import ffmpeg

ROOT = Path(__file__).resolve().parents[1]
FAST = {"cpu_threads": 1, "logging_steps": 5}  # the default network; one torch thread is fastest on a busy CPU


def train_cli(cfg: dict, path: Path) -> dict:
    """Train through ``python -m football_assets.core.spotter.train``; returns its metrics.json."""
    path.write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DAGSTER_PIPES_CONTEXT", None)
    done = subprocess.run([sys.executable, "-m", "football_assets.core.spotter.train", "--config", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads((Path(cfg["output_dir"]) / "metrics.json").read_text())


@pytest.fixture(scope="session")
def spotter_splits(tmp_path_factory) -> Path:
    """32 demo clips through the real ingest and split builder (16 / 8 / 8 clips by match), version s1. They
    are the test world with a class cue (``DemoClip.cue``): 16 broadcast clips are too few for the spotter
    (held-out tight a-mAP ~0.3, random ~0.27); on 128 it reaches ~0.83 (bench/RESULTS.md)."""
    from football_assets.core.dataset import store
    from tests.fixtures_dataset import DemoData, make_splits_from

    data = DemoData(tmp_path_factory.mktemp("spotter"), n=32, cue=True)
    dest = data.layout.splits_dir / "s1"
    store.write_version(dest, make_splits_from(data), {"version": "s1"})
    return dest


@pytest.fixture(scope="session")
def demo_spotter(spotter_splits, tmp_path_factory) -> tuple[Path, dict]:
    """(spotter dir, metrics) of the default spotter trained on ``spotter_splits``."""
    run = tmp_path_factory.mktemp("demo_spotter")
    cfg = {"splits_dir": str(spotter_splits), "splits_version": "s1", "output_dir": str(run / "run"),
           **FAST}
    return run / "run" / "spotter", train_cli(cfg, run / "cfg.json")


@pytest.fixture(scope="session")
def real_clips() -> list[Path]:
    """The real football clips (evaluation only, never trained on): ``$FOOTBALL_REAL_CLIPS`` or
    ``<repo>/../shared/real_football``."""
    folder = Path(os.environ.get("FOOTBALL_REAL_CLIPS", ROOT.parent / "shared" / "real_football"))
    clips = sorted(folder.glob("*.mp4"))
    assert clips, f"no real football clips in {folder} (set FOOTBALL_REAL_CLIPS to the folder)"
    return clips


@pytest.fixture(scope="session")
def cascade_root(trained_root, tmp_path_factory) -> Path:
    """``trained_root`` plus a spotter at ``<data>/models/event_spotter`` trained on the same splits."""
    from football_assets.core.spotter.train import SpotterTrainConfig, run

    root = tmp_path_factory.mktemp("cascade") / "data"
    shutil.copytree(trained_root, root)
    layout = DataLayout(root)
    run(SpotterTrainConfig.from_dict({
        "splits_dir": str(layout.splits_dir / "test-v1"), "splits_version": "test-v1",
        "output_dir": str(root / "spotter_run"), "spotter_dir": str(layout.spotter_dir), "epochs": 20, **FAST}))
    return root


@pytest.fixture(scope="session")
def match_video(cascade_root) -> Path:
    """Three demo clips joined into one video (a short 'match')."""
    clips = sorted((cascade_root / "clips_4fps").rglob("*.mp4"))[:3]
    assert len(clips) == 3
    listing = cascade_root.parent / "concat.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    out = cascade_root.parent / "match.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out))
    return out


@pytest.fixture(scope="session")
def confident_cascade_root(cascade_root, tmp_path_factory) -> Path:
    """``cascade_root`` with a spotter trained long enough to find intervals on its own training clips
    (``cascade_root``'s, trained 20 epochs, scores every frame below its thresholds): the cascade's events
    then carry the spotter's times and confidences. Same splits version as the adapter."""
    from football_assets.core.spotter.train import SpotterTrainConfig, run

    root = tmp_path_factory.mktemp("confident_cascade") / "data"
    shutil.copytree(cascade_root, root, ignore=shutil.ignore_patterns("spotter_run"))
    layout = DataLayout(root)
    shutil.rmtree(layout.spotter_dir)
    run(SpotterTrainConfig.from_dict({
        "splits_dir": str(layout.splits_dir / "test-v1"), "splits_version": "test-v1",
        "output_dir": str(root / "spotter_run"), "spotter_dir": str(layout.spotter_dir), "epochs": 150,
        **{**FAST, "logging_steps": 50}}))
    shutil.rmtree(root / "spotter_run")
    return root
