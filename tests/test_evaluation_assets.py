"""The evaluation assets and the inference command with the real tiny model and a really trained adapter."""

import json
import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from football_assets import cli
from football_assets.core.annotation import ls_export, snapshots
from football_assets.core.demo import generator
from football_assets.core.evaluation import scoring, store
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.inference import analyze, cascade_run, preannotate
from football_assets.core.ingest.video import probe
from football_assets.core.layout import DataLayout
from football_assets.defs.evaluation.assets import evaluation_report, predictions
from resources import DataDirResource
from tests.fixtures_dataset import snapshot_frames
from tests.fixtures_evaluation import flash_video
from tests.fixtures_training import CUE

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
    cfg = {**FAST, "max_samples": 2, "compare_base": True}  # the tiny default skips the base row; asked for here
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
    again = _materialize([evaluation_report], layout, {**FAST, "max_samples": 2, "f1_margin": 0.0})
    check = _check(again)
    assert again.success and check.passed, check.description
    # by default the tiny base (random language-model weights) is not answered, and the report says so
    resaved = read_json(out / "report.json")
    assert "base model without adapter (tiny)" not in resaved["splits"]["test"]
    assert "not answered" in resaved["base_note"] and "not answered" in (out / "report.md").read_text()
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


def _annotate_first(layout, n: int, last: bool = False):
    """An annotation snapshot of the first (``last``: the last) ``n`` of the 8 demo clips; the rest are left
    to predict."""
    plan = generator.plan_clips(8, 0, cue=CUE)
    facts = {c["clip_id"]: c for c in json_facts(layout)}
    events, tasks = snapshot_frames(plan[-n:] if last else plan[:n], facts)
    snapshots.write_snapshot(layout, events, tasks)
    return plan, facts


def _spotter_of_other_splits(src_root, layout) -> Path:
    """The cascade fixture's spotter copied into ``layout``, relabelled as trained on other splits."""
    shutil.copytree(DataLayout(src_root).spotter_dir, layout.spotter_dir)
    meta = read_json(layout.spotter_dir / "train_meta.json")
    write_json(layout.spotter_dir / "train_meta.json", {**meta, "splits_version": "other-splits"})
    return layout.spotter_dir


def test_predictions_cover_unannotated_clips_only(eval_layout, cascade_root):
    layout = eval_layout
    plan, facts = _annotate_first(layout, 6)
    _spotter_of_other_splits(cascade_root, layout)  # a spotter, but not of the adapter's splits: the VLM alone
    result = _materialize([predictions], layout, FAST)
    assert result.success
    latest = read_json(layout.predictions_file)
    assert set(latest) == {"model_version", "mode", "adapter_version", "spotter_version", "note", "clips", "clip_scores"}
    assert latest["mode"] == "vlm" and latest["spotter_version"] is None
    assert "'other-splits'" in latest["note"] and "retrain one on the same splits" in latest["note"]
    assert sorted(latest["clips"]) == sorted(c.key for c in plan[6:])
    assert latest["model_version"] == latest["adapter_version"] == \
        read_json(layout.adapter_dir / "train_meta.json")["model_version"]
    md = result.asset_materializations_for_node("predictions")[0].metadata
    assert md["events"].value == sum(map(len, latest["clips"].values()))
    assert md["mode"].value == "vlm" and md["note"].value == latest["note"]
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


def test_choose_mode_names_why_not_the_cascade(cascade_root, tmp_path):
    layout = DataLayout(cascade_root)
    assert preannotate.choose_mode(layout.spotter_dir, layout.adapter_dir) == ("cascade", "")
    mode, note = preannotate.choose_mode(tmp_path / "no-spotter", layout.adapter_dir)
    assert mode == "vlm" and f"no event spotter at {tmp_path / 'no-spotter'}" in note


CASCADE = {**FAST, "proposal_threshold": 0.05}  # the small spotter is unsure: send its weak spots to the VLM too


def test_predictions_from_the_cascade_with_a_spotter_of_the_same_splits(confident_cascade_root, tmp_path):
    layout = DataLayout(tmp_path / "data")
    shutil.copytree(confident_cascade_root, layout.root)
    # the spotter's own training clips (match 0) are left to predict: it fires on the classes it was trained on
    plan, facts = _annotate_first(layout, 4, last=True)
    result = _materialize([predictions], layout, CASCADE)
    assert result.success
    latest = read_json(layout.predictions_file)
    spotter = cascade_run.load_spotter(layout.spotter_dir)
    adapter_version = read_json(layout.adapter_dir / "train_meta.json")["model_version"]
    assert (latest["mode"], latest["note"]) == ("cascade", "")
    assert (latest["adapter_version"], latest["spotter_version"]) == (adapter_version, spotter.meta["model_version"])
    assert latest["model_version"] == f"{adapter_version}+{spotter.meta['model_version']}"  # a new spotter: new LS version
    md = result.asset_materializations_for_node("predictions")[0].metadata
    assert md["mode"].value == "cascade" and md["spotter_version"].value == spotter.meta["model_version"]
    assert sorted(latest["clips"]) == sorted(c.key for c in plan[:4])
    predictor, _, base = analyze.load_predictor(layout.adapter_dir)
    spotter_timed = 0
    for clip_id, events in latest["clips"].items():
        path, duration = Path(facts[clip_id]["path"]), float(facts[clip_id]["duration_s"])
        # times and confidences are the spotter's intervals on this clip (halved where the VLM did not confirm)
        spot, member, _ = cascade_run.scan(spotter, path, progress=False)
        intervals = spotter.detect(spot, member, duration)["intervals"]
        timed = [e for e in events if e["sources"]["start_time"] == "spotter"]
        assert [(e["event"], e["start_time"], e["end_time"]) for e in timed] == \
               [(i["event"], i["start_time"], i["end_time"]) for i in intervals]
        for e, i in zip(timed, intervals):
            factor = 1.0 if e["sources"]["event"] == "both" else 0.5
            assert e["confidence"] == pytest.approx(i["confidence"] * factor, abs=1e-4)
        spotter_timed += len(timed)
        # descriptions come from the VLM on the spotter's proposal windows: the same cascade run outside Dagster
        direct = cascade_run.cascade_clip(path, duration, spotter, predictor, analyze.default_window_s(base),
                                          CASCADE["proposal_threshold"], progress=False,
                                          max_new_tokens=FAST["max_new_tokens"])
        assert events == direct["events"]
        assert all(e["sources"]["description"] == "vlm" for e in events if e["description"])
        # the task score: the least certain event, or for a clip without events the spotter's certainty of none
        want = min(e["confidence"] for e in events) if events else direct["no_event_confidence"]
        assert latest["clip_scores"][clip_id] == want and 0 <= want <= 1
    assert spotter_timed, "the spotter timed no event on any clip: nothing checked"


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
