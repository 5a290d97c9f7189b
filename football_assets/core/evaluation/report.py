"""The evaluation report: run a predictor over SFT samples, score the answers, write Markdown/JSON/HTML.

The report is what decides whether an adapter ships, so every number comes with what it should be read
against: val and test side by side (choices are made on val; test is only reported), the base model
without adapter (for ``tiny``: the same demo-pretrained base the adapter was trained on), the previous
adapter scored on this very test split, and the trivial predictors of ``baselines``. It keeps every
unparseable answer visible (counted, with examples) and never crashes on one.

Columns are ``predictor · split``; a new predictor (e.g. a spotter) is one more entry in the
``{split: {predictor: headline}}`` table that ``build_report`` takes.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

from football_assets.core import metrics, prompts
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.fsutil import atomic_path, write_json
from football_assets.core.inference import calibration, confidence

REPORT_FORMAT = "evaluation-report-v2"
SPLITS = ("val", "test")

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


def user_instruction(sample: dict) -> str:
    """The text part of the sample's user turn: the exact training prompt."""
    for part in sample["messages"][1]["content"]:
        if part.get("type") == "text":
            return part["text"]
    raise ValueError(f"sample {sample.get('id')}: user turn has no text part")


def answer_budgets(predictor, samples: Sequence[dict]) -> dict[str, int]:
    """Per task, 1.5 x the longest reference answer in tokens + 16: a model that has not learnt to stop
    (the base model) would otherwise generate to the predictor's limit on every sample, and a longer
    answer than that could not be right anyway."""
    tok = getattr(getattr(predictor, "processor", None), "tokenizer", None)
    if tok is None:
        return {}
    longest: dict[str, int] = {}
    for s in samples:
        ref = s["messages"][-1]["content"] if s["messages"][-1]["role"] == "assistant" else ""
        n = len(tok(ref, add_special_tokens=False)["input_ids"]) if isinstance(ref, str) else 0
        longest[s["task"]] = max(longest.get(s["task"], 0), n)
    return {task: int(1.5 * n) + 16 for task, n in longest.items()}


def free_text_samples(samples: Sequence[dict]) -> list[dict]:
    """Free-text grounding samples derived from the split's events samples: one per described event whose
    description is unique in its clip. A split that already has such samples (SFT splits made since they
    are trained on) gets none added, so the figure stays comparable either way."""
    if any(s["task"] == prompts.FREE_TEXT_TASK for s in samples):
        return []
    out = []
    for s in samples:
        if s["task"] != "events":
            continue
        for sid, question, target in prompts.free_text_questions(s["clip_id"], s["target"]):
            out.append({**{k: v for k, v in s.items() if k not in ("id", "task", "messages", "target")},
                        "id": sid, "task": prompts.FREE_TEXT_TASK, "target": target,
                        "messages": prompts.build_messages(s["video"], prompts.free_grounding_question(question),
                                                           prompts.format_target(prompts.FREE_TEXT_TASK, target))})
    return out


