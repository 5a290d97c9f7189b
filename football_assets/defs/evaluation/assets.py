"""Evaluation group: the adapter's report on the test split (with the regression gate) and its
predictions on clips nobody has annotated yet (Label Studio pre-annotations). Thin wiring around
``core/evaluation`` and ``core/inference``."""

import hashlib
import json
from typing import Optional

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from football_assets.core.evaluation import cascade_report, evaluate, gate, render, scoring, store
from football_assets.core.fsutil import write_json
from football_assets.core.inference import analyze
from football_assets.core.ingest import catalog
from football_assets.core.layout import DataLayout
from resources import DataDirResource

ADAPTER = AssetKey("lora_adapter")
SPLITS = AssetKey("sft_splits")


class EvaluationConfig(Config):
    iou_threshold: float = 0.5  # tIoU at which a predicted event matches a true one
    f1_margin: float = 0.05  # the regression gate fails when micro F1 drops more than this
    # also answer val and test with the base model without adapter (cached per splits version); None: for a real
    # pretrained base, not for the tiny demo base (random language model weights: it answers nothing)
    compare_base: Optional[bool] = None
    device: str = "auto"  # auto: cuda (bf16) where a GPU is visible, else cpu (fp32)
    max_new_tokens: int = 0  # 0: the predictor's default
    max_samples: int = 0  # 0: the whole test split


def _num(v):
    return float(v) if v is not None else float("nan")


@asset(
    group_name="evaluation",
    kinds={"pytorch"},
    deps=[ADAPTER, SPLITS, AssetKey("event_spotter")],
    code_version="2",
    # A new adapter, however it was made (schedule, sensor, a click in the UI), always gets its report.
    automation_condition=AutomationCondition.eager(),
    description="The adapter on the val and test splits (greedy, the training prompt): event P/R/F1 at tIoU, mean "
                "tIoU, SoccerNet tight/loose average-mAP, ROUGE-L/BLEU (with a template prior), valid-JSON rate, "
                "grounding accuracy, confusion matrix, next to the previous adapter on the same test split, the base "
                "model and the trivial baselines. <data>/reports/evaluation/<version>/.",
    check_specs=[AssetCheckSpec("no_f1_regression", asset="evaluation_report", blocking=True,
                                description="Micro event F1 has not dropped by more than the configured margin "
                                            "(EvaluationConfig.f1_margin) against the previous adapter scored on the "
                                            "same test split.")],
)
def evaluation_report(context: AssetExecutionContext, config: EvaluationConfig,
                      storage: DataDirResource) -> MaterializeResult:
    layout = DataLayout.at(storage.root)
    rep, records = evaluate.evaluate_adapter(layout, threshold=config.iou_threshold, compare_base=config.compare_base,
                                             device=config.device, max_new_tokens=config.max_new_tokens or None,
                                             max_samples=config.max_samples or None, log=context.log.info)
    previous = rep.get("previous")  # the previous adapter on this very test split (re-scored if need be)
    passed, why = gate.regression_gate(rep, previous, config.f1_margin)
    rep["gate"] = {"passed": passed, "description": why, "margin": config.f1_margin}
    paths = store.save_report(layout, rep, records)
    context.log.info(f"regression gate: {why}")
    h = rep["headline"]
    metadata = {f"eval/{k}": _num(h.get(k)) for k, _ in scoring.HEADLINE}
    metadata.update({f"eval_val/{k}": _num((rep.get("val_headline") or {}).get(k)) for k, _ in scoring.HEADLINE})
    stages = rep.get("stages") or {}
    metadata.update({
        "model_version": rep["model_version"], "splits_version": rep["splits_version"],
        "previous_model_version": rep["previous_model_version"] or "none",
        "invalid_json_answers": rep["metrics"]["valid_json"]["n"] - rep["metrics"]["valid_json"]["valid"],
        "report": MetadataValue.md(render.to_markdown(rep, png_name=str(paths["confusion"]))),
        "report_json": MetadataValue.path(str(paths["json"])), "report_html": MetadataValue.path(str(paths["html"])),
        "confusion_png": MetadataValue.path(str(paths["confusion"])),
        "spotter_comparison": MetadataValue.md(cascade_report.to_markdown(stages)),
        **{f"eval/{c.replace(' ', '_').lower()}_{k}": _num(v) for c, col in stages.get("columns", {}).items()
           for k, v in col.items() if k in ("f1", "tight_a_mAP", "conf_auroc")},
    })
    version = hashlib.sha256(json.dumps([rep["model_version"], rep["splits_version"], config.iou_threshold,
                                         h], sort_keys=True, default=str).encode()).hexdigest()[:16]
    return MaterializeResult(
        metadata=metadata, data_version=DataVersion(version),
        check_results=[AssetCheckResult(check_name="no_f1_regression", passed=passed, severity=AssetCheckSeverity.ERROR,
                                        description=why,
                                        metadata={"micro_f1": _num(h.get("micro_f1")), "margin": config.f1_margin,
                                                  "previous_micro_f1": _num(((previous or {}).get("headline") or {}).get("micro_f1")),
                                                  "previous_model_version": rep["previous_model_version"] or "none"})],
    )


