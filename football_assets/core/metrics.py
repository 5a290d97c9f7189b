"""Evaluation metrics for predicted match events. Pure functions over plain event dicts.

An event is ``{"event": class, "start_time": s, "end_time": s, "description": str, "confidence": float?}``;
a "pair" is ``(true_events, predicted_events)`` for one clip.

Definitions (the report repeats them):

* **tIoU** of two intervals = |intersection| / |union| (0 when disjoint).
* **Matching** (per clip, per class, one-to-one): every (true, predicted) pair of the same class with
  tIoU >= ``threshold`` is a candidate; candidates are taken greedily by descending tIoU (ties: earlier
  prediction, then earlier true event) and a pair is kept when neither side is matched yet. A kept pair
  is a true positive; unmatched predictions are false positives, unmatched true events false negatives.
* **Precision / recall / F1** per class from those counts (0 where a denominator is 0). **Micro** sums the
  counts over classes; **macro** averages per-class values over the classes that occur in the ground truth
  or the predictions (a class absent from both has no defined score and is left out).
* **Mean tIoU** = mean tIoU over all kept matches.
* **Presence F1** (clip level): per clip, the set of classes predicted vs the set of true classes;
  micro precision/recall/F1 over (clip, class) pairs. Timing is ignored: "did the model say a Goal
  happens in this clip".
* **Confusion matrix**: same-class matches are the diagonal; the remaining true and predicted events are
  then matched class-agnostically by the same greedy rule (off-diagonal = wrong class, right time);
  what is still left is counted against ``"(none)"`` (missed true events / spurious predictions).
* **SoccerNet average-mAP**: the official SoccerNet action-spotting definition (``SoccerNet`` package,
  ``Evaluation/ActionSpotting.py``), re-implemented on event lists: each event is spotted at one time
  (the interval centre here), quantized to frames at ``framerate`` (2 by default, as SoccerNet);
  per tolerance delta (seconds), a true spot takes the highest-confidence unused prediction of its class
  within +-delta/2; precision/recall over 200 confidence thresholds in [0, 1]; 11-point interpolated
  AP per class; mAP = mean over ALL classes (a class without true events scores 0, as officially);
  average-mAP = trapezoid mean of mAP over the tolerances: tight = 1..5 s, loose = 5..60 s step 5.
  Predictions without a confidence count as 1.0. On clips shorter than a tolerance, nearly any
  same-class prediction in the clip matches: the report lists the loose tolerances above the clip length
  as presence-like and adds the loose mAP over the tolerances within the clip length ("within clip").
* **ROUGE-L** (rouge-score, F-measure, stemmed, mean) and **BLEU** (sacrebleu corpus BLEU, 0-100) of
  predicted vs true descriptions over the kept matches; next to them the **template prior** on the same
  matches: the class's most typical train description (``baselines.template_prior``) in place of the
  prediction. Only a model that reads the clip (team, side, player) beats it.
* **Valid-JSON rate** = answers that parsed / answers; **grounding accuracy** = grounding questions
  answered right (for "does X occur": the same yes/no; when it occurs: also tIoU >= threshold).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from football_assets.core.events import EVENT_CLASSES
from football_assets.core.matching import greedy_match, tiou

NONE = "(none)"
TIGHT_TOLERANCES = tuple(range(1, 6))  # seconds, SoccerNet "tight" (v3)
LOOSE_TOLERANCES = tuple(range(5, 65, 5))  # seconds, SoccerNet "loose" (v1/v2)
SOCCERNET_FRAMERATE = 2
SOCCERNET_MAX_FRAMES_S = 120 * 60  # the official per-half label vector length, in seconds

#: A tIoU threshold that matches any overlap at all (tIoU > 0): "the right class at about the right time".
ANY_OVERLAP = 1e-9

Pair = tuple[Sequence[dict], Sequence[dict]]


def match_events(gt: Sequence[dict], pred: Sequence[dict], threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one same-class matches ``(true index, predicted index, tIoU)`` for one clip (see module doc)."""
    return greedy_match(gt, pred, threshold, same_class=True)


def labelled_events(clips: dict[str, tuple[Sequence[dict], Sequence[dict]]], threshold: float = 0.5) -> list[tuple[dict, bool]]:
    """Every predicted event with whether it is a true positive (matched by ``match_events``)."""
    out = []
    for gt, pred in clips.values():
        hit = {p for _, p, _ in match_events(gt, pred, threshold)}
        out += [(e, i in hit) for i, e in enumerate(pred)]
    return out


