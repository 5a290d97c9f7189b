"""Train/serve parity of the video tokens: one real 4 fps demo clip gets the same number of video tokens from
the training inputs, the inference predictor, transformers' processor resizing the raw frames with the
settings the printed vLLM command passes, and qwen-vl-utils' sizing rule (written out below from its
source), for the tiny model and for Cosmos-Reason1's budget; and no processor warning is printed."""

import json
import logging
import math
import re

import numpy as np
import pytest

from football_assets.core.inference.serving import vllm_command
from football_assets.core.ingest.video import probe, read_frames
from football_assets.core.training.model import get_spec, load_base
from football_assets.core.training.train_args import resolve
from football_assets.core.training.video_inputs import (
    VideoBudget,
    VideoCache,
    frame_max_pixels,
    frame_size,
    process_video,
    video_token_count,
)

PATCH, MERGE, TEMPORAL = 14, 2, 2


def qwen_vl_utils_video_tokens(height: int, width: int, total_frames: int, video_fps: float, *, fps: float,
                               min_pixels: int, max_pixels: int) -> int:
    """qwen-vl-utils (vision_process.py: smart_nframes, fetch_video, smart_resize) for a video element with
    ``fps``, ``min_pixels`` and ``max_pixels``, at its default totals; merged tokens of the result."""
    factor, frame_factor = PATCH * MERGE, 2
    video_max_pixels, video_total_pixels = 768 * 28 * 28, int(128000 * 28 * 28 * 0.9)
    # smart_nframes
    min_frames = math.ceil(4 / frame_factor) * frame_factor
    max_frames = math.floor(min(768, total_frames) / frame_factor) * frame_factor
    nframes = min(min(max(total_frames / video_fps * fps, min_frames), max_frames), total_frames)
    nframes = math.floor(nframes / frame_factor) * frame_factor
    # fetch_video: the per-frame cap, then the element's max_pixels
    cap = max(min(video_max_pixels, video_total_pixels / nframes * frame_factor), int(min_pixels * 1.05))
    cap = min(max_pixels, cap)
    # smart_resize
    h_bar, w_bar = max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor)
    if h_bar * w_bar > cap:
        beta = math.sqrt(height * width / cap)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar, w_bar = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return (nframes // TEMPORAL) * (h_bar // PATCH) * (w_bar // PATCH) // MERGE ** 2


def vllm_settings(model: str) -> tuple[dict, int]:
    """``--mm-processor-kwargs`` and the frame count of the vLLM command the project prints."""
    cmd = vllm_command(resolve(None, model, "a100-80gb")[0])  # the settings train --dry-run prints it for
    mm = json.loads(re.search(r"--mm-processor-kwargs '([^']+)'", cmd).group(1))
    io = json.loads(re.search(r"--media-io-kwargs '([^']+)'", cmd).group(1))
    return mm, io["video"]["num_frames"]


def processor_tokens(path, mm: dict, num_frames: int) -> int:
    """transformers' Qwen2-VL video processor resizing the raw frames itself, with vLLM's settings."""
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    frames = read_frames(path)
    idx = np.linspace(0, len(frames) - 1, min(num_frames, len(frames))).round().astype(int)
    vp = Qwen2VLVideoProcessor(patch_size=PATCH, temporal_patch_size=TEMPORAL, merge_size=MERGE,
                               min_pixels=mm["min_pixels"], max_pixels=mm["max_pixels"])
    out = vp(videos=[frames[idx]], do_sample_frames=False, cap_pixels_per_frame=mm["cap_pixels_per_frame"],
             return_tensors="pt")
    return int(out["video_grid_thw"].prod()) // MERGE ** 2


@pytest.fixture(scope="module")
def clip(demo_splits):
    _, splits_dir = demo_splits
    sample = json.loads((splits_dir / "train.jsonl").read_text().splitlines()[0])
    return sample["video"]


@pytest.fixture
def processor_warnings():
    """Records of transformers' loggers mentioning the pixel cap (warn-once cache cleared first)."""
    import transformers.utils.logging  # noqa: F401  (installs Logger.warning_once, an lru_cache)

    logging.Logger.warning_once.cache_clear()
    records: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            if "cap_pixels_per_frame" in record.getMessage():
                records.append(record.getMessage())

    handler = Catch()
    root = logging.getLogger("transformers")
    root.addHandler(handler)
    yield records
    root.removeHandler(handler)


def test_tiny_video_tokens_agree_in_training_inference_vllm_and_qwen_vl_utils(clip, processor_warnings):
    from football_assets.core.inference.predictor import EventPredictor

    spec = get_spec("tiny")
    _, processor = load_base("tiny")
    budget = VideoBudget(spec.max_frames, spec.min_pixels, spec.max_pixels)
    training = video_token_count(VideoCache(processor, budget).get(clip, 4), processor)
    predictor = EventPredictor("tiny")
    inputs = predictor.inputs(clip, fps=4)
    inference = int((inputs["input_ids"] == predictor.processor.video_token_id).sum())
    mm, num_frames = vllm_settings("tiny")
    info = probe(clip)
    reference = qwen_vl_utils_video_tokens(info.height, info.width, len(read_frames(clip)), info.fps,
                                           fps=mm["fps"], min_pixels=mm["min_pixels"], max_pixels=mm["max_pixels"])
    assert (mm["min_pixels"], mm["max_pixels"], mm["cap_pixels_per_frame"], num_frames) == (
        spec.min_pixels, spec.max_pixels, True, spec.max_frames)
    assert training == inference == processor_tokens(clip, mm, num_frames) == reference == 192
    assert processor_warnings == []


def test_cosmos_budget_video_tokens_agree(clip, processor_warnings):
    """The 7B's budget on the same clip: our inputs (the tiny model's processor geometry is the 7B's) vs vLLM's
    processor and qwen-vl-utils."""
    spec = get_spec("cosmos-reason1-7b")
    _, processor = load_base("tiny")
    budget = VideoBudget(spec.max_frames, spec.min_pixels, spec.max_pixels)
    ours = video_token_count(process_video(clip, processor, budget, 4), processor)
    mm, num_frames = vllm_settings("cosmos-reason1-7b")
    info = probe(clip)
    reference = qwen_vl_utils_video_tokens(info.height, info.width, len(read_frames(clip)), info.fps,
                                           fps=mm["fps"], min_pixels=mm["min_pixels"], max_pixels=mm["max_pixels"])
    assert ours == processor_tokens(clip, mm, num_frames) == reference
    assert processor_warnings == []


@pytest.mark.parametrize("height,width,frames,max_pixels", [
    (480, 720, 32, 336 * 504), (1080, 1920, 64, 336 * 504), (1080, 1920, 400, 768 * 28 * 28), (720, 1280, 768, 768 * 28 * 28)])
def test_frame_size_is_the_qwen_vl_utils_rule_with_the_per_frame_cap(height, width, frames, max_pixels):
    """Many frames at a large frame size make the per-frame cap bind (400 frames: 192 k pixels a frame, not 602 k):
    the same size both ways (qwen-vl-utils takes at most 768 frames)."""
    budget = VideoBudget(frames, 28 * 28 * 16, max_pixels)
    h, w = frame_size(height, width, budget, PATCH * MERGE, frames, TEMPORAL)
    ours = (frames // TEMPORAL) * (h // PATCH) * (w // PATCH) // MERGE ** 2
    capped = frame_max_pixels(budget, frames, PATCH * MERGE, TEMPORAL)
    assert (capped < max_pixels) == (frames >= 400) and h * w <= capped  # the cap binds in the long cases
    assert ours == qwen_vl_utils_video_tokens(height, width, frames, 4.0, fps=4.0, min_pixels=budget.min_pixels,
                                              max_pixels=budget.max_pixels)


def test_the_uncapped_default_would_warn(processor_warnings):
    """The capture works: transformers' processor left at its default prints the warning this project avoids."""
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    Qwen2VLVideoProcessor()(videos=[np.zeros((2, 56, 56, 3), np.uint8)], return_tensors="pt")
    assert processor_warnings and "cap_pixels_per_frame" in processor_warnings[0]
