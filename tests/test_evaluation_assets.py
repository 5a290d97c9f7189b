"""The evaluation assets and the inference command with the real tiny model and a really trained adapter."""

import json
import shutil

from dagster import DagsterInstance, materialize

from football_assets import cli
from football_assets.defs.evaluation.assets import evaluation_report, predictions
from football_assets.core.annotation import snapshots
from football_assets.core.demo import generator
from football_assets.core.evaluation import report
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.ingest.video import probe
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
    assert 0.0 <= md["eval/micro_f1"].value <= 1.0 and 0.0 <= md["eval/valid_json_rate"].value <= 1.0
    out = layout.reports_dir / "evaluation" / meta["model_version"]
    saved = read_json(out / "report.json")
    assert saved["metrics"]["valid_json"]["n"] == 2 and len((out / "answers.jsonl").read_text().splitlines()) == 2
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert "base model without adapter (tiny)" in (out / "report.md").read_text()
    assert list((layout.reports_dir / "evaluation" / "base").glob("tiny-*.json"))  # base answers cached

    # a previous adapter that scored far better: the gate fails beyond the margin (within it: test_evaluation_report)
    prev = dict(saved, model_version="tiny-previous", created_at="2000-01-01T00:00:00Z",
                headline={**saved["headline"], "micro_f1": saved["headline"]["micro_f1"] + 0.5})
    write_json(layout.reports_dir / "evaluation" / "tiny-previous" / "report.json", prev)
    failed = _materialize([evaluation_report], layout, {**cfg, "f1_margin": 0.1})
    assert not failed.success
    check = _check(failed)
    assert not check.passed and "beyond the allowed drop of 0.1000" in check.description
    assert "previous adapter (tiny-previous)" in (out / "report.md").read_text()
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
    assert set(latest) == {"model_version", "clips"}
    assert sorted(latest["clips"]) == sorted(c.key for c in plan[6:])
    assert latest["model_version"] == read_json(layout.adapter_dir / "train_meta.json")["model_version"]
    for evs in latest["clips"].values():
        assert all(set(e) == {"event", "start_time", "end_time", "description", "confidence"} for e in evs)


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
    assert isinstance(result["events"], list)
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
    assert report.reports_root(eval_layout).name == "evaluation"