def auroc(conf: Sequence[float], correct: Sequence[bool]) -> float | None:
    """P(a true positive's confidence > a false positive's), ties counted half; None without both kinds."""
    c, y = np.asarray(conf, dtype=np.float64), np.asarray(correct, dtype=bool)
    pos, neg = c[y], c[~y]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn, "precision": p, "recall": r, "f1": f}


def detection_scores(pairs: Iterable[Pair], threshold: float = 0.5, classes: Sequence[str] = EVENT_CLASSES) -> dict:
    """Per-class, micro and macro P/R/F1 at tIoU >= ``threshold``, the mean tIoU of matches, and the
    matched (prediction, truth) description pairs."""
    tp, fp, fn = Counter(), Counter(), Counter()
    tious, descriptions, described = [], [], []
    for gt, pred in pairs:
        matches = match_events(gt, pred, threshold)
        mg, mp = {g for g, _, _ in matches}, {p for _, p, _ in matches}
        for g, p, t in matches:
            tp[gt[g]["event"]] += 1
            tious.append(t)
            descriptions.append((str(pred[p].get("description", "")), str(gt[g].get("description", ""))))
            described.append(gt[g]["event"])
        for i, e in enumerate(gt):
            if i not in mg:
                fn[e["event"]] += 1
        for i, e in enumerate(pred):
            if i not in mp:
                fp[e["event"]] += 1
    names = list(classes) + sorted((set(tp) | set(fp) | set(fn)) - set(classes))
    per_class = {c: _prf(tp[c], fp[c], fn[c]) for c in names}
    present = [c for c in names if tp[c] + fp[c] + fn[c] > 0]
    micro = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = {k: (float(np.mean([per_class[c][k] for c in present])) if present else 0.0)
             for k in ("precision", "recall", "f1")}
    return {"threshold": threshold, "per_class": per_class, "micro": micro, "macro": macro,
            "macro_classes": present, "mean_tiou": float(np.mean(tious)) if tious else None,
            "n_matches": len(tious), "matched_descriptions": descriptions, "matched_classes": described}


def presence_scores(pairs: Iterable[Pair]) -> dict:
    """Clip-level class presence: micro P/R/F1 over (clip, class) pairs (see module doc)."""
    tp = fp = fn = 0
    for gt, pred in pairs:
        g, p = {e["event"] for e in gt}, {e["event"] for e in pred}
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
    return _prf(tp, fp, fn)


def confusion_matrix(pairs: Iterable[Pair], threshold: float = 0.5, classes: Sequence[str] = EVENT_CLASSES) -> dict:
    """Rows = true class (+ ``(none)`` for spurious predictions), columns = predicted class (+ ``(none)``
    for missed true events). Returns ``{"labels": [...], "matrix": [[int]]}``."""
    labels = list(classes) + [NONE]
    idx = {c: i for i, c in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=int)

    def at(name: str) -> int:
        return idx.get(name, idx[NONE])

    for gt, pred in pairs:
        same = match_events(gt, pred, threshold)
        for g, p, _ in same:
            m[at(gt[g]["event"]), at(pred[p]["event"])] += 1
        left_g = [i for i in range(len(gt)) if i not in {g for g, _, _ in same}]
        left_p = [i for i in range(len(pred)) if i not in {p for _, p, _ in same}]
        cross = greedy_match(gt, pred, threshold, same_class=False, gi_pool=left_g, pi_pool=left_p)
        for g, p, _ in cross:
            m[at(gt[g]["event"]), at(pred[p]["event"])] += 1
        for g in set(left_g) - {g for g, _, _ in cross}:
            m[at(gt[g]["event"]), idx[NONE]] += 1
        for p in set(left_p) - {p for _, p, _ in cross}:
            m[idx[NONE], at(pred[p]["event"])] += 1
    return {"labels": labels, "matrix": m.tolist()}


def description_scores(matched: Sequence[tuple[str, str]]) -> dict:
    """ROUGE-L F (mean) and corpus BLEU of (prediction, truth) description pairs; None when there are none."""
    if not matched:
        return {"rougeL": None, "bleu": None, "n": 0}
    import sacrebleu
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rouge = [scorer.score(ref, hyp)["rougeL"].fmeasure for hyp, ref in matched]
    bleu = sacrebleu.corpus_bleu([h for h, _ in matched], [[r for _, r in matched]]).score
    return {"rougeL": float(np.mean(rouge)), "bleu": float(bleu), "n": len(matched)}


