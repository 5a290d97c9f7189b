"""The ``evaluation_report`` asset's logic: answer the latest val and test splits with the adapter, the base
model without adapter (cached per splits version) and the trivial baselines; fit the calibration on val;
choose the cascade's bar for VLM-only events on val; score the spotter and the cascade on the same test clips;
score the previous adapter on this test split."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Sequence

from football_assets.core import prompts
from football_assets.core.evaluation import cascade_report
from football_assets.core.evaluation.answers import free_text_samples, run_predictor
from football_assets.core.evaluation.gate import previous_on_test
from football_assets.core.evaluation.report import SPLITS, base_label, build_report
from football_assets.core.evaluation.scoring import attach_confidences, fit_calibration, headline, scorer
from football_assets.core.evaluation.store import reports_root, safe_name
from football_assets.core.fsutil import write_json
from football_assets.core.inference import calibration
from football_assets.core.spotter.cascade import FusionRule, save_rule
from football_assets.core.training.model import get_spec


def evaluate_adapter(layout, adapter_dir: Path | str | None = None, threshold: float = 0.5, compare_base: bool | None = None,
                     device: str | None = None, max_new_tokens: int | None = None, max_samples: int | None = None,
                     log: Callable[[str], None] = print, splits: Sequence[str] = SPLITS) -> tuple[dict, list[dict]]:
    """Answer the latest val and test splits with the adapter, the base model without adapter (cached per
    splits version) and the trivial baselines; score the previous adapter on this test split; return
    ``(report, adapter test answers)``. The gate is filled in by the caller.

    ``compare_base`` None: the base is answered when it is a real pretrained model (what fine-tuning adds over
    zero-shot), not for the tiny demo base, whose language model starts from random weights and answers nothing
    (0 on every figure, every seed measured): that row cost the demo's evaluation ~40 % of its time."""
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
    score = scorer(threshold, [x for rows in samples.values() for x in rows], priors)

    def progress(label, n):
        step = max(1, n // 50)
        return lambda i, k: log(f"{label}: {i}/{k} samples answered") if i % step == 0 or i == k else None

    predictor, version, base = load_predictor(adapter_dir, None, device)
    records = {name: run_predictor(predictor, rows, max_new_tokens, progress(f"adapter {version} on {name}", len(rows)),
                                   predictor.processor.tokenizer)
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
    # the spotter alone and the cascade on the same test clips (no spotter of these splits: the section says why)
    # (the bar for events only the VLM finds is chosen on val, and stored beside the adapter like the calibration)
    info_stages = cascade_report.compare(test, records.get("test", []), layout.spotter_dir,
                                         reports_root(layout) / safe_name(version), latest.version, threshold,
                                         val_samples=samples.get("val") or [], val_records=records.get("val", []),
                                         model_version=version)
    fusion = info_stages.get("fusion") or {}
    if fusion.get("n_val_clips"):
        save_rule(adapter_dir, FusionRule(**fusion))
        log(f"cascade fusion chosen on val ({fusion['n_val_clips']} clips): VLM-only events kept at confidence >= "
            f"{fusion['vlm_only_min_confidence']:.2f}")
    scores = {name: score(r, cal) for name, r in records.items()}
    table: dict[str, dict[str, dict]] = {name: {} for name in samples}
    info = {"model_version": version, "base_model": base, "splits_version": latest.version,
            "adapter_dir": str(adapter_dir), "n_test_samples": len(test), "threshold": threshold,
            "n_samples": {name: len(rows) for name, rows in samples.items()}, "free_text_trained": trained_free_text,
            "calibration": dataclasses.asdict(cal) if cal else None, "stages": info_stages}

    base_scores = None
    tiny_base = get_spec(base).tiny is not None
    if compare_base is None:
        compare_base = not tiny_base
    if not compare_base:
        why = (f"the {base} base's language model starts from random weights; set compare_base to answer it"
               if tiny_base else "compare_base off")
        info["base_note"] = f"Base model without adapter: not answered ({why})."
    if compare_base:
        bundled = adapter_dir / "base"  # tiny: the demo-pretrained base this very adapter was trained on
        base_id = f"{safe_name(base)}-bundled-{safe_name(version)}" if bundled.is_dir() else safe_name(base)
        info["base_note"] = (f"Base model: the {base} base the adapter was trained on (with its demo vision "
                             "pretraining), without the LoRA adapter." if bundled.is_dir() else
                             f"Base model: {base} without the LoRA adapter.")
        base_predictor = None
        for name, rows in samples.items():
            if not rows:
                continue
            cache = reports_root(layout) / "base" / f"{base_id}-{safe_name(latest.version)}-{name}-{len(rows)}-scored.json"
            base_records = read_json(cache)
            if base_records is None:
                if base_predictor is None:
                    base_predictor = EventPredictor(base, None, device=device,
                                                    base_path=str(bundled) if bundled.is_dir() else None)
                base_records = run_predictor(base_predictor, rows, max_new_tokens, progress(f"base {base} on {name}", len(rows)),
                                             base_predictor.processor.tokenizer)
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
        return run_predictor(prev_predictor, test, max_new_tokens, progress(label, len(test)), prev_predictor.processor.tokenizer)

    previous = previous_on_test(layout, version, latest.version, test, threshold, score, answer)
    rep = build_report(scores["test"], info, previous, base_scores, table, scores.get("val"))
    return rep, records