def run_predictor(predictor, samples: Sequence[dict], max_new_tokens: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Greedy answers of ``predictor`` (an ``EventPredictor``) to every sample, with the training prompt;
    answers are capped at ``max_new_tokens`` or else at ``answer_budgets``."""
    budgets = {} if max_new_tokens else answer_budgets(predictor, samples)
    records = []
    scored = hasattr(predictor, "generate_scored")
    for i, s in enumerate(samples):
        kwargs = {"fps": float(s.get("fps", 4)), "instruction": user_instruction(s)}
        if max_new_tokens or s["task"] in budgets:
            kwargs["max_new_tokens"] = max_new_tokens or budgets[s["task"]]
        rec = {"id": s["id"], "clip_id": s["clip_id"], "task": s["task"], "target": s["target"]}
        if scored:  # the answer and, per event, its confidence from the same decode
            ans = predictor.generate_scored(s["video"], **kwargs)
            rec["raw"] = ans.text
            if s["task"] == "events":
                out = confidence.score_answer(ans)
                rec["scores"] = [{k: e[k] for k in ("raw_logp", "raw_confidence", "time_confidence")} for e in out["events"]]
                rec["answer_confidence"] = out["answer_confidence"]
        else:
            rec["raw"] = predictor.generate(s["video"], **kwargs)
        records.append(rec)
        if progress:
            progress(i + 1, len(samples))
    return records


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


ADAPTER = "this adapter"


def previous_label(previous: dict) -> str:
    return f"previous adapter ({previous.get('model_version', '?')})"


def base_label(info: dict) -> str:
    return f"base model without adapter ({info.get('base_model', '?')})"


def flat_columns(table: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """``{split: {predictor: headline}}`` -> ``{"predictor · split": headline}``, each predictor's splits
    side by side, predictors in order of first appearance, splits in ``SPLITS`` order."""
    order: list[str] = []
    for split in ["test"] + [s for s in table if s != "test"]:  # test lists every predictor that was compared
        for name in table.get(split, {}):
            if name not in order:
                order.append(name)
    splits = list(SPLITS) + [s for s in table if s not in SPLITS]
    return {f"{name} · {split}": table[split][name] for name in order for split in splits if name in table.get(split, {})}


def build_report(current: dict, info: dict, previous: dict | None = None, base: dict | None = None,
                 table: dict[str, dict[str, dict]] | None = None, val: dict | None = None) -> dict:
    """The report JSON. ``current``: the adapter's test ``score_records`` output (the headline);
    ``val``: the same on val; ``base``: the base model's on test; ``previous``: the previous adapter as
    scored on this test split (``headline``, ``model_version``, optional ``comparable``/``how``) or None;
    ``table``: more columns ``{split: {predictor: headline}}`` (base on val, baselines, ...);
    ``info``: model_version, base_model, splits_version, ..."""
    cols: dict[str, dict[str, dict]] = {split: {} for split in SPLITS}
    if val is not None:
        cols["val"][ADAPTER] = headline(val)
    cols["test"][ADAPTER] = headline(current)
    if previous and previous.get("headline") and previous.get("comparable", True):
        cols["test"][previous_label(previous)] = previous["headline"]
    if base:
        cols["test"][base_label(info)] = headline(base)
    for split, row in (table or {}).items():
        for name, h in row.items():
            cols.setdefault(split, {})[name] = h
    cols = {k: v for k, v in cols.items() if v}
    return {
        "format": REPORT_FORMAT, **info, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "headline": headline(current), "val_headline": headline(val) if val is not None else None,
        "metrics": current, "splits": cols, "comparison": flat_columns(cols),
        "previous_model_version": previous.get("model_version") if previous else None,
        "previous_splits_version": previous.get("splits_version") if previous else None,
        "previous": previous,
        "base_headline": headline(base) if base else None,
    }


def regression_gate(report: dict, previous: dict | None, margin: float, key: str = "micro_f1") -> tuple[bool, str]:
    """Pass unless ``key`` dropped by more than ``margin`` against the previous adapter on the same test
    split (``previous``: see ``build_report``). With no previous adapter, or none scored on this test
    split, it passes and says that there was nothing comparable."""
    if not previous:
        return True, "no previous adapter report: nothing to compare against"
    if previous.get("comparable") is False:
        return True, f"nothing comparable: previous adapter {previous.get('model_version')} {previous.get('how', '')}".rstrip()
    new, old = report["headline"].get(key), previous.get("headline", {}).get(key)
    if old is None or new is None:
        return True, f"{key} undefined in one report (new {new}, previous {old})"
    ok = new >= old - margin
    verdict = "within" if ok else "beyond"
    how = f", {previous['how']}" if previous.get("how") else ""
    return ok, (f"{key} {new:.4f} vs previous {old:.4f} ({previous.get('model_version')}{how}): change {new - old:+.4f}, "
                f"{verdict} the allowed drop of {margin:.4f}")


# ---------------------------------------------------------------------------------------------------
# Writing


def plot_confusion(confusion: dict, dest: Path, title: str = "Event confusion (tIoU matched)") -> None:
    """Confusion-matrix PNG (matplotlib Agg, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels, m = confusion["labels"], np.array(confusion["matrix"])
    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=100)
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted (none = missed)")
    ax.set_ylabel("true (none = spurious prediction)")
    ax.set_title(title)
    top = m.max() if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if m[i, j] > top / 2 else "black")
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def plot_confidence(conf: dict, reliability_png: Path, pr_png: Path) -> None:
    """Reliability diagram (raw and calibrated, test) and per-class precision-recall curves (confidence
    swept), as PNGs; panels without data say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5.5), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for key, label, style in (("reliability_raw", "raw", "o-"), ("reliability_calibrated", "calibrated on val", "s-")):
        rel = conf.get(key)
        if rel:
            pts = [(b["confidence"], b["accuracy"]) for b in rel["bins"] if b["n"]]
            ece = rel["ece"]
            ax.plot([x for x, _ in pts], [y for _, y in pts], style, label=f"{label} (ECE {ece:.3f})")
    if not conf.get("reliability_raw"):
        ax.text(0.5, 0.5, "no event with a confidence", ha="center")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean confidence in bin (10 equal-width bins)")
    ax.set_ylabel("fraction of true positives (tIoU matched)")
    ax.set_title("Reliability of event confidences (test)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    with atomic_path(reliability_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

    curves = conf.get("pr_curves") or {}
    names = list(curves) or ["(none)"]
    cols = 4
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows), dpi=100, squeeze=False)
    for ax, name in zip(axes.flat, names):
        c = curves.get(name)
        if c and c["recall"]:
            ax.plot(c["recall"], c["precision"], "o-", markersize=3)
        else:
            ax.text(0.5, 0.5, "no prediction", ha="center")
        ax.set_title(f"{name} ({c['n_true'] if c else 0} true)", fontsize=9)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("Per-class precision-recall, confidence swept (test, tIoU matched)")
    fig.tight_layout()
    with atomic_path(pr_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, shared by the Markdown and HTML writers."""
    m = report["metrics"]
    cols = list(report["comparison"])
    side = [[label] + [_fmt(report["comparison"][c].get(k)) for c in cols] for k, label in HEADLINE]
    truth = set(m["soccernet"]["tight"]["classes_with_truth"])
    per_class = []
    for c, v in m["detection"]["per_class"].items():
        seen = v["support"] + v["fp"] > 0  # P/R/F1 undefined for a class neither true nor predicted
        per_class.append([c, str(v["support"]), str(v["tp"]), str(v["fp"]), str(v["fn"])]
                         + [_fmt(v[k]) if seen else "n/a" for k in ("precision", "recall", "f1")]
                         + [_fmt(m["soccernet"][t]["a_mAP_per_class"].get(c)) if c in truth else "n/a (0 in mean)"
                            for t in ("tight", "loose")])
    conf = m["confusion"]
    cm = [[lab] + [str(x) for x in row] for lab, row in zip(conf["labels"], conf["matrix"])]
    invalid = [[x["id"], x["task"], x["error"], x["raw"][:120]] for x in m["valid_json"]["invalid_examples"]]
    loose = m["soccernet"]["loose"]
    per_tol = [[f"{t:g}", _fmt(v), "presence (tolerance above the clip length)"
                if float(t) in loose.get("presence_tolerances", []) else "timing"]
               for t, v in loose["mAP_per_tolerance"].items()]
    tables = [
        ("Headline, side by side (val: where choices are made; test: reported only)", ["metric"] + cols, side),
        (f"Per class (tIoU >= {m['threshold']})", ["class", "true", "TP", "FP", "FN", "precision", "recall", "F1",
                                                    "tight a-mAP", "loose a-mAP"], per_class),
        ("Confusion matrix (rows true, columns predicted)", ["true \\ predicted"] + conf["labels"], cm),
        ("SoccerNet loose mAP per tolerance (this adapter, test)", ["tolerance s", "mAP", "measures"], per_tol),
    ]
    conf = m.get("confidence") or {}
    if conf.get("reliability_raw"):
        rel_rows = []
        cal_bins = (conf.get("reliability_calibrated") or {}).get("bins") or [{}] * len(conf["reliability_raw"]["bins"])
        for b, c in zip(conf["reliability_raw"]["bins"], cal_bins):
            rel_rows.append([f"{b['lo']:.1f}-{b['hi']:.1f}", str(b["n"]), _fmt(b["confidence"]), _fmt(b["accuracy"]),
                             str(c.get("n", "n/a")), _fmt(c.get("confidence")), _fmt(c.get("accuracy"))])
        tables.append(("Event confidences (this adapter, test)", ["measure", "value"], [
            ["events with a confidence (true positives)", f"{conf['n_events']} ({conf.get('n_true_positive')})"],
            [f"AUROC, true vs false positives (tIoU >= {m['threshold']})", _fmt(conf["auroc"])],
            ["AUROC, right class at any overlap vs not (whether and what, not when)", _fmt(conf.get("auroc_overlap"))],
            ["ECE raw", _fmt(conf["ece_raw"])], ["ECE calibrated on val", _fmt(conf["ece_calibrated"])],
            ["tight a-mAP, every confidence 1.0", _fmt(m["soccernet"]["tight"]["a_mAP"])],
            ["tight a-mAP, the model's confidences", _fmt(conf["tight_a_mAP"])]]))
        tables.append(("Reliability (test): raw | calibrated", ["confidence bin", "n raw", "mean conf raw",
                                                               "accuracy raw", "n cal", "mean conf cal", "accuracy cal"],
                       rel_rows))
    if invalid:
        tables.append(("Unparseable answers (first 10)", ["sample", "task", "error", "answer"], invalid))
    return tables