def grounding_correct(target: dict, predicted: dict | None, threshold: float = 0.5) -> bool:
    """Is a grounding answer right? ``target``/``predicted``: ``{"event", "start_time", "end_time"}`` or
    ``{"event", "occurs": False}``; ``predicted`` None = unparseable answer (wrong)."""
    if predicted is None:
        return False
    occurs_t, occurs_p = target.get("occurs", True) is not False, predicted.get("occurs", True) is not False
    if occurs_t != occurs_p:
        return False
    if not occurs_t:
        return True
    if "start_time" not in predicted or "end_time" not in predicted:
        return False
    return tiou(target, predicted) >= threshold


def grounding_accuracy(items: Sequence[tuple[dict, dict | None]], threshold: float = 0.5) -> dict:
    n = len(items)
    correct = sum(grounding_correct(t, p, threshold) for t, p in items)
    return {"accuracy": correct / n if n else None, "correct": correct, "n": n}


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# ---------------------------------------------------------------------------------------------------
# SoccerNet average-mAP


def spot_time(event: dict) -> float:
    """The single time SoccerNet-style spotting uses for an interval event: its centre."""
    return (float(event["start_time"]) + float(event["end_time"])) / 2.0


def _frame(t: float, framerate: float) -> int:
    # as SoccerNet: position in integer milliseconds, frame = int(framerate * ms / 1000), clipped to the half
    ms = int(round(t * 1000))
    return min(int(framerate * (ms / 1000)), int(SOCCERNET_MAX_FRAMES_S * framerate) - 1)


def _video_class_spots(gts: dict[str, Sequence[dict]], preds: dict[str, Sequence[dict]], classes: Sequence[str],
                       framerate: float):
    """Per video and class: sorted unique true frames, and {frame: confidence} (a later prediction in the
    same frame overwrites an earlier one, as the official vectors do)."""
    cidx = {c: i for i, c in enumerate(classes)}
    out = []
    for video in sorted(set(gts) | set(preds)):
        g = [set() for _ in classes]
        p = [dict() for _ in classes]
        for e in gts.get(video, []):
            if e["event"] in cidx:
                g[cidx[e["event"]]].add(_frame(spot_time(e), framerate))
        for e in preds.get(video, []):
            if e["event"] in cidx:
                p[cidx[e["event"]]][_frame(spot_time(e), framerate)] = float(e.get("confidence", 1.0))
        out.append(([sorted(s) for s in g], p))
    return out


def _class_detections(gt_frames: list[int], pred: dict[int, float], delta: float) -> np.ndarray:
    """[score, is_tp] per prediction (score >= 0) of one class in one video for a window of ``delta`` frames."""
    frames = sorted(f for f, s in pred.items() if s >= 0)
    scores = [pred[f] for f in frames]
    det = np.zeros((len(frames), 2))
    det[:, 0] = scores
    used: set[int] = set()
    for g in gt_frames:
        best, best_i = -1.0, None
        for i, (f, s) in enumerate(zip(frames, scores)):
            if abs(f - g) <= delta / 2 and s > best and f not in used:
                best, best_i = s, i
        if best_i is not None:
            det[best_i, 1] = 1
            used.add(frames[best_i])
    return det


def _ap_11(precision: np.ndarray, recall: np.ndarray) -> float:
    ap = 0.0
    for j in np.arange(11) / 10:
        sel = precision[recall >= j]
        ap += float(np.max(sel)) if sel.size else 0.0
    return ap / 11


def soccernet_map(spots, n_classes: int, delta: float) -> np.ndarray:
    """Per-class AP at one tolerance window of ``delta`` frames (official thresholds and 11-point AP)."""
    thresholds = np.linspace(0, 1, 200)
    ap = np.zeros(n_classes)
    for c in range(n_classes):
        dets = [_class_detections(g[c], p[c], delta) for g, p in spots]
        det = np.concatenate(dets) if dets else np.zeros((0, 2))
        n_gt = sum(len(g[c]) for g, _ in spots)
        prec, rec = [], []
        for th in thresholds:
            sel = det[:, 0] >= th
            tp = float(det[sel, 1].sum())
            n = int(sel.sum())
            prec.append(tp / n if n else 0.0)
            rec.append(tp / n_gt if n_gt else 0.0)
        ap[c] = _ap_11(np.array(prec), np.array(rec))
    return ap


