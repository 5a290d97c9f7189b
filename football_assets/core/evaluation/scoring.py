"""Scoring answered samples: every metric of ``metrics`` on the parsed answers, the confidence figures
(AUROC, ECE, reliability, PR curves), the headline numbers, and the calibration fitted on val answers."""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable, Sequence

from football_assets.core import metrics, prompts
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.inference import calibration

#: Headline numbers (key, label, higher is better) shown side by side and used by the regression gate.
HEADLINE = (
    ("micro_f1", "Event F1 (micro)"),
    ("macro_f1", "Event F1 (macro)"),
    ("precision", "Event precision (micro)"),
    ("recall", "Event recall (micro)"),
    ("mean_tiou", "Mean tIoU of matches"),
    ("presence_f1", "Class presence F1 (clip level)"),
    ("tight_a_mAP", "SoccerNet tight average-mAP (1-5 s)"),
    ("tight_a_mAP_conf", "SoccerNet tight average-mAP (1-5 s), with the model's confidences"),
    ("loose_a_mAP", "SoccerNet loose average-mAP (5-60 s; above the clip length = presence)"),
    ("loose_a_mAP_within_clip", "SoccerNet loose mAP, tolerances within the clip length"),
    ("rougeL", "Description ROUGE-L"),
    ("rougeL_prior", "Description ROUGE-L, template prior on the same matches"),
    ("bleu", "Description BLEU"),
    ("bleu_prior", "Description BLEU, template prior on the same matches"),
    ("valid_json_rate", "Valid-JSON rate"),
    ("grounding_accuracy", "Grounding accuracy (class questions)"),
    ("free_text_grounding_accuracy", "Free-text grounding accuracy (described moments)"),
    ("conf_auroc", "Confidence AUROC, true vs false positives"),
    ("conf_auroc_overlap", "Confidence AUROC, right class at any overlap vs not"),
    ("ece_raw", "Confidence ECE, raw (lower is better)"),
    ("ece_calibrated", "Confidence ECE, calibrated on val (lower is better)"),
)

def with_confidences(record: dict, parsed: list[dict], cal: calibration.Calibration | None = None) -> list[dict]:
    """The record's parsed events with ``confidence`` (through ``cal`` when given) and ``raw_confidence``
    from its ``scores``; events of a record without scores (baselines, old caches) get none."""
    scores = record.get("scores")
    if not scores or len(scores) != len(parsed):
        return [dict(e) for e in parsed]
    return [{**e, "raw_confidence": s["raw_confidence"], "raw_logp": s["raw_logp"],
             "confidence": cal.apply_one(s["raw_logp"]) if cal else s["raw_confidence"]} for e, s in zip(parsed, scores)]

def _scored_events(clips: dict[str, tuple[Sequence[dict], Sequence[dict]]], threshold: float) -> list[tuple[dict, bool]]:
    """``metrics.labelled_events`` of the events that carry the model's confidence (``raw_logp``)."""
    return [(e, ok) for e, ok in metrics.labelled_events(clips, threshold) if "raw_logp" in e]

def _auroc(events: list[tuple[dict, bool]]) -> float | None:
    """AUROC of true vs false positives on the logit of the raw log confidence (the exact ranking)."""
    return metrics.auroc([calibration.logit_from_logp(e["raw_logp"]) for e, _ in events], [ok for _, ok in events])

def confidence_metrics(clips: dict[str, tuple[Sequence[dict], Sequence[dict]]], threshold: float,
                       calibrated: bool) -> dict:
    """What the report shows about confidences: tight a-mAP with them, AUROC of true vs false positives
    (on the raw log confidence: the exact ranking), reliability and ECE raw and (``calibrated``) after
    calibration, and a precision-recall curve per class. Keys are None where no event has a confidence.

    ``auroc_overlap`` is the same AUROC with a true positive being the right class at any overlap with a
    true event (``metrics.ANY_OVERLAP``): the confidence scores *whether and what*, not *when* (times
    have their own ``time_confidence``), so the two AUROCs tell wrong events from badly placed ones."""
    gts = {k: v[0] for k, v in clips.items()}
    preds = {k: v[1] for k, v in clips.items()}
    out = {"tight_a_mAP": metrics.soccernet_average_map(gts, preds, metrics.TIGHT_TOLERANCES)["a_mAP"],
           "auroc": None, "auroc_overlap": None, "ece_raw": None, "ece_calibrated": None, "reliability_raw": None,
           "reliability_calibrated": None, "pr_curves": {}, "n_events": 0}
    events = _scored_events(clips, threshold)
    if not events:
        return out
    ok = [y for _, y in events]
    raw = calibration.reliability([e["raw_confidence"] for e, _ in events], ok)
    out.update(n_events=len(events), n_true_positive=int(sum(ok)), reliability_raw=raw, ece_raw=raw["ece"],
               auroc=_auroc(events), auroc_overlap=_auroc(_scored_events(clips, metrics.ANY_OVERLAP)))
    if calibrated:
        cal = calibration.reliability([e["confidence"] for e, _ in events], ok)
        out.update(reliability_calibrated=cal, ece_calibrated=cal["ece"])
    n_true = Counter(e["event"] for gt, _ in clips.values() for e in gt)
    for c in sorted({e["event"] for e, _ in events} | set(n_true), key=lambda c: (c not in EVENT_CLASSES, c)):
        mine = [(e, y) for e, y in events if e["event"] == c]
        out["pr_curves"][c] = calibration.pr_curve([e["confidence"] for e, _ in mine], [y for _, y in mine], n_true[c])
    return out