class PredictionsConfig(Config):
    device: str = "auto"  # auto: cuda (bf16) where a GPU is visible, else cpu (fp32)
    overlap_s: float = analyze.DEFAULT_OVERLAP_S
    nms_iou: float = analyze.DEFAULT_NMS_IOU
    max_new_tokens: int = 0  # 0: the predictor's default
    proposal_threshold: float | None = None  # cascade: spot confidence that sends a window to the VLM (None: val-chosen)


def unannotated_clips(layout) -> list[dict]:
    """Facts of the 4 fps clips that no annotation snapshot covers (all clips before the first one)."""
    from football_assets.core.annotation.snapshots import load_latest

    try:
        done = set(load_latest(layout).tasks["clip_id"])
    except FileNotFoundError:
        done = set()
    return [c for c in catalog.list_clips(layout) if c["clip_id"] not in done]


@asset(
    group_name="evaluation",
    kinds={"pytorch"},
    deps=[ADAPTER, AssetKey("evaluation_report"), AssetKey("annotations"), AssetKey("event_spotter")],
    code_version="2",
    description="Events (with confidence) on every clip without annotations, and per clip its least certain "
                "event's confidence (no events: the confidence that nothing happens), written to "
                "<data>/predictions/latest.json for Label Studio pre-annotation. With an event spotter of the "
                "adapter's splits version, the cascade (times and confidences from the spotter, descriptions from "
                "the VLM); else the VLM alone. Runs only after the regression gate passed.",
)
def predictions(context: AssetExecutionContext, config: PredictionsConfig, storage: DataDirResource) -> MaterializeResult:
    from football_assets.core.inference import cascade_run, preannotate

    layout = DataLayout.at(storage.root)
    clips = unannotated_clips(layout)
    mode, note = preannotate.choose_mode(layout.spotter_dir, layout.adapter_dir)
    if note:
        context.log.warning(note)
    predictor, version, base = analyze.load_predictor(layout.adapter_dir, None, config.device)
    window = analyze.default_window_s(base, predictor.budget)
    spotter = cascade_run.load_spotter(layout.spotter_dir, config.device) if mode == "cascade" else None
    spotter_version = spotter.meta.get("model_version", "") if spotter is not None else None
    # Label Studio adds a prediction once per task and model version: a new spotter is a new version too
    label_version = f"{version}+{spotter_version}" if spotter is not None else version
    out, clip_scores = preannotate.predict_clips(clips, predictor, window, spotter, config.overlap_s, config.nms_iou,
                                                 config.max_new_tokens or None, config.proposal_threshold,
                                                 log=context.log.info)
    dest = layout.predictions_file
    write_json(dest, {"model_version": label_version, "mode": mode, "adapter_version": version,
                      "spotter_version": spotter_version, "note": note, "clips": out, "clip_scores": clip_scores})
    n_events = sum(map(len, out.values()))
    return MaterializeResult(
        metadata={"model_version": label_version, "mode": mode, "adapter_version": version,
                  "spotter_version": spotter_version or "none",
                  "note": note or "cascade: times and confidences from the spotter, descriptions from the VLM",
                  "clips": len(out), "events": n_events, "path": MetadataValue.path(str(dest))},
        data_version=DataVersion(hashlib.sha256(json.dumps([label_version, out], sort_keys=True).encode()).hexdigest()[:16]),
    )
