"""The evaluation assets and the inference command with the real tiny model and a really trained adapter."""

import json
import shutil
from pathlib import Path

from dagster import DagsterInstance, materialize

from football_assets import cli
from football_assets.core.annotation import ls_export, snapshots
from football_assets.core.demo import generator
from football_assets.core.evaluation import scoring, store
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.inference import analyze
from football_assets.core.ingest.video import probe
from football_assets.defs.evaluation.assets import evaluation_report, predictions
from resources import DataDirResource
from tests.fixtures_dataset import snapshot_frames
from tests.fixtures_evaluation import flash_video

FAST = {"max_new_tokens": 8}  # an untrained-ish tiny model never stops by itself: bound the answers


def _materialize(assets, layout, config, instance=None):
    return materialize(assets, instance=instance or DagsterInstance.ephemeral(), raise_on_error=False,
                       resources={"storage": DataDirResource(root=str(layout.root))},
                       run_config={"ops": {a.op.name: {"config": config} for a in assets}})


def _check(result, name="no_f1_regression"):
    evals = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return next(e for e in evals if e.check_name == name)


def test_evaluation_report_and_regression_gate(eval_layout):
    layout = eval_layout
    meta = read_json(layout.adapter_dir / "train_meta.json")
    cfg = {**FAST, "max_samples": 2}
    first = _materialize([evaluation_report], layout, cfg)
    assert first.success
    check = _check(first)
    assert check.passed and "no previous adapter" in check.description
    md = first.asset_materializations_for_node("evaluation_report")[0].metadata
    assert md["model_version"].value == meta["model_version"]
    out = layout.reports_dir / "evaluation" / meta["model_version"]
    saved = read_json(out / "report.json")
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert saved["metrics"]["valid_json"]["n"] == 2 and len(answers) == 2
    # the headline is what the saved answers score, and the metadata is that headline
    rescored = scoring.score_records(answers)
    assert saved["headline"]["micro_f1"] == rescored["detection"]["micro"]["f1"] == md["eval/micro_f1"].value
    assert saved["headline"]["valid_json_rate"] == rescored["valid_json"]["rate"] == md["eval/valid_json_rate"].value
    # val's answers are kept too (the calibration and other choices are made on them) and score as the val column
    val_answers = [json.loads(line) for line in (out / "answers_val.jsonl").read_text().splitlines()]
    assert val_answers and {a["id"] for a in val_answers}.isdisjoint({a["id"] for a in answers})
    assert saved["val_headline"]["micro_f1"] == scoring.score_records(val_answers)["detection"]["micro"]["f1"]
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG" and (out / "confidence_pr.png").exists()
    # the confidence figures sit beside the old ones; the calibration was fitted on val and kept with the adapter
    assert {"tight_a_mAP", "tight_a_mAP_conf", "conf_auroc", "ece_raw", "ece_calibrated"} <= set(saved["headline"])
    cal = read_json(layout.adapter_dir / "calibration.json")
    assert cal["model_version"] == meta["model_version"] and saved["calibration"] == cal
    # val and test side by side, for the adapter, the real base and the trivial baselines
    assert set(saved["splits"]) == {"val", "test"} and saved["n_samples"] == {"val": 2, "test": 2}
    for split in ("val", "test"):
        assert set(saved["splits"][split]) >= {"this adapter", "base model without adapter (tiny)", "all classes",
                                               "most frequent class", "random (train priors, seed 0)"}
    assert md["eval_val/valid_json_rate"].value == saved["val_headline"]["valid_json_rate"]
    text = (out / "report.md").read_text()
    assert "this adapter · val" in text and "all classes · test" in text and "demo vision pretraining" in text
    # the base is the demo-pretrained base bundled with this adapter, not a fresh random model
    cached = sorted(p.name for p in (layout.reports_dir / "evaluation" / "base").glob("*.json"))
    assert len(cached) == 2 and all(n.startswith(f"tiny-bundled-{meta['model_version']}") for n in cached)
    assert (out / "adapter" / "adapter_config.json").exists()  # kept for a later gate to re-score

    # a previous adapter scored on another splits version is re-scored on this test split (its kept weights)
    older = dict(saved, model_version="tiny-older", splits_version="sv-old", created_at="2000-01-01T00:00:00Z",
                 headline={**saved["headline"], "micro_f1": 1.0})
    write_json(layout.reports_dir / "evaluation" / "tiny-older" / "report.json", older)
    shutil.copytree(out / "adapter", store.adapter_snapshot(layout, "tiny-older"))
    again = _materialize([evaluation_report], layout, {**cfg, "f1_margin": 0.0})
    check = _check(again)
    assert again.success and check.passed, check.description
    assert "re-scored on the test split" in check.description and "change +0.0000" in check.description
    assert list((layout.reports_dir / "evaluation" / "previous").glob("tiny-older-*.json"))

    # a previous adapter that scored far better on the same split: the gate fails beyond the margin
    prev = dict(saved, model_version="tiny-previous", created_at="2001-01-01T00:00:00Z",
                headline={**saved["headline"], "micro_f1": saved["headline"]["micro_f1"] + 0.5})
    write_json(layout.reports_dir / "evaluation" / "tiny-previous" / "report.json", prev)
    failed = _materialize([evaluation_report], layout, {**cfg, "f1_margin": 0.1})
    assert not failed.success
    check = _check(failed)
    assert not check.passed and "beyond the allowed drop of 0.1000" in check.description
    assert "its own report on the same test split" in check.description
    assert "previous adapter (tiny-previous) · test" in (out / "report.md").read_text()
    assert read_json(out / "report.json")["gate"]["passed"] is False