def _intro(report: dict) -> list[str]:
    m = report["metrics"]
    vj = m["valid_json"]
    return [
        f"Model version: {report.get('model_version')} (base {report.get('base_model')}), "
        f"splits {report.get('splits_version')}, created {report['created_at']}.",
        f"Samples per split: {report.get('n_samples') or {'test': vj['n']}}; choose anything (settings, thresholds) "
        "on val, test is only reported.",
        f"Test samples: {vj['n']} ({m['n_clips']} event answers over {m['n_true_events']} true events, "
        f"{m['grounding']['n']} class grounding questions, {(m.get('free_text_grounding') or {}).get('n', 0)} free-text "
        f"grounding questions); {vj['n'] - vj['valid']} answers were not valid JSON.",
        f"Previous adapter: {report.get('previous_model_version') or 'none'}"
        + (f" ({(report.get('previous') or {}).get('how')})" if (report.get("previous") or {}).get("how") else "") + ".",
        f"Regression gate: {report.get('gate', {}).get('description', 'not run')}",
    ] + notes(report)


def notes(report: dict) -> list[str]:
    """How to read the columns and the metrics that measure less than their name says."""
    m = report["metrics"]
    out = []
    if report.get("base_note"):
        out.append(report["base_note"])
    if report.get("baselines_note"):
        out.append(report["baselines_note"])
    loose = m["soccernet"]["loose"]
    if loose.get("presence_tolerances"):
        over = loose["presence_tolerances"]
        out.append(f"Loose a-mAP: {len(over)} of {len(loose['mAP_per_tolerance'])} tolerances ({over[0]:g}-{over[-1]:g} s) "
                   f"are above the clip length ({loose['clip_duration']:g} s); at those any same-class prediction in the "
                   "clip matches, so they measure class presence, not timing. The 'within the clip length' row keeps "
                   "only the others.")
    if (m.get("free_text_grounding") or {}).get("n"):
        out.append("Free-text grounding: one question per described event of a test clip, phrased from its description "
                   "(\"When does this happen: <description>?\"), right when the answered span has tIoU >= the threshold "
                   "with the event; class grounding asks \"When does the <class> happen?\" instead. "
                   + ("The adapter was trained on such questions." if report.get("free_text_trained") else
                      "This adapter's training data had no such questions (class questions only), so the figure "
                      "measures what class training transfers.")
                   + " Baselines answer with their interval of the described event's class.")
    cal = report.get("calibration")
    if cal:
        out.append(f"Confidence of an event: P(item opens) x P(class name tokens) from the greedy decode "
                   f"(core/inference/confidence.py); calibration: {cal['method']}, T {cal['temperature']:.3f}, "
                   f"bias {cal['bias']:.3f}, from {cal['n_events']} val events ({cal['n_true_positive']} true "
                   "positives), stored in the adapter's calibration.json. Rows without 'confidences' in their name "
                   "score every event at confidence 1.0, as before.")
    d = m["descriptions"]
    if d.get("prior_rougeL") is not None:
        out.append("Descriptions: the template prior puts the class's most typical train description in place of each "
                   "matched prediction; a model beats it only by reading the clip (team, side, player).")
    return out


