"""The evaluation report's spotter section: VLM-only, spotter and cascade side by side on the test split.

- VLM only: the adapter's answers to the test clips (the report's own records, no second VLM run);
  every confidence is the model's (its calibrated event confidence; 1.0 only for answers recorded without one).
- spotter: its intervals above the val-chosen threshold for P/R/F1 and mean tIoU, its spots (every peak
  with its score) for SoccerNet average-mAP.
- cascade: what ``football-events analyze --mode cascade`` does on a test clip: the clip (one VLM window)
  reaches the VLM only when the spotter proposes a spot in it, and the answers fuse by the rule of
  ``core/spotter/cascade.py``, with its bar for VLM-only events chosen here on the val clips.

Plus per-class precision-recall curves (confidence swept, tIoU 0.5) and a timeline picture per clip for
a few test clips (truth, spotter scores, VLM events). No spotter, or one trained on another splits version:
the section says so instead.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from football_assets.core import metrics, prompts
from football_assets.core.events import EVENT_CLASSES

COLUMNS = ("VLM only", "spotter", "cascade")
PR_GRID = tuple(float(x) for x in np.round(np.linspace(0.0, 1.0, 21), 2))


def _vlm_events(records: Sequence[dict]) -> dict[str, list[dict]]:
    """``{sample id: parsed events}`` of the report's ``events`` answers (unparseable: no events)."""
    out = {}
    for r in records:
        if r["task"] != "events":
            continue
        try:
            events = prompts.parse_events(r["raw"])
            confs = r.get("confidences") or []  # the adapter's calibrated event confidences (report.attach_confidences)
            out[r["id"]] = [{**e, "confidence": float(confs[i]) if len(confs) == len(events) else 1.0}
                            for i, e in enumerate(events)]
        except prompts.AnswerParseError:
            out[r["id"]] = []
    return out


def _scores(clips: dict[str, tuple[list, list]], spots: dict[str, list] | None, iou: float) -> dict:
    """Headline numbers of one column; a-mAP on ``spots`` when given (real per-peak confidences)."""
    pairs = list(clips.values())
    det = metrics.detection_scores(pairs, iou)
    gts = {k: v[0] for k, v in clips.items()}
    preds = spots if spots is not None else {k: v[1] for k, v in clips.items()}
    labelled = metrics.labelled_events(clips, iou)
    return {"precision": det["micro"]["precision"], "recall": det["micro"]["recall"], "f1": det["micro"]["f1"],
            "mean_tiou": det["mean_tiou"], "n_predicted": sum(len(p) for _, p in pairs),
            "tight_a_mAP": metrics.soccernet_average_map(gts, preds, metrics.TIGHT_TOLERANCES)["a_mAP"],
            "loose_a_mAP": metrics.soccernet_average_map(gts, preds, metrics.LOOSE_TOLERANCES)["a_mAP"],
            "conf_auroc": metrics.auroc([e["confidence"] for e, _ in labelled], [ok for _, ok in labelled])}


def pr_curves(clips: dict[str, tuple[list, list]], iou: float = 0.5) -> dict[str, dict[str, list[float]]]:
    """Per class: precision and recall of the predictions with confidence >= each of ``PR_GRID``."""
    out = {}
    for c in EVENT_CLASSES:
        prec, rec = [], []
        for th in PR_GRID:
            pairs = [(g, [e for e in p if e["confidence"] >= th]) for g, p in clips.values()]
            pc = metrics.detection_scores(pairs, iou)["per_class"][c]
            prec.append(pc["precision"])
            rec.append(pc["recall"])
        out[c] = {"threshold": list(PR_GRID), "precision": prec, "recall": rec}
    return out


