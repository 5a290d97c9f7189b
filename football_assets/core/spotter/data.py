"""Spotter training data: the ``events`` samples of one SFT splits version, decoded once into frames.

Each sample carries its 4 fps video path, fps and target events; the clip is decoded with ffmpeg at the
spotter's frame size (``video.read_frames``) and cut into windows of ``clip_frames`` (an 8 s demo clip is
one window; longer videos overlap by half a window). Short windows are padded and masked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from football_assets.core.fsutil import read_jsonl
from football_assets.core.spotter.targets import membership_targets, spot_targets


class SpotterDataError(ValueError):
    """Splits that the spotter cannot train on; the message names the file and the cause."""


def load_event_samples(splits_dir: str | Path, split: str) -> list[dict]:
    """The ``events``-task samples of ``<splits_dir>/<split>.jsonl`` (video, fps, target events)."""
    path = Path(splits_dir) / f"{split}.jsonl"
    if not path.exists():
        raise SpotterDataError(f"splits {splits_dir}: {path.name} missing (materialize sft_splits first)")
    rows = read_jsonl(path)
    samples = [s for s in rows if s.get("task", "events") == "events"]
    if not samples:
        raise SpotterDataError(f"{path}: no samples of task 'events' (the spotter trains on those)")
    for s in samples:
        if not Path(s["video"]).exists():
            raise SpotterDataError(f"sample {s.get('id')}: video {s['video']} does not exist")
        if not isinstance(s.get("target"), list):
            raise SpotterDataError(f"sample {s.get('id')}: target is not a list of events")
    return samples


class FrameCache:
    """Decoded frames per video path at one size; a run decodes each clip once."""

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width
        self._frames: dict[str, np.ndarray] = {}
        self.decodes = 0

    def get(self, video: str) -> np.ndarray:
        if video not in self._frames:
            from football_assets.core.ingest.video import read_frames

            self._frames[video] = read_frames(video, self.width, self.height)
            self.decodes += 1
        return self._frames[video]


def windows(n_frames: int, length: int) -> list[int]:
    """Start frames of windows of ``length`` covering ``n_frames`` with half-window overlap."""
    if n_frames <= length:
        return [0]
    step = max(1, length // 2)
    starts = list(range(0, n_frames - length + 1, step))
    if starts[-1] != n_frames - length:
        starts.append(n_frames - length)
    return starts


class SpotterDataset:
    """Items ``{frames (T,H,W,3) uint8, spot_target (T,C+1), member_target (T,C), mask (T,)}`` as tensors;
    ``flip`` mirrors a frame horizontally half of the time (football reads the same both ways)."""

    def __init__(self, samples: list[dict], cache: FrameCache, classes, clip_frames: int, sigma: float, radius: int,
                 flip: bool = False):
        self.cache, self.clip_frames, self.flip = cache, clip_frames, flip
        self.items = []
        for s in samples:
            frames = cache.get(s["video"])
            fps = float(s.get("fps", 4))
            spot = spot_targets(s["target"], len(frames), fps, classes, sigma, radius)
            member = membership_targets(s["target"], len(frames), fps, classes)
            for a in windows(len(frames), clip_frames):
                self.items.append((s["video"], a, spot[a:a + clip_frames], member[a:a + clip_frames]))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        import torch

        video, a, spot, member = self.items[i]
        frames = self.cache.get(video)[a:a + self.clip_frames]
        n, pad = len(frames), self.clip_frames - len(frames)
        frames_t = torch.from_numpy(np.array(frames))  # a writable copy (decoded frames are read-only)
        if self.flip and torch.rand(()) < 0.5:
            frames_t = frames_t.flip(2)
        spot_t, member_t = torch.from_numpy(spot), torch.from_numpy(member)
        mask = torch.ones(self.clip_frames)
        if pad > 0:
            frames_t = torch.cat([frames_t, frames_t.new_zeros((pad, *frames_t.shape[1:]))])
            bg = torch.zeros((pad, spot_t.shape[1]))
            bg[:, -1] = 1
            spot_t, member_t = torch.cat([spot_t, bg]), torch.cat([member_t, torch.zeros((pad, member_t.shape[1]))])
            mask[n:] = 0
        return {"frames": frames_t, "spot_target": spot_t, "member_target": member_t, "mask": mask}