def to_markdown(report: dict, png_name: str = "confusion.png") -> str:
    lines = [f"# Evaluation report: {report.get('model_version')}", ""]
    lines += [f"- {x}" for x in _intro(report)] + [""]
    for title, header, rows in _tables(report):
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines += [f"## {title}", "", "| " + " | ".join(map(esc, header)) + " |",
                  "|" + "---|" * len(header)] + ["| " + " | ".join(map(esc, r)) + " |" for r in rows] + [""]
    lines += [f"![confusion matrix]({png_name})", "", "![reliability diagram](reliability.png)", "",
              "![per-class precision-recall](confidence_pr.png)", "", "## Metric definitions", "", "```", (metrics.__doc__ or "").strip(), "```", ""]
    return "\n".join(lines)


def to_html(report: dict, png: Path | None = None) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>Evaluation {html.escape(str(report.get('model_version')))}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}</style>",
             f"<h1>Evaluation report: {html.escape(str(report.get('model_version')))}</h1><ul>"]
    parts += [f"<li>{html.escape(x)}</li>" for x in _intro(report)] + ["</ul>"]
    for title, header, rows in _tables(report):
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows]
        parts.append("</table>")
    for title, path in (("Confusion matrix", png), ("Reliability diagram", png.parent / "reliability.png" if png else None),
                        ("Per-class precision-recall", png.parent / "confidence_pr.png" if png else None)):
        if path and path.exists():
            parts.append(f"<h2>{title}</h2><img alt='{title.lower()}' src='data:image/png;base64,"
                         f"{base64.b64encode(path.read_bytes()).decode()}'>")
    parts.append(f"<h2>Metric definitions</h2><pre>{html.escape((metrics.__doc__ or '').strip())}</pre>")
    return "\n".join(parts)