def soccernet_average_map(gts: dict[str, Sequence[dict]], preds: dict[str, Sequence[dict]],
                          tolerances: Sequence[float] = TIGHT_TOLERANCES, classes: Sequence[str] = EVENT_CLASSES,
                          framerate: float = SOCCERNET_FRAMERATE) -> dict:
    """SoccerNet average-mAP over ``tolerances`` (seconds) of videos ``{video: events}`` (see module doc).

    Returns ``a_mAP``, ``a_mAP_per_class`` and the mAP at each tolerance."""
    spots = _video_class_spots(gts, preds, classes, framerate)
    per_delta = [soccernet_map(spots, len(classes), tol * framerate) for tol in tolerances]
    maps = [float(np.mean(a)) for a in per_delta]
    if len(per_delta) == 1:
        a_map, a_cls = maps[0], per_delta[0]
    else:
        k = len(per_delta) - 1
        a_map = sum((maps[i] + maps[i + 1]) / 2 for i in range(k)) / k
        a_cls = sum((per_delta[i] + per_delta[i + 1]) / 2 for i in range(k)) / k
    has_gt = [c for i, c in enumerate(classes) if any(g[i] for g, _ in spots)]
    return {"a_mAP": float(a_map), "a_mAP_per_class": {c: float(v) for c, v in zip(classes, a_cls)},
            "mAP_per_tolerance": dict(zip([float(t) for t in tolerances], maps)),
            "classes_with_truth": has_gt, "framerate": framerate}


def presence_like_tolerances(clip_duration: float, tolerances: Sequence[float] = LOOSE_TOLERANCES) -> dict:
    """The tolerances (s) above the clip length: a true spot then takes any same-class prediction of the
    clip (|t_pred - t_true| < clip length <= tolerance), up to a window edge when the tolerance is
    under twice the clip length, so at those tolerances a-mAP measures class presence, not timing."""
    over = [float(t) for t in tolerances if t > clip_duration]
    return {"clip_duration": float(clip_duration), "presence_tolerances": over,
            "timing_tolerances": [float(t) for t in tolerances if t <= clip_duration]}


# ---------------------------------------------------------------------------------------------------
# Everything the report shows about event detection, in one call


def event_metrics(clips: dict[str, tuple[Sequence[dict], Sequence[dict]]], threshold: float = 0.5,
                  classes: Sequence[str] = EVENT_CLASSES, clip_duration: float | None = None,
                  prior_descriptions: dict[str, str] | None = None) -> dict:
    """All event metrics for ``{clip_id: (true_events, predicted_events)}``.

    ``clip_duration`` (the longest clip, s): loose tolerances above it are listed as presence-like and
    ``loose.within_clip`` keeps the a-mAP over the others. ``prior_descriptions`` (class -> template
    prior): the description metrics are also computed with that text in place of each matched
    prediction's, on the same matches (the template-prior baseline)."""
    pairs = list(clips.values())
    det = detection_scores(pairs, threshold, classes)
    matched = det.pop("matched_descriptions")
    matched_classes = det.pop("matched_classes")
    gts = {k: v[0] for k, v in clips.items()}
    preds = {k: v[1] for k, v in clips.items()}
    loose = soccernet_average_map(gts, preds, LOOSE_TOLERANCES, classes)
    if clip_duration:
        loose.update(presence_like_tolerances(clip_duration))
        timing = [t for t in LOOSE_TOLERANCES if t <= clip_duration]
        loose["within_clip"] = soccernet_average_map(gts, preds, timing, classes)["a_mAP"] if timing else None
    descriptions = description_scores(matched)
    if prior_descriptions is not None:
        prior = description_scores([(prior_descriptions.get(c, ""), ref) for (_, ref), c in zip(matched, matched_classes)])
        descriptions.update(prior_rougeL=prior["rougeL"], prior_bleu=prior["bleu"])
    return {
        "n_clips": len(clips),
        "n_true_events": sum(len(g) for g, _ in pairs),
        "n_predicted_events": sum(len(p) for _, p in pairs),
        "detection": det,
        "presence": presence_scores(pairs),
        "soccernet": {
            "tight": soccernet_average_map(gts, preds, TIGHT_TOLERANCES, classes),
            "loose": loose,
        },
        "descriptions": descriptions,
        "confusion": confusion_matrix(pairs, threshold, classes),
        "per_class_counts": {c: sum(1 for g, _ in pairs for e in g if e["event"] == c) for c in classes},
    }

