"""Calibration of event confidences, and the measures the report shows about them. Plain numpy.

Method: temperature scaling of the event confidence's logit, with a bias (Platt scaling):
``calibrated = sigmoid(logit(raw) / T + b)``, ``T > 0``. It is fitted on the val split's events (a true
positive = matched to a true event of its class at the report's tIoU, else a false positive) by maximum
likelihood with Platt's smoothed targets and a small pull toward the identity, so a handful of val events
cannot produce an extreme map. Why this and not isotonic regression: it is strictly increasing, so it never
changes the ranking of any two events (isotonic regression merges neighbours into ties), and two numbers
fitted on a small val split overfit less than a step function.

Where it lives: ``calibration.json`` in the adapter directory, written by the evaluation (which answers the
val split anyway) and read by ``EventPredictor``; it names the model version it was fitted for and is
ignored for any other adapter.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

FILE = "calibration.json"
METHOD = "temperature scaling of the confidence logit with a bias (Platt), fitted on val"
_Z_MAX = 700.0  # logit of a probability within e^-700 of 0 or 1: further apart is not representable anyway


def logit_from_logp(logp: float) -> float:
    """logit(p) from log p, exact where p is within 1e-17 of 1 (``1 - p = -expm1(log p)``)."""
    logp = min(float(logp), 0.0)
    one_minus = -math.expm1(logp)
    if one_minus <= 0.0:
        return _Z_MAX
    return float(np.clip(logp - math.log(one_minus), -_Z_MAX, _Z_MAX))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


@dataclass
class Calibration:
    temperature: float = 1.0
    bias: float = 0.0
    model_version: str = ""
    n_events: int = 0
    n_true_positive: int = 0
    method: str = METHOD

    def apply_logit(self, z) -> np.ndarray:
        return _sigmoid(np.asarray(z, dtype=np.float64) / self.temperature + self.bias)

    def apply_one(self, logp: float) -> float:
        """The calibrated confidence of one event from its raw log confidence; stays in (0, 1]."""
        return float(max(self.apply_logit(logit_from_logp(logp)), np.finfo(float).tiny))

    def apply(self, logps: Sequence[float]) -> list[float]:
        return [self.apply_one(x) for x in logps]


A_MIN = 1e-3  # the flattest slope allowed: the map stays strictly increasing


def _newton(z, t, l2, loss, fit_a: bool, a: float = 1.0, b: float = 0.0) -> tuple[float, float]:
    """Minimise ``loss(a, b)`` by Newton's method with step halving; with ``fit_a`` False only ``b`` moves."""
    for _ in range(200):
        p = _sigmoid(a * z + b)
        w = p * (1 - p)
        if fit_a:
            g = np.array([np.sum((p - t) * z) + l2 * (a - 1), np.sum(p - t) + l2 * b])
            h = np.array([[np.sum(w * z * z) + l2, np.sum(w * z)], [np.sum(w * z), np.sum(w) + l2]])
            step = np.linalg.solve(h, g)
        else:
            step = np.array([0.0, (np.sum(p - t) + l2 * b) / (np.sum(w) + l2)])
        now = loss(a, b)
        while loss(a - step[0], b - step[1]) > now and np.max(np.abs(step)) > 1e-12:
            step = step / 2
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(a), float(b)


def fit(logps: Sequence[float], correct: Sequence[bool], model_version: str = "", l2: float = 1e-2) -> Calibration:
    """Fit ``T`` and ``b`` on events' raw log confidences and whether each was a true positive. With no
    events, or only one kind, there is nothing to fit against and the identity is returned."""
    z = np.array([logit_from_logp(x) for x in logps], dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    n_pos = int(y.sum())
    if len(z) == 0 or n_pos in (0, len(z)):
        return Calibration(model_version=model_version, n_events=len(z), n_true_positive=n_pos,
                           method=METHOD + " (identity: val has no events or only one kind)")
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (len(z) - n_pos + 2))  # Platt's targets

    def loss(a, b):  # penalised log loss, convex in (a, b), pulled toward the identity (1, 0)
        u = a * z + b
        return float(np.sum(np.logaddexp(0, u) - t * u) + l2 / 2 * ((a - 1) ** 2 + b ** 2))

    a, b = _newton(z, t, l2, loss, fit_a=True)
    if a < A_MIN:  # val ranks true positives *below* false positives: keep the order (ranking is the model's),
        a, b = _newton(z, t, l2, loss, fit_a=False, a=A_MIN)  # flatten it and refit the bias to val's precision
    return Calibration(temperature=float(1 / a), bias=float(b), model_version=model_version, n_events=len(z),
                       n_true_positive=n_pos)


def save(adapter_dir: str | Path, cal: Calibration) -> Path:
    from football_assets.core.fsutil import write_json

    path = Path(adapter_dir) / FILE
    write_json(path, asdict(cal))
    return path


def load(adapter_dir: str | Path) -> Calibration | None:
    """The adapter's calibration, or None when it has none or it was fitted for another model version."""
    d = Path(adapter_dir)
    path = d / FILE
    if not path.exists():
        return None
    cal = Calibration(**json.loads(path.read_text()))
    meta = d / "train_meta.json"
    version = json.loads(meta.read_text()).get("model_version", "") if meta.exists() else ""
    return cal if not version or not cal.model_version or cal.model_version == version else None


# ---------------------------------------------------------------------------------------------------
# Measures


def reliability(conf: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict:
    """Equal-width confidence bins: per bin the count, mean confidence and accuracy (precision), and the
    expected calibration error ECE = sum over bins of (count / n) x |accuracy - mean confidence|."""
    c, y = np.asarray(conf, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    idx = np.minimum((c * bins).astype(int), bins - 1)
    rows, ece = [], 0.0
    for i in range(bins):
        sel = idx == i
        n = int(sel.sum())
        mc = float(c[sel].mean()) if n else None
        acc = float(y[sel].mean()) if n else None
        if n:
            ece += n / len(c) * abs(acc - mc)
        rows.append({"lo": i / bins, "hi": (i + 1) / bins, "n": n, "confidence": mc, "accuracy": acc})
    return {"ece": float(ece) if len(c) else None, "bins": rows, "n": len(c)}


def pr_curve(conf: Sequence[float], correct: Sequence[bool], n_true: int) -> dict:
    """Precision and recall of the events with confidence >= each distinct confidence (highest first)."""
    c, y = np.asarray(conf, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    if not len(c):  # a class with true events and no prediction: no point on its curve
        return {"threshold": [], "precision": [], "recall": [], "n_true": n_true}
    order = np.argsort(-c, kind="stable")
    tp = np.cumsum(y[order])
    k = np.arange(1, len(c) + 1)
    last = np.r_[np.diff(c[order]) != 0, True]  # one point per distinct threshold
    return {"threshold": c[order][last].tolist(), "precision": (tp / k)[last].tolist(),
            "recall": (tp / n_true if n_true else np.zeros_like(tp))[last].tolist(), "n_true": n_true}