def write_report(report: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md, report.html, confusion.png, reliability.png and confidence_pr.png into
    ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / n for k, n in (("json", "report.json"), ("markdown", "report.md"),
                                         ("html", "report.html"), ("confusion", "confusion.png"),
                                         ("reliability", "reliability.png"), ("pr_curves", "confidence_pr.png"))}
    plot_confusion(report["metrics"]["confusion"], paths["confusion"])
    plot_confidence(report["metrics"].get("confidence") or {}, paths["reliability"], paths["pr_curves"])
    write_json(paths["json"], report)
    for key, text in (("markdown", to_markdown(report)), ("html", to_html(report, paths["confusion"]))):
        with atomic_path(paths[key]) as tmp:
            tmp.write_text(text)
    return paths


# ---------------------------------------------------------------------------------------------------
# Evaluating the trained adapter on the latest test split (the evaluation_report asset's logic)


def reports_root(layout) -> Path:
    return Path(layout.reports_dir) / "evaluation"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name)) or "unnamed"


def previous_report(layout, model_version: str) -> dict | None:
    """The newest stored report of a different model version (the previous adapter), or None."""
    from football_assets.core.fsutil import read_json

    found = []
    for p in reports_root(layout).glob("*/report.json"):
        try:
            r = read_json(p)
        except ValueError:
            continue
        if r and r.get("model_version") != model_version:
            found.append(r)
    return max(found, key=lambda r: r.get("created_at", "")) if found else None


def adapter_snapshot(layout, model_version: str) -> Path:
    """Where the weights a report scored are kept (``<report dir>/adapter``), so that a later adapter's
    gate can re-score them on its own test split."""
    return reports_root(layout) / _safe(model_version) / "adapter"


def keep_adapter(layout, adapter_dir: Path, model_version: str) -> Path:
    """Snapshot ``adapter_dir`` beside the report (hard links where the filesystem allows: the trainer
    replaces adapter directories whole, it never rewrites a file in place)."""
    import os
    import shutil

    from football_assets.core.fsutil import atomic_dir

    dest = adapter_snapshot(layout, model_version)
    if (dest / "adapter_config.json").exists():
        return dest

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    with atomic_dir(dest) as tmp:
        shutil.copytree(adapter_dir, tmp, dirs_exist_ok=True, copy_function=link_or_copy)
    return dest


