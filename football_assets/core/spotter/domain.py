"""Domain score: how unlike the spotter's training clips a video is, so that an empty answer on foreign footage
is not mistaken for "nothing happened".

A clip's embedding is the mean of its per-frame backbone features, L2-normalised. The reference is the
train split's clip embeddings, saved with the spotter (``domain.npz``); a video's score is the cosine
distance from its embedding to the nearest train clip (0: like a train clip; larger: farther). The
threshold (``domain.json``) is chosen at training time on val clips (in domain) against generated
out-of-domain inputs (``generated_out_of_domain``: noise, colour bars, gradients...; made here, nothing
downloaded), so test clips never reach it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from football_assets.core.fsutil import atomic_path, write_json

FILES = ("domain.npz", "domain.json")


def embedding(mean_feature: np.ndarray) -> np.ndarray:
    """A clip's mean backbone feature -> its unit-length embedding."""
    v = np.asarray(mean_feature, dtype=np.float64).ravel()
    return v / max(float(np.linalg.norm(v)), 1e-12)


def nearest_distance(reference: np.ndarray, mean_feature: np.ndarray) -> float:
    """Cosine distance from a clip to the nearest row of ``reference`` (unit-length embeddings)."""
    return float(1.0 - np.max(reference @ embedding(mean_feature)))


def choose_threshold(in_scores: list[float], out_scores: list[float]) -> dict:
    """The score above which a video is out of domain. When the two sets separate, the geometric mean of the
    largest in-domain and the smallest out-of-domain score (the scores are distances spanning decades);
    otherwise the cut with the best balanced accuracy."""
    if not in_scores or not out_scores:
        raise ValueError("choosing a domain threshold needs in-domain (val) and out-of-domain scores")
    lo, hi = max(in_scores), min(out_scores)
    if lo < hi:
        return {"threshold": float(np.sqrt(max(lo, 1e-9) * hi)), "separated": True, "balanced_accuracy": 1.0}
    best = (-1.0, 0.0)
    for t in sorted(set(in_scores) | set(out_scores)):
        acc = (np.mean([s <= t for s in in_scores]) + np.mean([s > t for s in out_scores])) / 2
        if acc > best[0]:
            best = (float(acc), float(t))
    return {"threshold": best[1], "separated": False, "balanced_accuracy": best[0]}


class DomainReference:
    """The train clips' embeddings and the val-chosen threshold of one spotter."""

    def __init__(self, train: np.ndarray, threshold: float, info: dict | None = None):
        self.train, self.threshold, self.info = np.asarray(train, dtype=np.float64), float(threshold), info or {}

    @classmethod
    def build(cls, train_features: list[np.ndarray], val_features: list[np.ndarray],
              ood_features: dict[str, np.ndarray]) -> "DomainReference":
        """From mean backbone features per clip: train (the reference), val (in domain) and generated
        out-of-domain inputs by name (the threshold)."""
        ref = np.stack([embedding(f) for f in train_features])
        val = [nearest_distance(ref, f) for f in val_features]
        ood = {k: nearest_distance(ref, f) for k, f in ood_features.items()}
        chosen = choose_threshold(val, list(ood.values()))
        info = {**chosen, "chosen_on": "val vs generated out-of-domain inputs", "train_clips": len(ref),
                "val_max": max(val), "val_mean": float(np.mean(val)), "ood_scores": ood}
        return cls(ref, chosen["threshold"], info)

    def assess(self, mean_feature: np.ndarray) -> dict:
        """``{score, in_domain, threshold}`` for one video's mean backbone feature."""
        score = nearest_distance(self.train, mean_feature)
        return {"score": round(score, 4), "in_domain": bool(score <= self.threshold),
                "threshold": round(self.threshold, 4)}

    def save(self, directory: str | Path) -> None:
        d = Path(directory)
        with atomic_path(d / "domain.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, train=self.train.astype(np.float32))
        write_json(d / "domain.json", {"threshold": self.threshold, **self.info})

    @classmethod
    def load(cls, directory: str | Path) -> "DomainReference | None":
        """The reference saved in a spotter directory; None for a spotter trained without one."""
        d = Path(directory)
        if not all((d / f).exists() for f in FILES):
            return None
        info = json.loads((d / "domain.json").read_text())
        with np.load(d / "domain.npz") as z:
            return cls(z["train"], info.pop("threshold"), info)


def generated_out_of_domain(n_frames: int, height: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic clips nothing like football, (T, H, W, 3) uint8 each: the out-of-domain side of the threshold."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None, None]
    y, x = np.mgrid[0:height, 0:width]
    bars = np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192], [192, 0, 0],
                     [0, 0, 192]], np.uint8)
    out = {
        "noise": rng.integers(0, 256, (n_frames, height, width, 3), dtype=np.uint8),
        "colour_bars": np.broadcast_to(bars[(x * 7 // width)], (n_frames, height, width, 3)),
        "checkerboard": np.repeat((((x[None] + 2 * t) // 16 + y[None] // 16) % 2 * 255).astype(np.uint8)[..., None],
                                  3, axis=-1),
        "flat_grey": np.full((n_frames, height, width, 3), 128, np.uint8),
    }
    phase = (x[None] / width + t / max(n_frames, 1)) % 1.0
    out["gradient"] = np.stack([phase * 255, (1 - phase) * 255, np.broadcast_to(y[None] / height * 255, phase.shape)],
                               -1).astype(np.uint8)
    blobs = np.empty((n_frames, height, width, 3), np.uint8)
    blobs[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    centres = rng.uniform([0, 0], [height, width], (6, 2))
    colours = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    for f in range(n_frames):
        for (cy, cx), col in zip(centres + f * rng.normal(0, 2, (6, 2)), colours):
            blobs[f][(y - cy) ** 2 + (x - cx) ** 2 < (height / 6) ** 2] = col
    out["blobs"] = blobs
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def video_domain(spotter, clip_4fps: str | Path) -> dict | None:
    """``{score, in_domain, threshold}`` of a 4 fps clip under ``spotter``'s reference (its backbone only, no
    heads: the VLM-only commands use it); None when the spotter was trained without a domain reference."""
    if spotter is None or spotter.domain is None:
        return None
    from football_assets.core.ingest.video import read_frames

    frames = read_frames(clip_4fps, spotter.cfg.width, spotter.cfg.height)
    return spotter.domain.assess(spotter.backbone_features(frames).mean(0))


def out_of_domain_line(result: dict) -> str | None:
    """The one console line for a result whose video is out of domain (None otherwise)."""
    d = result.get("domain")
    if not d or d["in_domain"]:
        return None
    return (f"out of domain: {Path(result['video']).name} looks unlike the clips the models were trained on (domain "
            f"score {d['score']:.3f} > {d['threshold']:.3f}); what was found is listed, but events may be missed")
