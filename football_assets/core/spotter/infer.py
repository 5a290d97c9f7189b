"""A trained spotter on disk, loaded and run: per-frame scores for a whole video, spots and intervals.

A spotter directory holds ``model.safetensors`` (the network), ``spotter_config.json`` (what rebuilds
it), ``thresholds.json`` (chosen on the validation split) and ``train_meta.json`` (splits version,
model version, metrics). Long videos are scored in overlapping windows of the training length, and a
frame seen by two windows gets the mean of both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from football_assets.core.spotter import decode
from football_assets.core.spotter.data import windows
from football_assets.core.spotter.model import NetConfig, SpotterNet

FILES = ("model.safetensors", "spotter_config.json", "thresholds.json", "train_meta.json")


class SpotterLoadError(RuntimeError):
    """No usable spotter at a path; the message names the path and what is missing."""


class Spotter:
    def __init__(self, net: SpotterNet, clip_frames: int, thresholds: dict, meta: dict, device: str = "cpu"):
        self.net, self.clip_frames, self.thresholds, self.meta, self.device = net.eval().to(device), clip_frames, thresholds, meta, device
        self.cfg = net.cfg

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "Spotter":
        import json

        from safetensors.torch import load_file

        path = Path(path)
        if not path.is_dir():
            raise SpotterLoadError(f"no spotter at {path} (materialize event_spotter first)")
        missing = [f for f in FILES if not (path / f).exists()]
        if missing:
            raise SpotterLoadError(f"spotter {path} is incomplete: {', '.join(missing)} missing")
        cfg_raw = json.loads((path / "spotter_config.json").read_text())
        net_cfg = NetConfig(**{**cfg_raw["net"], "classes": tuple(cfg_raw["net"]["classes"]), "backbone_weights": None})
        net = SpotterNet(net_cfg)
        net.load_state_dict(load_file(str(path / "model.safetensors")))
        return cls(net, int(cfg_raw["clip_frames"]), json.loads((path / "thresholds.json").read_text()),
                   json.loads((path / "train_meta.json").read_text()), device)

    @property
    def splits_version(self) -> str:
        return self.meta.get("splits_version", "")

    @property
    def proposal_threshold(self) -> float:
        """Spot confidence that sends a window to the VLM (val-chosen for recall, see
        ``decode.choose_proposal_threshold``); spotters trained before it existed use the interval threshold."""
        return float(self.thresholds.get("proposal", self.thresholds["interval"]))

    def score_frames(self, frames: np.ndarray, batch_windows: int = 8, on_batch=None) -> tuple[np.ndarray, np.ndarray]:
        """(T, H, W, 3) uint8 frames at the spotter's size -> (spot, membership), each (T, classes) in [0, 1].
        ``on_batch(done, total)`` is called after each batch of windows (a progress bar's hook)."""
        import torch

        n, L = len(frames), self.clip_frames
        c = len(self.cfg.classes)
        spot, member, count = np.zeros((n, c)), np.zeros((n, c)), np.zeros((n, 1))
        starts = windows(n, L)
        for k in range(0, len(starts), batch_windows):
            group = starts[k:k + batch_windows]
            if n < L:  # shorter than a window: one unpadded pass (the GRU takes any length)
                batch = torch.from_numpy(np.array(frames))[None]
            else:
                batch = torch.stack([torch.from_numpy(np.array(frames[a:a + L])) for a in group])
            s, m = self.net.scores(batch.to(self.device))
            for j, a in enumerate(group):
                spot[a:a + L] += s[j].cpu().numpy()
                member[a:a + L] += m[j].cpu().numpy()
                count[a:a + L] += 1
            if on_batch is not None:
                on_batch(min(k + batch_windows, len(starts)), len(starts))
        return spot / np.maximum(count, 1), member / np.maximum(count, 1)

    def score_video(self, video: str | Path) -> tuple[np.ndarray, np.ndarray]:
        from football_assets.core.ingest.video import read_frames

        return self.score_frames(read_frames(video, self.cfg.width, self.cfg.height))

    def detect(self, spot: np.ndarray, member: np.ndarray, duration: float | None = None) -> dict:
        """Spots (every peak, for average-mAP) and intervals (above the validation threshold)."""
        fps = self.cfg.fps
        return {"spots": decode.spots(spot, fps, self.cfg.classes, nms_window_s=self.thresholds.get("nms_window_s", 1.0)),
                "intervals": decode.intervals(member, fps, spot, self.cfg.classes, threshold=self.thresholds["interval"],
                                              duration=duration)}
