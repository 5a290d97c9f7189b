"""A data root with a LoRA adapter and an event spotter trained on the same splits version, and a
multi-clip video: shared by the cascade tests (analyze, report, bench-like checks)."""

import shutil
from pathlib import Path

import pytest

from football_assets.core.layout import DataLayout
from tests.fixtures_evaluation import ffmpeg

FAST = {"cnn_width": 8, "height": 96, "width": 144, "cpu_threads": 1, "logging_steps": 5}


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