def plot_pr(curves: dict[str, dict], vlm_points: dict[str, dict], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from football_assets.core.fsutil import atomic_path

    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), sharex=True, sharey=True)
    for ax, c in zip(axes.flat, EVENT_CLASSES):
        for name, style in (("spotter", "-"), ("cascade", "--")):
            ax.plot(curves[name][c]["recall"], curves[name][c]["precision"], style, marker=".", label=name)
        ax.plot([vlm_points[c]["recall"]], [vlm_points[c]["precision"]], "k*", markersize=10, label="VLM only")
        ax.set_title(c, fontsize=10)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    for ax in axes[1]:
        ax.set_xlabel("recall")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Per-class precision-recall at tIoU 0.5 (confidence swept)")
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def plot_timeline(clip_id: str, truth: list, spot: np.ndarray, fps: float, vlm: list, cascade: list, dest: Path) -> None:
    """Truth, the VLM's and the cascade's events as bars, the spotter's per-class scores as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from football_assets.core.fsutil import atomic_path

    colours = {c: plt.cm.tab10(i) for i, c in enumerate(EVENT_CLASSES)}
    fig, (bars, lines) = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True, gridspec_kw={"height_ratios": [1, 1.4]})
    for row, (name, events) in enumerate((("truth", truth), ("VLM", vlm), ("cascade", cascade))):
        for e in events:
            bars.broken_barh([(e["start_time"], e["end_time"] - e["start_time"])], (2 - row - 0.4, 0.8),
                             color=colours.get(e["event"], "grey"))
            bars.text(e["start_time"], 2 - row, e["event"], fontsize=7, va="center")
    bars.set_yticks([2, 1, 0], ["truth", "VLM", "cascade"])
    t = (np.arange(len(spot)) + 0.5) / fps
    for i, c in enumerate(EVENT_CLASSES):
        if spot[:, i].max() >= 0.1 or any(e["event"] == c for e in truth):
            lines.plot(t, spot[:, i], color=colours[c], label=c)
    lines.set_ylim(0, 1.02)
    lines.set_ylabel("spotter score")
    lines.set_xlabel("seconds")
    if lines.get_legend_handles_labels()[0]:
        lines.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"test clip {clip_id}", fontsize=10)
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _run_clips(spotter, samples: Sequence[dict], answers: dict[str, list[dict]], threshold: float) -> list[dict]:
    """Per events sample: truth, the VLM's answer, the spotter's scores, spots, intervals (at its thresholds and
    at 0, for the curves) and whether the cascade sends the clip to the VLM."""
    from football_assets.core.spotter import decode
    from football_assets.core.spotter.cascade import proposal_windows

    fps, out = spotter.cfg.fps, []
    for s in samples:
        spot, member = spotter.score_video(s["video"])
        duration = float(s.get("duration") or len(spot) / fps)
        found = spotter.detect(spot, member, duration)
        out.append({"sample": s, "truth": list(s["target"]), "vlm": answers.get(s["id"], []), "spot": spot,
                    "spots": found["spots"], "intervals": found["intervals"],
                    "loose": decode.intervals(member, fps, spot, spotter.cfg.classes, threshold=0.0, duration=duration),
                    "sent": bool(proposal_windows(found["spots"], duration, threshold))})
    return out


def compare(test_samples: Sequence[dict], records: Sequence[dict], spotter_dir: str | Path, out_dir: str | Path,
            splits_version: str, iou: float = 0.5, timelines: int = 4, proposal_threshold: float | None = None,
            val_samples: Sequence[dict] = (), val_records: Sequence[dict] = (), model_version: str = "") -> dict:
    """The section (a dict) and its pictures under ``out_dir``: ``pr_curves.png``, ``timeline_<clip>.png``.

    With val answers, the bar for VLM-only events is chosen on the val clips first (``choose_vlm_only_bar``)
    and the section's ``fusion`` is the rule to store beside the adapter; without, every one is kept."""
    from football_assets.core.spotter.cascade import FusionRule, choose_vlm_only_bar, fuse
    from football_assets.core.spotter.infer import Spotter, SpotterLoadError

    try:
        spotter = Spotter.load(spotter_dir)
    except SpotterLoadError as exc:
        return {"available": False, "reason": str(exc)}
    if spotter.splits_version != splits_version:
        return {"available": False, "reason": f"spotter {spotter_dir} was trained on splits {spotter.splits_version!r}, "
                                               f"this report is on {splits_version!r}: materialize event_spotter"}
    out_dir = Path(out_dir)
    threshold = spotter.proposal_threshold if proposal_threshold is None else proposal_threshold
    samples = [s for s in test_samples if s["task"] == "events"]
    if not samples:
        return {"available": False, "reason": "the test split has no events samples"}
    spotter_version = spotter.meta.get("model_version", "")
    rule = FusionRule(model_version=model_version, spotter_version=spotter_version)
    val = _run_clips(spotter, [s for s in val_samples if s["task"] == "events"], _vlm_events(val_records), threshold)
    if val and val_records:
        bar, f1 = choose_vlm_only_bar([(c["truth"], c["intervals"], c["vlm"] if c["sent"] else []) for c in val], iou)
        rule = FusionRule(bar, model_version, spotter_version, f1[bar], f1[0.0], len(val))
    cols = {c: {} for c in COLUMNS}
    all_intervals, cascade_all, spots, kept = {}, {}, {}, []
    runs = _run_clips(spotter, samples, _vlm_events(records), threshold)
    for c in runs:
        sid, truth, sent_vlm = c["sample"]["id"], c["truth"], c["vlm"] if c["sent"] else []
        cols["VLM only"][sid] = (truth, c["vlm"])
        cols["spotter"][sid] = (truth, c["intervals"])
        cols["cascade"][sid] = (truth, fuse(c["intervals"], sent_vlm, vlm_only_min_confidence=rule.vlm_only_min_confidence))
        all_intervals[sid] = (truth, c["loose"])
        cascade_all[sid] = (truth, fuse(c["loose"], sent_vlm, vlm_only_min_confidence=rule.vlm_only_min_confidence))
        spots[sid] = c["spots"]
        if len(kept) < timelines:
            kept.append((c["sample"], c["spot"], c["vlm"], cols["cascade"][sid][1]))
    table = {"VLM only": _scores(cols["VLM only"], None, iou), "spotter": _scores(cols["spotter"], spots, iou),
             "cascade": _scores(cols["cascade"], None, iou)}
    curves = {"spotter": pr_curves(all_intervals, iou), "cascade": pr_curves(cascade_all, iou)}
    vlm_det = metrics.detection_scores(list(cols["VLM only"].values()), iou)["per_class"]
    out_dir.mkdir(parents=True, exist_ok=True)
    pr_png = out_dir / "pr_curves.png"
    plot_pr(curves, {c: vlm_det[c] for c in EVENT_CLASSES}, pr_png)
    pictures = []
    for s, spot, vlm, casc in kept:
        dest = out_dir / f"timeline_{s['clip_id']}.png"
        plot_timeline(s["clip_id"], list(s["target"]), spot, spotter.cfg.fps, vlm, casc, dest)
        pictures.append(str(dest))
    return {"available": True, "spotter_version": spotter_version, "splits_version": splits_version,
            "iou_threshold": iou, "n_clips": len(samples), "proposal_threshold": threshold,
            "clips_sent_to_vlm": sum(c["sent"] for c in runs), "fusion": dataclasses.asdict(rule), "columns": table,
            "pr_curves": curves, "pr_png": str(pr_png), "timeline_pngs": pictures}


