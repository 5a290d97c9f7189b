"""Time on the frames (Cosmos-Reason1's ``--timestamp``): each frame's source time drawn in a strip at the
bottom of its final size, the same pixels in training, inference (``analyze``'s loader) and the clip sent to
vLLM, at an unchanged video token count; on in the 7B preset, off by default."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from football_assets import cli
from football_assets.core.ingest.video import read_frames
from football_assets.core.training import timestamps
from football_assets.core.training.model import load_base
from football_assets.core.training.train_args import TrainConfig, model_budget, resolve
from football_assets.core.training.video_inputs import VideoBudget, VideoCache, model_frames, process_video, video_token_count
from tests.fixtures_training import tiny_config

ROOT = Path(__file__).resolve().parents[1]
TINY = model_budget("tiny")
COSMOS = model_budget("cosmos-reason1-7b")


@pytest.fixture(scope="module")
def processor():
    return load_base("tiny")[1]  # the tiny model's video processor has the 7B's patch geometry


@pytest.fixture(scope="module")
def clip(demo_splits):
    _, splits_dir = demo_splits
    return json.loads((splits_dir / "train.jsonl").read_text().splitlines()[0])["video"]


def bright_columns(strip: np.ndarray) -> np.ndarray:
    return np.flatnonzero(strip.max(axis=(0, 2)) > 160)


@pytest.mark.parametrize("budget", [TINY, COSMOS], ids=["tiny-84x112", "cosmos-336x504"])
def test_the_strip_shows_each_frames_source_time_under_the_whole_picture(clip, processor, budget):
    vp = processor.video_processor
    on = model_frames(clip, vp, replace(budget, timestamps=True), 4)
    off = model_frames(clip, vp, replace(budget, timestamps=False), 4)
    assert on["frames"].shape == off["frames"].shape and on["frames_indices"] == off["frames_indices"]
    t, h, w, _ = on["frames"].shape
    strip = timestamps.strip_height(h, vp.patch_size)
    assert strip % vp.patch_size == 0 and 0 < strip <= h // 6
    # as designed: the whole picture, scaled once by ffmpeg into the rows above the strip; off: the full frame
    idx = on["frames_indices"]
    assert np.array_equal(on["frames"][:, :h - strip], read_frames(clip, width=w, height=h - strip)[idx])
    assert np.array_equal(off["frames"], read_frames(clip, width=w, height=h)[idx])
    strips = on["frames"][:, h - strip:]
    for k, i in enumerate(idx):  # the strip of sampled frame k says its source time, in half k % 2
        assert np.array_equal(strips[k], timestamps.draw_strip(timestamps.label(i / 4), w, strip, k % 2, 2))
        cols = bright_columns(strips[k])
        assert len(cols) > 3 and (cols.mean() < w / 2) == (k % 2 == 0)
        assert strips[k].max(axis=2).mean() < 100  # white text on black
    assert len({s.tobytes() for s in strips}) == t  # every time reads differently
    assert timestamps.label(3.25) == "3.25s" and timestamps.label(0) == "0.00s"
    zero, later = (timestamps.draw_strip(timestamps.label(s), w, strip, 0, 2) for s in (0.0, 3.25))
    assert not np.array_equal(zero, later) and len(bright_columns(later)) > 3


def test_the_video_token_count_does_not_change(clip, processor):
    for budget in (TINY, COSMOS):
        on = process_video(clip, processor, replace(budget, timestamps=True), 4)
        off = process_video(clip, processor, replace(budget, timestamps=False), 4)
        assert torch.equal(on["video_grid_thw"], off["video_grid_thw"])
        assert video_token_count(on, processor) == video_token_count(off, processor)
        assert on["second_per_grid_ts"] == off["second_per_grid_ts"]
        assert not torch.equal(on["pixel_values_videos"], off["pixel_values_videos"])
    assert video_token_count(on, processor) == 16 * 12 * 18  # 32 frames of 336x504: 216 tokens per temporal patch


def test_settings_one_default_off_and_on_in_the_7b_preset(clip, processor):
    values, sources = resolve(None, "cosmos-reason1-7b", "a100-80gb")
    assert values["timestamps"] is True and sources["timestamps"] == "preset"
    values, sources = resolve(None, "tiny", "cpu")
    assert values["timestamps"] is False and sources["timestamps"] == "default"
    assert resolve({"timestamps": False}, "cosmos-reason1-7b", "a100-80gb")[0]["timestamps"] is False
    assert COSMOS.timestamps and not TINY.timestamps  # what a base model without adapter runs at
    # the lora_adapter asset's run config can set it (what bench and the Dagster UI use)
    from football_assets.defs.training.assets import LoraAdapterConfig, resolve_settings
    from resources.gpu import GpuResource

    values, sources = resolve_settings(LoraAdapterConfig(timestamps=True), GpuResource())
    assert (values["model"], values["timestamps"], sources["timestamps"]) == ("tiny", True, "run config")
    # the cache never serves frames drawn for the other setting
    assert VideoCache(processor, TINY).key(clip, 4) != VideoCache(processor, replace(TINY, timestamps=True)).key(clip, 4)


def test_the_setting_travels_with_the_adapter_into_analyze_with_the_training_pixels(demo_splits, tmp_path, clip):
    from football_assets.core.inference.analyze import load_predictor

    _, splits_dir = demo_splits
    out = tmp_path / "run"
    cfg = tiny_config(splits_dir, out, max_steps=2, save_steps=100, timestamps=True)
    path = tmp_path / "train.json"
    path.write_text(json.dumps(cfg))
    done = subprocess.run([sys.executable, "-m", "football_assets.core.training.train", "--config", str(path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    meta = json.loads((out / "adapter" / "train_meta.json").read_text())
    assert meta["video_budget"]["timestamps"] is True
    predictor, _, base = load_predictor(out / "adapter", None, "cpu")  # analyze's, ask's and the evaluation's loader
    assert base == "tiny" and predictor.budget == replace(TINY, timestamps=True)
    # the tensors the trainer itself cached for this clip (its disk video cache) are what inference feeds the model
    budget = TrainConfig.from_dict(cfg).budget()
    trained = VideoCache(predictor.processor, budget, out / "video_cache")
    item = trained.get(clip, 4)
    assert (trained.disk_reads, trained.decodes) == (1, 0)
    served = predictor.inputs(clip, fps=4)["pixel_values_videos"]
    assert served.dtype == item["pixel_values_videos"].dtype and torch.equal(served, item["pixel_values_videos"])
    plain = process_video(clip, predictor.processor, TINY, 4)["pixel_values_videos"]
    assert not torch.equal(served, plain)


def test_the_vllm_clip_holds_the_training_frames(clip, processor, tmp_path, capsys):
    """What vLLM decodes (its default video backend is OpenCV) from the clip ``vllm_video`` renders: every frame
    at the final size with its time, lossless; its processor, with the command's settings, then gets the same
    pixel values as training (the resize to the size the frames already have changes nothing)."""
    import cv2

    from football_assets.core.inference.serving import vllm_video

    budget = COSMOS
    dst = vllm_video(clip, tmp_path / "clip.mkv", processor, budget, 4)
    cap = cv2.VideoCapture(str(dst))
    decoded = []
    for _ in range(1000):  # bounded
        ok, frame = cap.read()
        if not ok:
            break
        decoded.append(frame[:, :, ::-1])
    cap.release()
    decoded = np.stack(decoded)
    every = model_frames(clip, processor.video_processor, budget, 4, every_frame=True)
    assert np.array_equal(decoded, every["frames"])
    ours = process_video(clip, processor, budget, 4)
    vp = processor.video_processor
    theirs = vp(videos=[decoded[ours["frames_indices"]]], do_sample_frames=False, cap_pixels_per_frame=True,
                size={"shortest_edge": budget.min_pixels, "longest_edge": budget.max_pixels}, return_tensors="pt")
    assert torch.equal(theirs["video_grid_thw"], ours["video_grid_thw"])
    assert torch.equal(theirs["pixel_values_videos"], ours["pixel_values_videos"])
    with pytest.raises(ValueError, match=r"out\.mp4 must end in \.mkv"):
        vllm_video(clip, tmp_path / "out.mp4", processor, budget, 4)
    assert not (tmp_path / "out.mp4").exists()
    # the printed serving instructions say how the times reach vLLM
    assert cli.main(["train", "--dry-run", "--model", "cosmos-reason1-7b", "--profile", "a100-80gb"]) == 0
    assert "serving.vllm_video" in capsys.readouterr().out


def test_bad_frames_are_refused_by_name():
    with pytest.raises(ValueError, match="pictures have 84 rows, expected 70 above a 14-row strip"):
        timestamps.stamp(np.zeros((2, 84, 112, 3), np.uint8), [0, 0.25], [0, 1], 84, 14, 2)
    with pytest.raises(ValueError, match="2 frames but 1 times"):
        timestamps.stamp(np.zeros((2, 70, 112, 3), np.uint8), [0], [0, 1], 84, 14, 2)
    assert VideoBudget().timestamps is False