def _scorer(threshold: float, samples: Sequence[dict], priors) -> Callable[..., dict]:
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


def previous_on_test(layout, model_version: str, splits_version: str, test: Sequence[dict], threshold: float,
                     score: Callable[[list[dict]], dict], answer: Callable[[Path, str], list[dict]]) -> dict | None:
    """The previous adapter (newest other report) as scored on exactly this test split, or None.

    Its own report counts when it was made on the same splits version, sample count and tIoU threshold;
    otherwise its kept weights are re-scored here with ``answer(adapter_dir, label)`` (cached per splits
    version under ``<reports>/evaluation/previous/``). Without kept weights the result says plainly that
    nothing comparable exists (``comparable: False``)."""
    from football_assets.core.fsutil import read_json

    prev = previous_report(layout, model_version)
    if not prev:
        return None
    out = {"model_version": prev.get("model_version"), "splits_version": prev.get("splits_version")}
    if (prev.get("splits_version") == splits_version and prev.get("n_test_samples") == len(test)
            and prev.get("threshold", 0.5) == threshold):
        return {**out, "headline": prev.get("headline", {}), "comparable": True,
                "how": f"its own report on the same test split ({splits_version})"}
    cache = reports_root(layout) / "previous" / f"{_safe(out['model_version'])}-{_safe(splits_version)}-{len(test)}.json"
    records = read_json(cache)
    if records is None:
        weights = adapter_snapshot(layout, out["model_version"])
        if not (weights / "adapter_config.json").exists():
            return {**out, "headline": None, "comparable": False,
                    "how": (f"was scored on splits {prev.get('splits_version')} ({prev.get('n_test_samples')} test "
                            f"samples) and its weights were not kept, so it cannot be scored on splits {splits_version}")}
        records = answer(weights, f"previous adapter {out['model_version']}")
        write_json(cache, records)
    return {**out, "headline": headline(score(records)), "comparable": True,
            "how": f"re-scored on the test split of splits {splits_version}"}


