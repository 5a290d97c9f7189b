"""The spotter learns the demo events on CPU, through its real CLI, on real demo clips.

32 demo clips of the test world with a class cue (rendered, made 4 fps by the real ingest code, split by
the real builder: 16 / 8 / 8 clips by match; ``fixtures_spotter.spotter_splits`` says why the cue) train the
default spotter (frozen ImageNet EfficientNet-Lite0, per-frame features computed once);
the held-out test clips are scored with SoccerNet tight average-mAP against a random-score baseline on the
same clips. The resume test uses the from-scratch small CNN (it tests the checkpoints, not the network).
"""

import json

import numpy as np
import pytest
import torch

from football_assets.core.metrics import soccernet_average_map
from football_assets.core.spotter import decode
from football_assets.core.spotter.backbone import BackboneWeightsError, load_lite0, packaged_weights
from football_assets.core.spotter.data import SpotterDataError, load_event_samples
from football_assets.core.spotter.infer import Spotter, SpotterLoadError
from football_assets.core.spotter.model import SpotterConfigError, SpotterNet
from football_assets.core.spotter.train import SpotterTrainConfig, resolve
from tests.fixtures_spotter import train_cli

SMALL = {"backbone": "small_cnn", "cnn_width": 8, "height": 96, "width": 144, "cpu_threads": 1, "logging_steps": 10}


def test_spotter_learns_the_demo_events_on_held_out_clips(demo_spotter, spotter_splits):
    spotter_dir, info = demo_spotter
    assert info["backbone"] == "efficientnet_lite0" and info["backbone_frozen"] and info["frame_size"] == "96x144"
    assert info["train_clips"] >= 12 and info["final_loss"] < info["first_loss"]
    # features computed once per clip (train both ways round, val once), never per step
    assert info["backbone_feature_frames"] == 32 * (2 * info["train_clips"] + info["val_clips"])
    spotter = Spotter.load(spotter_dir)
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
    # measured on the cue world: test tight a-mAP 0.56 against 0.27 for random scores (8 test clips, few events)
    assert amap >= 0.5 and amap >= base + 0.2, (amap, base)
    top = {int(p.argmax()) for p in peaks}
    assert len(top) >= 3 and np.ptp(np.stack(peaks), axis=0).max() > 0.2, "the spotter scores every clip the same"


def test_spotter_resumes_from_its_last_checkpoint(spotter_splits, tmp_path):
    cfg = {"splits_dir": str(spotter_splits), "splits_version": "s1", "output_dir": str(tmp_path / "run"),
           "max_steps": 2, "save_steps": 2, **SMALL}
    first = train_cli(cfg, tmp_path / "a.json")
    assert first["steps"] == 2 and first["resumed_from"] is None
    second = train_cli({**cfg, "max_steps": 4}, tmp_path / "b.json")
    assert second["steps"] == 4 and second["resumed_from"].endswith("checkpoint-2")


def test_packaged_lite0_weights_load_strictly_and_know_a_football(real_clips):
    """Every key of the packaged state dict is used (strict load), and the ImageNet classifier still works:
    on the middle frame of the real close-range clip, "soccer ball" is among the top-5 classes."""
    from torchvision.models import ResNet50_Weights

    from football_assets.core.ingest.video import read_frames
    from football_assets.core.spotter import backbone

    state = torch.load(packaged_weights(), map_location="cpu", weights_only=True)
    net = load_lite0().eval()
    assert set(net.state_dict()) == set(state) and len(state) == 296
    clip = next(c for c in real_clips if c.name == "indoor_amateur_portrait.mp4")
    frames = read_frames(clip, 224, 224)
    x = torch.from_numpy(np.array(frames[len(frames) // 2:len(frames) // 2 + 1])).permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor(backbone.MEAN).view(1, 3, 1, 1)) / torch.tensor(backbone.STD).view(1, 3, 1, 1)
    with torch.no_grad():
        top5 = net(x)[0].topk(5).indices.tolist()
    names = [ResNet50_Weights.IMAGENET1K_V1.meta["categories"][i] for i in top5]
    assert "soccer ball" in names, names


def test_frozen_backbone_stays_imagenet_while_the_heads_train(tmp_path):
    net = SpotterNet(SpotterTrainConfig().net())
    before = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    net.train()
    assert not net.backbone.training and not any(p.requires_grad for p in net.backbone.parameters())
    frames = torch.randint(0, 256, (2, 8, 96, 144, 3), dtype=torch.uint8)
    spot = torch.zeros(2, 8, 9)
    spot[..., -1] = 1
    out = net(frames, spot, torch.zeros(2, 8, 8))
    out["loss"].backward()
    torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1.0).step()
    assert all(torch.equal(before[k], v) for k, v in net.backbone.state_dict().items())  # BatchNorm stats too
    assert net.proj[0].weight.grad is not None
    # the same heads from features computed once give the same scores as from frames
    net.eval()
    s1, m1, f = net.scores(frames)
    s2, m2, _ = net.scores(features=f)
    assert torch.allclose(s1, s2) and torch.allclose(m1, m2) and f.shape == (2, 8, 1280)
    bad = tmp_path / "bad.pth"
    torch.save({"_conv_stem.weight": torch.zeros(1)}, bad)
    with pytest.raises(BackboneWeightsError, match=f"backbone weights {bad}: not an EfficientNet-Lite0 state dict"):
        load_lite0(bad)


def test_settings_resolve_once_defaults_profile_then_run(tmp_path):
    (tmp_path / "train.jsonl").write_text("")
    (tmp_path / "val.jsonl").write_text("")
    paths = {"splits_dir": str(tmp_path), "output_dir": str(tmp_path / "o")}
    cpu = resolve({"height": None, "epochs": 3.0}, "cpu", **paths)
    assert cpu.height == SpotterTrainConfig.height and cpu.epochs == 3.0 and cpu.bf16 is False
    gpu = resolve({"bf16": None}, "a100-80gb", **paths)
    assert gpu.bf16 is True and resolve({"bf16": False}, "a100-80gb", **paths).bf16 is False
    with pytest.raises(SpotterConfigError, match="unknown GPU profile 'tpu'; known profiles: a100-80gb, cpu"):
        resolve({}, "tpu", **paths)


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