def score_records(records: Iterable[dict], threshold: float = 0.5, clip_duration: float | None = None,
                  prior_descriptions: dict[str, str] | None = None,
                  cal: calibration.Calibration | None = None) -> dict:
    """All metrics of answered samples (``run_predictor`` output). Unparseable answers count as invalid
    JSON and as no prediction. ``clip_duration`` and ``prior_descriptions``: see ``metrics.event_metrics``.
    The existing metrics see every confidence at 1.0 (as they always have, so earlier figures stay
    comparable); ``confidence`` has the ones that use the model's confidences (``cal``: calibrated)."""
    clips, grounding, free_text, invalid, conf_clips = {}, [], [], [], {}
    n = 0
    for r in records:
        n += 1
        try:
            parsed = prompts.parse_answer(r["task"], r["raw"])
        except (prompts.AnswerParseError, ValueError) as exc:
            parsed = None
            invalid.append({"id": r["id"], "task": r["task"], "error": str(exc)[:300], "raw": str(r["raw"])[:300]})
        if r["task"] == "events":
            clips[r["id"]] = (list(r["target"]), parsed or [])
            conf_clips[r["id"]] = (list(r["target"]), with_confidences(r, parsed or [], cal))
        elif r["task"] == prompts.FREE_TEXT_TASK:
            free_text.append((r["target"], parsed))
        else:
            grounding.append((r["target"], parsed))
    out = metrics.event_metrics(clips, threshold, clip_duration=clip_duration, prior_descriptions=prior_descriptions)
    out["valid_json"] = {"rate": metrics.rate(n - len(invalid), n), "valid": n - len(invalid), "n": n,
                         "invalid_examples": invalid[:10]}
    out["grounding"] = metrics.grounding_accuracy(grounding, threshold)
    out["free_text_grounding"] = metrics.grounding_accuracy(free_text, threshold)
    out["threshold"] = threshold
    out["confidence"] = confidence_metrics(conf_clips, threshold, cal is not None)
    return out

def headline(m: dict | None) -> dict:
    """The flat headline numbers of one metrics dict (None where undefined)."""
    if not m:
        return {}
    det = m["detection"]
    return {
        "micro_f1": det["micro"]["f1"], "macro_f1": det["macro"]["f1"],
        "precision": det["micro"]["precision"], "recall": det["micro"]["recall"], "mean_tiou": det["mean_tiou"],
        "presence_f1": m["presence"]["f1"],
        "tight_a_mAP": m["soccernet"]["tight"]["a_mAP"], "loose_a_mAP": m["soccernet"]["loose"]["a_mAP"],
        "loose_a_mAP_within_clip": m["soccernet"]["loose"].get("within_clip"),
        "rougeL": m["descriptions"]["rougeL"], "bleu": m["descriptions"]["bleu"],
        "rougeL_prior": m["descriptions"].get("prior_rougeL"), "bleu_prior": m["descriptions"].get("prior_bleu"),
        "valid_json_rate": m["valid_json"]["rate"], "grounding_accuracy": m["grounding"]["accuracy"],
        "free_text_grounding_accuracy": (m.get("free_text_grounding") or {}).get("accuracy"),
        **({"tight_a_mAP_conf": c["tight_a_mAP"], "conf_auroc": c["auroc"],
            "conf_auroc_overlap": c.get("auroc_overlap"), "ece_raw": c["ece_raw"],
            "ece_calibrated": c["ece_calibrated"]} if (c := m.get("confidence")) else {}),
    }

def scorer(threshold: float, samples: Sequence[dict], priors) -> Callable[..., dict]:
    durations = [float(s["duration"]) for s in samples if s.get("duration")]
    clip_duration = max(durations) if durations else None
    return lambda records, cal=None: score_records(records, threshold, clip_duration,
                                                   priors.descriptions if priors else None, cal)

def fit_calibration(records: Sequence[dict], threshold: float, model_version: str) -> calibration.Calibration:
    """The calibration of the adapter's confidences fitted on its answers to the val split: each predicted
    event with its raw log confidence and whether it matched a true event (tIoU >= ``threshold``)."""
    clips = {}
    for r in records:
        if r["task"] != "events":
            continue
        try:
            parsed = prompts.parse_events(r["raw"])
        except prompts.AnswerParseError:
            parsed = []
        clips[r["id"]] = (list(r["target"]), with_confidences(r, parsed))
    events = _scored_events(clips, threshold)
    return calibration.fit([e["raw_logp"] for e, _ in events], [ok for _, ok in events], model_version)

def attach_confidences(records: Sequence[dict], cal: calibration.Calibration | None) -> None:
    """Add ``confidences`` (calibrated when ``cal``, parallel to the parsed events) to events records, so
    readers of the answers (the spotter section's VLM column and cascade) rank by the same numbers."""
    for r in records:
        if r["task"] == "events" and r.get("scores"):
            r["confidences"] = [cal.apply_one(s["raw_logp"]) if cal else s["raw_confidence"] for s in r["scores"]]
