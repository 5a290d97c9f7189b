"""Video -> model inputs with the TRUE timing, decoded once per run.

transformers 5 assumes 24 fps when a video comes without metadata, which would put every frame at the
wrong temporal (M-RoPE) position; we always pass ``VideoMetadata(fps, frames_indices)`` so
``second_per_grid_ts`` = temporal_patch_size / 4 fps. Frames are scaled by ffmpeg straight to the
pixel budget (a multiple of patch*merge) and the frame budget is met by uniform subsampling that keeps
the true indices. ``VideoCache`` memoises the processed tensors in memory and on disk, so a clip is
decoded once per training run (and once across resumed runs); the in-memory part has a byte budget (least
recently used items leave memory first and are read back from the disk cache when needed again).

Train/serve parity: the frame size is chosen here, once, by the rule qwen-vl-utils (and so vLLM) applies:
``smart_resize`` between ``min_pixels`` and ``max_pixels``, with the per-frame cap that shares a total pixel
budget (``MAX_VIDEO_TOKENS`` tokens' worth, 90 %) among the frames. Training, evaluation, ``analyze`` and the
adapter check all come through ``process_video``; ``processor_kwargs`` gives vLLM the same settings.

Time on the frames (``VideoBudget.timestamps``, Cosmos-Reason1's ``--timestamp``): ``model_frames`` draws
each frame's source time into a strip at the bottom of the frame's final size (``timestamps.py`` says why
there); vLLM gets the same pixels from a clip rendered by ``serving.vllm_video``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from football_assets.core.events import TARGET_FPS
from football_assets.core.ingest.video import probe, read_frames
from football_assets.core.training import timestamps

#: The processor's per-frame pixel cap (transformers' ``cap_pixels_per_frame``), chosen explicitly: on, the
#: reference (qwen-vl-utils) behaviour, which vLLM's processing follows.
CAP_PIXELS_PER_FRAME = True
#: The context the cap's total pixel budget assumes (qwen-vl-utils' VIDEO_TOTAL_PIXELS = 128000 x 28 x 28 x 0.9;
#: transformers' ``max_video_tokens`` default).
MAX_VIDEO_TOKENS = 128_000


@dataclass(frozen=True)
class VideoBudget:
    max_frames: int = 32
    min_pixels: int = 28 * 28 * 4
    max_pixels: int = 28 * 28 * 256
    timestamps: bool = False  # each frame's source time drawn on it (``timestamps.py``); the default: DataArguments'


def frame_max_pixels(budget: VideoBudget, frames: int, factor: int, temporal_patch: int) -> int:
    """``max_pixels`` after the per-frame cap: at most an even share of the total video budget per frame
    (a temporal patch of frames shares one frame's tokens), never below 1.05 x ``min_pixels``."""
    if not CAP_PIXELS_PER_FRAME:
        return budget.max_pixels
    total = int(MAX_VIDEO_TOKENS * factor * factor * 0.9)
    return max(min(budget.max_pixels, total * temporal_patch // max(frames, 1)), int(budget.min_pixels * 1.05))


def frame_size(height: int, width: int, budget: VideoBudget, factor: int, frames: int,
               temporal_patch: int = 2) -> tuple[int, int]:
    """(h, w) keeping the aspect ratio, multiples of ``factor``, with min <= h*w <= the capped max pixels."""
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    return smart_resize(height, width, factor=factor, min_pixels=budget.min_pixels,
                        max_pixels=frame_max_pixels(budget, frames, factor, temporal_patch))


def processor_kwargs(budget: VideoBudget) -> dict:
    """The video processor settings of this budget, as vLLM's ``--mm-processor-kwargs`` passes them."""
    return {"min_pixels": budget.min_pixels, "max_pixels": budget.max_pixels, "cap_pixels_per_frame": CAP_PIXELS_PER_FRAME}


def sample_indices(total: int, max_frames: int, temporal_patch: int) -> list[int]:
    """Uniformly chosen frame indices, at most ``max_frames`` and a multiple of the temporal patch."""
    n = min(total, max_frames)
    n = max(temporal_patch, n - n % temporal_patch)
    if n >= total:
        return list(range(total))
    return np.linspace(0, total - 1, n).round().astype(int).tolist()


def model_frames(path: str | os.PathLike, vp, budget: VideoBudget, fps: float | None = None,
                 every_frame: bool = False) -> dict:
    """The frames the model sees of one clip, at their final size: the sampled ones (``every_frame``: all of
    them, for a server that samples itself), each with its source time drawn on it when ``budget.timestamps``.

    ``{"frames": (T, h, w, 3) uint8, "frames_indices": sampled source indices, "total": source frames, "fps"}``.
    With timestamps the picture is decoded straight to the rows above the strip (one scaling from the
    source); the strip shows source index / fps, in the left or right half as the frame's place in its
    temporal patch (sampled frame k: k % temporal patch; an unsampled frame: its source index's).
    """
    info = probe(path)
    fps = float(fps or info.fps or TARGET_FPS)
    factor, tp = vp.patch_size * vp.merge_size, vp.temporal_patch_size

    def decode(size: tuple[int, int]) -> np.ndarray:
        rows = timestamps.picture_height(size[0], vp.patch_size) if budget.timestamps else size[0]
        return read_frames(path, width=size[1], height=rows)

    expected = info.nb_frames or max(1, round(info.duration * fps))
    size = frame_size(info.height, info.width, budget, factor, len(sample_indices(expected, budget.max_frames, tp)), tp)
    frames = decode(size)
    total = len(frames)
    if total == 0:
        raise ValueError(f"{path}: video has no frames")
    idx = sample_indices(total, budget.max_frames, tp)
    exact = frame_size(info.height, info.width, budget, factor, len(idx), tp)
    if exact != size:  # the container's frame count was off and the cap binds: size by the real count
        frames = decode(exact)
    shown = list(range(total)) if every_frame else idx
    if budget.timestamps:
        place = {i: k % tp for k, i in enumerate(idx)}
        frames = timestamps.stamp(frames[shown], [i / fps for i in shown], [place.get(i, i % tp) for i in shown],
                                  exact[0], vp.patch_size, tp)
    else:
        frames = frames[shown]
    return {"frames": frames, "frames_indices": idx, "total": total, "fps": fps}


def process_video(path: str | os.PathLike, processor, budget: VideoBudget, fps: float | None = None) -> dict:
    """Decode and preprocess one clip: ``pixel_values_videos``, ``video_grid_thw``, ``second_per_grid_ts``."""
    from transformers.video_utils import VideoMetadata

    vp = processor.video_processor
    clip = model_frames(path, vp, budget, fps)
    frames, idx, total, fps = clip["frames"], clip["frames_indices"], clip["total"], clip["fps"]
    h, w = frames.shape[1:3]
    meta = VideoMetadata(total_num_frames=total, fps=fps, width=w, height=h, duration=total / fps,
                         frames_indices=idx, video_backend="ffmpeg")
    out = vp(videos=[frames], video_metadata=[meta], do_sample_frames=False, do_resize=False,
             cap_pixels_per_frame=CAP_PIXELS_PER_FRAME, return_tensors="pt")
    return {
        "pixel_values_videos": out["pixel_values_videos"],
        "video_grid_thw": out["video_grid_thw"],
        "second_per_grid_ts": [vp.temporal_patch_size / meta.sampled_fps],
        "frames_indices": idx,
        "duration": total / fps,  # bounds the times of a constrained answer
        "fps": fps,
    }


def item_bytes(item: dict) -> int:
    """Bytes held by one processed clip's tensors (~65 MB at 32 frames of 336x504 in fp32)."""
    return sum(v.numel() * v.element_size() for v in item.values() if hasattr(v, "element_size"))


class VideoCache:
    """Processed video inputs keyed by (path, size, mtime, budget): in memory up to ``max_bytes``
    (None: no limit), and on disk when ``cache_dir`` is given."""

    def __init__(self, processor, budget: VideoBudget, cache_dir: str | os.PathLike | None = None,
                 max_bytes: int | None = None):
        from collections import OrderedDict

        self.processor, self.budget, self.max_bytes = processor, budget, max_bytes
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.mem: OrderedDict[str, dict] = OrderedDict()
        self.mem_bytes = 0
        self.paths: dict[str, str] = {}  # key -> absolute path, so one video's items can be forgotten
        self.decodes = 0  # how many times a clip was actually decoded (bench: decodes per sample)
        self.disk_reads = 0  # items read back from the disk cache

    def key(self, path: str, fps: float | None) -> str:
        st = os.stat(path)
        raw = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{fps}|{self.budget}"
        return hashlib.sha1(raw.encode()).hexdigest()[:20]

    def get(self, path: str, fps: float | None = None) -> dict:
        import torch

        k = self.key(path, fps)
        self.paths[k] = os.path.abspath(path)
        if k in self.mem:
            self.mem.move_to_end(k)
            return self.mem[k]
        disk = self.cache_dir / f"{k}.pt" if self.cache_dir else None
        if disk is not None and disk.exists():
            item = torch.load(disk, weights_only=False)
            self.disk_reads += 1
        else:
            item = process_video(path, self.processor, self.budget, fps)
            self.decodes += 1
            if disk is not None:
                from football_assets.core.fsutil import atomic_path

                with atomic_path(disk) as tmp:
                    torch.save(item, tmp)
        self._remember(k, item)
        return item

    def forget(self, path: str) -> None:
        """Drop ``path``'s items from memory (a video seen once, e.g. an analysis window); disk keeps them."""
        p = os.path.abspath(path)
        for k in [k for k, v in self.paths.items() if v == p]:
            del self.paths[k]
            item = self.mem.pop(k, None)
            if item is not None:
                self.mem_bytes -= item_bytes(item)

    def _remember(self, k: str, item: dict) -> None:
        size = item_bytes(item)
        if self.max_bytes is not None and size > self.max_bytes:
            return  # larger than the whole budget: served, not kept
        self.mem[k] = item
        self.mem_bytes += size
        while self.max_bytes is not None and self.mem_bytes > self.max_bytes:
            _, old = self.mem.popitem(last=False)
            self.mem_bytes -= item_bytes(old)


def video_token_count(item: dict, processor) -> int:
    return int(item["video_grid_thw"].prod()) // processor.video_processor.merge_size ** 2


def build_prompt_inputs(processor, messages: list[dict], video: dict, add_generation_prompt: bool = True) -> dict:
    """Token ids of the chat prompt (without the assistant answer) with the video placeholder expanded."""
    import torch

    prompt_msgs = [m for m in messages if m["role"] != "assistant"]
    text = processor.apply_chat_template(prompt_msgs, tokenize=False, add_generation_prompt=add_generation_prompt)
    pad = processor.video_token
    n = video_token_count(video, processor)
    if text.count(pad) != 1:
        raise ValueError(f"chat prompt must contain exactly one video placeholder, found {text.count(pad)}")
    text = text.replace(pad, pad * n)
    ids = processor.tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = torch.tensor(ids, dtype=torch.long)
    return {"input_ids": ids, "mm_token_type_ids": (ids == processor.video_token_id).long() * 2}
