"""The spotter learns the demo events on CPU, through its real CLI, on real demo clips.

32 demo clips (rendered, made 4 fps by the real ingest code, split by the real builder: 16 / 8 / 8 clips
by match) train the small-CNN spotter; the held-out test clips are scored with SoccerNet tight
average-mAP against a random-score baseline on the same clips. Settings are the smallest that learn
(8-channel CNN, 96x144 frames, one thread); the asset's defaults are bigger.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from football_assets.core.dataset import store
from football_assets.core.metrics import soccernet_average_map
from football_assets.core.spotter import decode
from football_assets.core.spotter.data import SpotterDataError, load_event_samples
from football_assets.core.spotter.infer import Spotter, SpotterLoadError
from football_assets.core.spotter.model import SpotterConfigError
from football_assets.core.spotter.train import SpotterTrainConfig
from tests.fixtures_dataset import DemoData, make_splits_from

ROOT = Path(__file__).resolve().parents[1]
FAST = {"cnn_width": 8, "height": 96, "width": 144, "cpu_threads": 1, "logging_steps": 10}


@pytest.fixture(scope="module")
def spotter_splits(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spotter")
    data = DemoData(root, n=32)
    splits = make_splits_from(data)
    dest = data.layout.splits_dir / "s1"
    store.write_version(dest, splits, {"version": "s1"})
    return dest


def train_cli(cfg: dict, path: Path) -> dict:
    path.write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DAGSTER_PIPES_CONTEXT", None)
    done = subprocess.run([sys.executable, "-m", "football_assets.core.spotter.train", "--config", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads((Path(cfg["output_dir"]) / "metrics.json").read_text())


def test_spotter_learns_the_demo_events_on_held_out_clips(spotter_splits, tmp_path):
    cfg = {"splits_dir": str(spotter_splits), "splits_version": "s1", "output_dir": str(tmp_path / "run"),
           "epochs": 30, **FAST}
    info = train_cli(cfg, tmp_path / "cfg.json")
    assert info["train_clips"] >= 12 and info["final_loss"] < info["first_loss"]
    spotter = Spotter.load(tmp_path / "run" / "spotter")
    assert spotter.splits_version == "s1" and spotter.thresholds["chosen_on"] == "val"

    test = load_event_samples(spotter_splits, "test")
    assert {s["clip_id"] for s in test}.isdisjoint(s["clip_id"] for s in load_event_samples(spotter_splits, "train"))
    truth, found, chance, peaks = {}, {}, {}, []
    rng = np.random.default_rng(0)
    for s in test:
        spot, member = spotter.score_video(s["video"])
        assert spot.shape == member.shape == (32, 8)
        assert 0 <= spot.min() and spot.max() <= 1 and 0 <= member.min() and member.max() <= 1
        truth[s["clip_id"]] = s["target"]
        found[s["clip_id"]] = spotter.detect(spot, member)["spots"]
        chance[s["clip_id"]] = decode.spots(rng.random(spot.shape), 4.0)
        peaks.append(spot.max(0))
    amap = soccernet_average_map(truth, found)["a_mAP"]
    base = soccernet_average_map(truth, chance)["a_mAP"]
    # measured: test tight a-mAP ~0.9 against ~0.1 for random scores
    assert amap >= 0.5 and amap >= base + 0.3, (amap, base)
    top = {int(p.argmax()) for p in peaks}
    assert len(top) >= 3 and np.ptp(np.stack(peaks), axis=0).max() > 0.2, "the spotter scores every clip the same"


def test_spotter_resumes_from_its_last_checkpoint(spotter_splits, tmp_path):
    cfg = {"splits_dir": str(spotter_splits), "splits_version": "s1", "output_dir": str(tmp_path / "run"),
           "max_steps": 2, "save_steps": 2, **FAST}
    first = train_cli(cfg, tmp_path / "a.json")
    assert first["steps"] == 2 and first["resumed_from"] is None
    second = train_cli({**cfg, "max_steps": 4}, tmp_path / "b.json")
    assert second["steps"] == 4 and second["resumed_from"].endswith("checkpoint-2")


def test_bad_spotter_input_is_named(tmp_path):
    with pytest.raises(SpotterConfigError, match="splits_dir .*: train.jsonl missing"):
        SpotterTrainConfig.from_dict({"splits_dir": str(tmp_path), "output_dir": str(tmp_path / "o")})
    (tmp_path / "train.jsonl").write_text(json.dumps({"id": "a", "task": "events", "video": "/nope.mp4", "target": []}) + "\n")
    (tmp_path / "val.jsonl").write_text("")
    with pytest.raises(SpotterConfigError, match="unknown spotter backbone 'resnet9'"):
        SpotterTrainConfig.from_dict({"splits_dir": str(tmp_path), "output_dir": str(tmp_path / "o"), "backbone": "resnet9"})
    with pytest.raises(SpotterConfigError, match="unknown spotter config field.*: lr"):
        SpotterTrainConfig.from_dict({"splits_dir": str(tmp_path), "output_dir": str(tmp_path / "o"), "lr": 1})
    with pytest.raises(SpotterDataError, match="sample a: video /nope.mp4 does not exist"):
        load_event_samples(tmp_path, "train")
    with pytest.raises(SpotterDataError, match="val.jsonl: no samples of task 'events'"):
        load_event_samples(tmp_path, "val")
    with pytest.raises(SpotterLoadError, match="no spotter at .*materialize event_spotter first"):
        Spotter.load(tmp_path / "missing")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.safetensors").write_text("x")
    with pytest.raises(SpotterLoadError, match="incomplete: spotter_config.json, thresholds.json, train_meta.json missing"):
        Spotter.load(tmp_path / "half")
