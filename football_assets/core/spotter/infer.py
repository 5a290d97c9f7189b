"""A trained spotter on disk, loaded and run: per-frame scores for a whole video, spots and intervals.

A spotter directory holds ``model.safetensors`` (the network), ``spotter_config.json`` (what rebuilds
it), ``thresholds.json`` (chosen on the validation split), ``train_meta.json`` (splits version,
model version, metrics) and, from spotters trained with it, ``domain.npz`` + ``domain.json`` (the domain
score's reference, ``domain.py``). Long videos are scored in overlapping windows of the training length, and a
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
        net_cfg = NetConfig.from_dict({**cfg_raw["net"], "backbone_weights": None})
        net = SpotterNet(net_cfg, pretrained=False)  # the saved state dict holds the backbone too
        net.load_state_dict(load_file(str(path / "model.safetensors")))
        spotter = cls(net, int(cfg_raw["clip_frames"]), json.loads((path / "thresholds.json").read_text()),
                      json.loads((path / "train_meta.json").read_text()), device)
        from football_assets.core.spotter.domain import DomainReference

        spotter.domain = DomainReference.load(path)
        return spotter

    domain = None  # the DomainReference saved with the spotter, when it was trained with one

    @property
    def splits_version(self) -> str:
        return self.meta.get("splits_version", "")

    @property
    def proposal_threshold(self) -> float:
        """Spot confidence that sends a window to the VLM (val-chosen for recall, see
        ``decode.choose_proposal_threshold``); spotters trained before it existed use the interval threshold."""
        return float(self.thresholds.get("proposal", self.thresholds["interval"]))

    def score_frames(self, frames: np.ndarray, batch_windows: int = 8, on_batch=None, features: bool = False):
        """(T, H, W, 3) uint8 frames at the spotter's size -> (spot, membership), each (T, classes) in [0, 1];
        with ``features`` also the mean backbone feature of the frames (the domain score's input).
        ``on_batch(done, total)`` is called after each batch of windows (a progress bar's hook)."""
        return self._score(frames, batch_windows, on_batch, features, "frames")

    def score_features(self, feats: np.ndarray, batch_windows: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """As ``score_frames`` from per-frame backbone features (T, D) computed before (training's cache)."""
        return self._score(feats, batch_windows, None, False, "features")

    def _score(self, inputs: np.ndarray, batch_windows: int, on_batch, pooled: bool, kind: str):
        import torch

        n, L = len(inputs), self.clip_frames
        c = len(self.cfg.classes)
        spot, member, count = np.zeros((n, c)), np.zeros((n, c)), np.zeros((n, 1))
        feat_sum, covered = None, 0  # each frame's backbone feature counted once, however many windows see it
        starts = windows(n, L)
        for k in range(0, len(starts), batch_windows):
            group = starts[k:k + batch_windows]
            if n < L:  # shorter than a window: one unpadded pass (the GRU takes any length)
                batch = torch.from_numpy(np.array(inputs))[None]
            else:
                batch = torch.stack([torch.from_numpy(np.array(inputs[a:a + L])) for a in group])
            s, m, f = self.net.scores(**{kind: batch.to(self.device)})
            for j, a in enumerate(group):
                spot[a:a + L] += s[j].cpu().numpy()
                member[a:a + L] += m[j].cpu().numpy()
                count[a:a + L] += 1
                end = min(a + L, n)
                if pooled and end > covered:
                    new = f[j, max(0, covered - a):end - a].double().sum(0).cpu().numpy()
                    feat_sum = new if feat_sum is None else feat_sum + new
                    covered = end
            if on_batch is not None:
                on_batch(min(k + batch_windows, len(starts)), len(starts))
        out = spot / np.maximum(count, 1), member / np.maximum(count, 1)
        return (*out, feat_sum / max(covered, 1)) if pooled else out

    def backbone_features(self, frames: np.ndarray, batch_frames: int = 64) -> np.ndarray:
        """(T, H, W, 3) uint8 -> (T, D) float32 per-frame backbone features."""
        import torch

        out = []
        with torch.no_grad():
            for a in range(0, len(frames), batch_frames):
                x = torch.from_numpy(np.array(frames[a:a + batch_frames]))[None].to(self.device)
                out.append(self.net.backbone_features(x)[0].float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.net.feature_dim), np.float32)

    def score_video(self, video: str | Path) -> tuple[np.ndarray, np.ndarray]:
        from football_assets.core.ingest.video import read_frames

        return self.score_frames(read_frames(video, self.cfg.width, self.cfg.height))

    def detect(self, spot: np.ndarray, member: np.ndarray, duration: float | None = None) -> dict:
        """Spots (every peak, for average-mAP) and intervals (above the validation threshold)."""
        fps = self.cfg.fps
        return {"spots": decode.spots(spot, fps, self.cfg.classes, nms_window_s=self.thresholds.get("nms_window_s", 1.0)),
                "intervals": decode.intervals(member, fps, spot, self.cfg.classes, threshold=self.thresholds["interval"],
                                              duration=duration)}