def fusion_line(rule: dict) -> str:
    """One sentence: the bar for VLM-only events and what val said about it."""
    if not rule.get("n_val_clips"):
        return "Events only the VLM found are all kept (no val answers to choose a bar on)."
    return (f"Events only the VLM found are kept at confidence >= {rule['vlm_only_min_confidence']:.2f}, the bar "
            f"chosen on {rule['n_val_clips']} val clips: cascade event F1 {rule['val_f1']:.3f} there, "
            f"{rule['val_f1_keep_all']:.3f} keeping them all.")


def to_markdown(section: dict) -> str:
    """The section as Markdown (a table, then the pictures by file name)."""
    if not section.get("available"):
        return f"## VLM only vs spotter vs cascade\n\nNot shown: {section.get('reason', 'no spotter')}.\n"
    keys = ("precision", "recall", "f1", "mean_tiou", "tight_a_mAP", "loose_a_mAP", "conf_auroc", "n_predicted")

    def fmt(v):
        return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    lines = ["## VLM only vs spotter vs cascade", "",
             f"{section['n_clips']} test clips, event matching at tIoU {section['iou_threshold']}; spotter "
             f"{section['spotter_version']}; the cascade sent {section['clips_sent_to_vlm']} of them to the VLM "
             f"(spot confidence >= {section['proposal_threshold']:.2f}). a-mAP: VLM only with its own confidences "
             "(1.0 when it gives none), spotter on every peak with its score, cascade on the fused events. "
             "conf_auroc: how well each column's confidences separate its true from its false positives "
             "(0.5: not at all).", "", fusion_line(section.get("fusion") or {}), "",
             "| metric | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(fmt(section["columns"][c][k]) for c in COLUMNS) + " |")
    lines += ["", f"![per-class precision-recall]({Path(section['pr_png']).name})", ""]
    lines += [f"![timeline]({Path(p).name})" for p in section["timeline_pngs"]]
    return "\n".join(lines) + "\n"