def evaluate_adapter(layout, adapter_dir: Path | str | None = None, threshold: float = 0.5, compare_base: bool = True,
                     device: str | None = None, max_new_tokens: int | None = None, max_samples: int | None = None,
                     log: Callable[[str], None] = print, splits: Sequence[str] = SPLITS) -> tuple[dict, list[dict]]:
    """Answer the latest val and test splits with the adapter, the base model without adapter (cached per
    splits version) and the trivial baselines; score the previous adapter on this test split; return
    ``(report, adapter test answers)``. The gate is filled in by the caller."""
    from football_assets.core.dataset.store import load_latest
    from football_assets.core.evaluation import baselines
    from football_assets.core.fsutil import read_json
    from football_assets.core.inference.analyze import load_predictor
    from football_assets.core.inference.predictor import EventPredictor

    latest = load_latest(layout)
    wanted = [name for name in SPLITS if name in splits]
    full = {name: list(latest.get(name) or []) for name in wanted}
    # free-text grounding questions from the split's own descriptions (after its samples; max_samples caps all)
    samples = {name: (rows + free_text_samples(rows))[: max_samples or None] for name, rows in full.items()}
    trained_free_text = any(s["task"] == prompts.FREE_TEXT_TASK for s in latest.get("train") or [])
    test = samples.get("test") or []
    if not test:
        raise ValueError(f"test split of splits version {latest.version} is empty: nothing to evaluate")
    adapter_dir = Path(adapter_dir or Path(layout.models_dir) / "lora_adapter")
    priors = baselines.fit_priors(latest["train"])
    score = _scorer(threshold, [x for rows in samples.values() for x in rows], priors)

    def progress(label, n):
        step = max(1, n // 10)
        return lambda i, k: log(f"{label}: {i}/{k} samples answered") if i % step == 0 or i == k else None

    predictor, version, base = load_predictor(adapter_dir, None, device)
    records = {name: run_predictor(predictor, rows, max_new_tokens, progress(f"adapter {version} on {name}", len(rows)))
               for name, rows in samples.items() if rows}
    del predictor
    # calibration: fitted on val only, stored with the adapter (EventPredictor applies it), applied to test
    if records.get("val"):
        cal = fit_calibration(records["val"], threshold, version)
        calibration.save(adapter_dir, cal)
        log(f"calibration fitted on val ({cal.n_events} events, {cal.n_true_positive} true positives): "
            f"T {cal.temperature:.3f}, bias {cal.bias:.3f}")
    else:
        cal = calibration.load(adapter_dir)  # no val answered here: the adapter's own, if any
    for rows in records.values():
        attach_confidences(rows, cal)
    scores = {name: score(r, cal) for name, r in records.items()}
    table: dict[str, dict[str, dict]] = {name: {} for name in samples}
    info = {"model_version": version, "base_model": base, "splits_version": latest.version,
            "adapter_dir": str(adapter_dir), "n_test_samples": len(test), "threshold": threshold,
            "n_samples": {name: len(rows) for name, rows in samples.items()}, "free_text_trained": trained_free_text,
            "calibration": dataclasses.asdict(cal) if cal else None}

    base_scores = None
    if compare_base:
        bundled = adapter_dir / "base"  # tiny: the demo-pretrained base this very adapter was trained on
        base_id = f"{_safe(base)}-bundled-{_safe(version)}" if bundled.is_dir() else _safe(base)
        info["base_note"] = (f"Base model: the {base} base the adapter was trained on (with its demo vision "
                             "pretraining), without the LoRA adapter." if bundled.is_dir() else
                             f"Base model: {base} without the LoRA adapter.")
        base_predictor = None
        for name, rows in samples.items():
            if not rows:
                continue
            cache = reports_root(layout) / "base" / f"{base_id}-{_safe(latest.version)}-{name}-{len(rows)}-scored.json"
            base_records = read_json(cache)
            if base_records is None:
                if base_predictor is None:
                    base_predictor = EventPredictor(base, None, device=device,
                                                    base_path=str(bundled) if bundled.is_dir() else None)
                base_records = run_predictor(base_predictor, rows, max_new_tokens, progress(f"base {base} on {name}", len(rows)))
                write_json(cache, base_records)
            table[name][base_label(info)] = headline(score(base_records))
            if name == "test":
                base_scores = score(base_records)
        del base_predictor

    for name, rows in samples.items():
        for b in baselines.BASELINES:
            table[name][b] = headline(score(baselines.baseline_records(b, priors, rows)))
    info["baselines_note"] = ("Baselines (fitted on train, no video): all classes and the most frequent class, at the "
                              f"train mean position ({priors.mean_start:.1f} s) and duration ({priors.mean_duration:.1f} s); "
                              "random intervals drawn from the train class, count and duration frequencies (seeded). "
                              "Their descriptions are the template prior.")

    def answer(weights: Path, label: str) -> list[dict]:
        prev_predictor, _, _ = load_predictor(weights, None, device)
        return run_predictor(prev_predictor, test, max_new_tokens, progress(label, len(test)))

    previous = previous_on_test(layout, version, latest.version, test, threshold, score, answer)
    rep = build_report(scores["test"], info, previous, base_scores, table, scores.get("val"))
    return rep, records


def save_report(layout, rep: dict, records: dict[str, list[dict]]) -> dict[str, Path]:
    """Write the report under ``<data>/reports/evaluation/<model_version>/`` (+ the adapter's raw answers with
    their confidence scores: ``answers.jsonl`` for test, ``answers_val.jsonl`` for val, where choices such as
    the calibration are made; LATEST)."""
    out = reports_root(layout) / _safe(rep["model_version"])
    paths = write_report(rep, out)
    if rep.get("adapter_dir") and (Path(rep["adapter_dir"]) / "adapter_config.json").exists():
        paths["adapter"] = keep_adapter(layout, Path(rep["adapter_dir"]), rep["model_version"])
    for split, name in (("test", "answers"), ("val", "answers_val")):
        if split not in records:
            continue
        paths[name] = out / f"{name}.jsonl"
        with atomic_path(paths[name]) as tmp:
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[split]))
    with atomic_path(reports_root(layout) / "LATEST", suffix="") as tmp:
        tmp.write_text(out.name + "\n")
    return paths
