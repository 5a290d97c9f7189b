"""Fixtures of the evaluation / inference tests: videos with a known event made with the real ffmpeg,
and a frame-reading predictor for the windowing/NMS unit tests (the real model is used elsewhere)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from football_assets.core.ingest.video import read_frames
from football_assets.core.layout import DataLayout


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def flash_video(path: Path, seconds: float, flash: tuple[float, float], size: str = "320x240", rate: str = "25",
                extra: tuple = ()) -> Path:
    """A black video that is white during ``flash`` = [start, end) seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    s, e = flash
    ffmpeg("-f", "lavfi", "-i", f"color=c=black:s={size}:r={rate}:d={seconds}",
           "-vf", f"drawbox=c=white:t=fill:enable='gte(t\\,{s})*lt(t\\,{e})'",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path))
    return path


class FlashPredictor:
    """A ``Predictor`` that says 'Goal' over the white frames of the window it is given (times relative to the
    window).

    Reads the real 4 fps window files, so it checks that windows are cut where they are planned."""

    budget = None  # no trained video budget: the window length is the caller's

    def __init__(self):
        self.calls: list[int] = []
        self.forgotten: list[str] = []

    def predict(self, video_path: str, **kwargs) -> dict:
        frames = read_frames(video_path, 32, 24)
        self.calls.append(len(frames))
        centre = frames[:, 8:16, 12:20]  # inside any letterbox/pillarbox padding
        white = np.flatnonzero(centre.reshape(len(frames), -1).mean(axis=1) > 128)
        events = [] if not white.size else [{"event": "Goal", "start_time": white[0] / 4, "end_time": (white[-1] + 1) / 4,
                                             "description": "the screen flashes"}]
        return {"events": events, "answer_confidence": None}

    def generate_scored(self, video_path: str, **kwargs):
        raise NotImplementedError("FlashPredictor answers events only")

    def forget(self, video_path: str) -> None:
        self.forgotten.append(video_path)


@pytest.fixture
def flash_predictor() -> FlashPredictor:
    return FlashPredictor()


@pytest.fixture(scope="session")
def trained_root(tmp_path_factory) -> Path:
    """A data root with 8 real 4 fps demo clips, SFT splits (test split: 2 clips) and a tiny adapter trained
    for one real step at <data>/models/lora_adapter (built once; tests work on copies)."""
    from football_assets.core.training.train import TrainConfig, run
    from tests.fixtures_training import make_demo_clips, tiny_config, write_splits

    layout = DataLayout(tmp_path_factory.mktemp("eval_src") / "data")
    splits_dir = write_splits(layout, make_demo_clips(layout))
    run(TrainConfig.from_dict(tiny_config(splits_dir, layout.root / "train_out", max_steps=1, save_steps=100,
                                          adapter_dir=str(layout.adapter_dir))))
    shutil.rmtree(layout.root / "train_out")
    return layout.root


@pytest.fixture
def eval_layout(trained_root, tmp_path) -> DataLayout:
    """A private copy of ``trained_root`` (clip facts and splits keep pointing at the shared clips)."""
    dest = tmp_path / "data"
    shutil.copytree(trained_root, dest)
    return DataLayout(dest)
