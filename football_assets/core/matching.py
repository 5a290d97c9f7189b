"""Temporal IoU and the one-to-one greedy matching of events, shared by annotator agreement
(``annotation.snapshots``) and the evaluation metrics (``metrics``).

Events are plain dicts with ``start_time``/``end_time``/``event`` or ``Event`` records; both work.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence


def _get(e: Any, key: str):
    return e[key] if isinstance(e, dict) else getattr(e, key)


def tiou(a: Any, b: Any) -> float:
    """Temporal IoU of two events' [start_time, end_time] intervals."""
    s1, e1 = float(_get(a, "start_time")), float(_get(a, "end_time"))
    s2, e2 = float(_get(b, "start_time")), float(_get(b, "end_time"))
    inter = max(0.0, min(e1, e2) - max(s1, s2))
    union = max(e1, e2) - min(s1, s2)
    return inter / union if union > 0 else 0.0


def greedy_match(gt: Sequence[Any], pred: Sequence[Any], threshold: float, same_class: bool = True,
                 gi_pool: Iterable[int] | None = None, pi_pool: Iterable[int] | None = None) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(true index, predicted index, tIoU)``: best tIoU pairs first, each event used once,
    only pairs with tIoU >= ``threshold`` (and > 0); ``same_class`` requires equal ``event`` labels."""
    gis = list(range(len(gt))) if gi_pool is None else list(gi_pool)
    pis = list(range(len(pred))) if pi_pool is None else list(pi_pool)
    cands = []
    for pi in pis:
        for gi in gis:
            if same_class and _get(gt[gi], "event") != _get(pred[pi], "event"):
                continue
            t = tiou(gt[gi], pred[pi])
            if t >= threshold and t > 0:
                cands.append((-t, pi, gi))
    cands.sort()
    used_g, used_p, out = set(), set(), []
    for neg_t, pi, gi in cands:
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        out.append((gi, pi, -neg_t))
    return sorted(out)
