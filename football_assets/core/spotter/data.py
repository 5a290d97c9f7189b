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


class FeatureCache:
    """Per-frame backbone features per video path (a frozen backbone's input to the temporal model), computed
    once per run from the frame cache; with ``flip`` also those of the mirrored frames."""

    def __init__(self, frames: FrameCache, encode, flip: bool = False):
        self.frames, self.encode, self.flip = frames, encode, flip
        self._feats: dict[tuple[str, bool], np.ndarray] = {}
        self.encoded_frames, self.encode_seconds = 0, 0.0

    def get(self, video: str, flipped: bool = False) -> np.ndarray:
        import time

        key = (video, flipped)
        if key not in self._feats:
            arr = self.frames.get(video)
            t0 = time.perf_counter()
            self._feats[key] = self.encode(np.ascontiguousarray(arr[:, :, ::-1]) if flipped else arr)
            self.encode_seconds += time.perf_counter() - t0
            self.encoded_frames += len(arr)
        return self._feats[key]

    @property
    def clips(self) -> int:
        """How many (video, flip) feature arrays are cached."""
        return len(self._feats)

    @property
    def seconds_per_frame(self) -> float:
        """The backbone's measured time per frame (decoding excluded)."""
        return self.encode_seconds / max(self.encoded_frames, 1)


class SpotterDataset:
    """Items ``{frames (T,H,W,3) uint8, spot_target (T,C+1), member_target (T,C), mask (T,)}`` as tensors, or
    ``features (T,D)`` instead of frames when given a ``FeatureCache`` (a frozen backbone); ``flip`` mirrors
    a frame horizontally half of the time (football reads the same both ways)."""

    def __init__(self, samples: list[dict], cache: FrameCache | FeatureCache, classes, clip_frames: int, sigma: float,
                 radius: int, flip: bool = False):
        self.cache, self.clip_frames, self.flip = cache, clip_frames, flip
        self.items = []
        for s in samples:
            frames = cache.get(s["video"])
            if flip and isinstance(cache, FeatureCache):
                cache.get(s["video"], flipped=True)  # computed up front, not in the first epoch
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
        flip = self.flip and bool(torch.rand(()) < 0.5)
        if isinstance(self.cache, FeatureCache):
            key, frames_t = "features", torch.from_numpy(np.array(self.cache.get(video, flip)[a:a + self.clip_frames]))
        else:
            key, frames_t = "frames", torch.from_numpy(np.array(self.cache.get(video)[a:a + self.clip_frames]))
            if flip:  # a writable copy above: decoded frames are read-only
                frames_t = frames_t.flip(2)
        n, pad = len(frames_t), self.clip_frames - len(frames_t)
        spot_t, member_t = torch.from_numpy(spot), torch.from_numpy(member)
        mask = torch.ones(self.clip_frames)
        if pad > 0:
            frames_t = torch.cat([frames_t, frames_t.new_zeros((pad, *frames_t.shape[1:]))])
            bg = torch.zeros((pad, spot_t.shape[1]))
            bg[:, -1] = 1
            spot_t, member_t = torch.cat([spot_t, bg]), torch.cat([member_t, torch.zeros((pad, member_t.shape[1]))])
            mask[n:] = 0
        return {key: frames_t, "spot_target": spot_t, "member_target": member_t, "mask": mask}