def test_predictions_cover_unannotated_clips_only(eval_layout):
    layout = eval_layout
    plan = generator.plan_clips(8, 0)
    facts = {c["clip_id"]: c for c in json_facts(layout)}
    events, tasks = snapshot_frames(plan[:6], facts)
    snapshots.write_snapshot(layout, events, tasks)
    result = _materialize([predictions], layout, FAST)
    assert result.success
    latest = read_json(layout.predictions_file)
    assert set(latest) == {"model_version", "clips", "clip_scores"}
    assert sorted(latest["clips"]) == sorted(c.key for c in plan[6:])
    assert latest["model_version"] == read_json(layout.adapter_dir / "train_meta.json")["model_version"]
    md = result.asset_materializations_for_node("predictions")[0].metadata
    assert md["events"].value == sum(map(len, latest["clips"].values()))
    # each clip's list is what the adapter predicts for that very clip (the event schema: test_analyze)
    predictor, _, base = analyze.load_predictor(layout.adapter_dir)
    clip = facts[plan[7].key]
    answers: list[float] = []
    events = analyze.predict_windows(predictor, Path(clip["path"]), float(clip["duration_s"]),
                                     analyze.default_window_s(base), progress=False,
                                     max_new_tokens=FAST["max_new_tokens"], answer_confidences=answers)
    assert latest["clips"][clip["clip_id"]] == events
    # the clip's Label Studio score: its least certain event, or the model's probability of its answer
    assert answers and latest["clip_scores"][clip["clip_id"]] == ls_export.clip_score(events, answers)
    assert all(0 <= v <= 1 for v in latest["clip_scores"].values())


def json_facts(layout):
    return [json.loads(p.read_text()) for p in sorted(layout.clips_dir.glob("*.json"))]


def test_analyze_command_with_real_model(eval_layout, tmp_path, capsys):
    adapter = eval_layout.adapter_dir
    video = flash_video(tmp_path / "long.mp4", 7, (3, 4), size="400x300", rate="30")  # windows 0-4 s, 3-7 s
    out, overlay = tmp_path / "events.json", tmp_path / "overlay.mp4"
    rc = cli.main(["analyze", str(video), "--adapter", str(adapter), "--out", str(out), "--overlay", str(overlay),
                   "--window", "4", "--overlap", "1", "--max-new-tokens", "8"])
    assert rc == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    assert set(result) >= {"video", "model_version", "events"} and result["video"] == str(video.resolve())
    assert result["model_version"] == read_json(adapter / "train_meta.json")["model_version"]
    predictor, _, _ = analyze.load_predictor(adapter)
    direct = analyze.analyze_video(video, predictor, "v", window_s=4, overlap_s=1, progress=False, max_new_tokens=8)
    assert result["events"] == direct["events"]  # the command's events are the model's, windowed the same way
    assert abs(probe(overlay).duration - 7) < 0.2


def test_analyze_mismatched_adapter_is_a_clear_error(eval_layout, tmp_path, capsys):
    video = flash_video(tmp_path / "clip.mp4", 2, (0.5, 1))
    bad = tmp_path / "bad_adapter"
    shutil.copytree(eval_layout.adapter_dir, bad)
    cfg = json.loads((bad / "adapter_config.json").read_text())
    cfg["r"] = cfg["r"] * 2  # weights saved with another LoRA rank
    (bad / "adapter_config.json").write_text(json.dumps(cfg))
    assert cli.main(["analyze", str(video), "--adapter", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: adapter") and "cannot be loaded onto base model 'tiny'" in err, err
    assert store.reports_root(eval_layout).name == "evaluation"
