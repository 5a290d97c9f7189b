"""The report's VLM-only / spotter / cascade comparison, with a really trained spotter on real demo clips."""

import json
import shutil

from dagster import DagsterInstance, materialize

from football_assets.core import prompts
from football_assets.core.dataset.store import load_latest
from football_assets.core.evaluation import cascade_report as spotter_report
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.layout import DataLayout
from football_assets.defs.evaluation.assets import evaluation_report
from resources import DataDirResource


def _test_samples(layout):
    splits = load_latest(layout)
    return splits.version, list(splits["test"])


def test_comparison_columns_curves_and_timelines(cascade_root, tmp_path):
    layout = DataLayout(cascade_root)
    version, test = _test_samples(layout)
    events = [s for s in test if s["task"] == "events"]
    # answers that are the truth itself (the training target's own text): VLM only must score 1.0
    records = [{"id": s["id"], "clip_id": s["clip_id"], "task": s["task"], "target": s["target"],
                "raw": prompts.format_target(s["task"], s["target"])} for s in test]
    section = spotter_report.compare(test, records, layout.spotter_dir, tmp_path / "out", version, timelines=1)
    assert section["available"] and section["n_clips"] == len(events) >= 2
    cols = section["columns"]
    assert set(cols) == {"VLM only", "spotter", "cascade"}
    assert cols["VLM only"]["f1"] == 1.0 and cols["VLM only"]["mean_tiou"] == 1.0
    for col in cols.values():
        assert set(col) == {"precision", "recall", "f1", "mean_tiou", "n_predicted", "tight_a_mAP", "loose_a_mAP",
                            "conf_auroc"}
        assert 0 <= col["f1"] <= 1 and 0 <= col["tight_a_mAP"] <= 1 and 0 <= col["loose_a_mAP"] <= 1
        assert col["conf_auroc"] is None or 0 <= col["conf_auroc"] <= 1
    assert cols["VLM only"]["conf_auroc"] is None  # every answer is right: no false positive to rank against
    # the cascade keeps every spotter interval, and adds the VLM's own events only on clips sent to it
    assert cols["cascade"]["n_predicted"] >= cols["spotter"]["n_predicted"]
    if section["clips_sent_to_vlm"] == 0:
        assert cols["cascade"]["n_predicted"] == cols["spotter"]["n_predicted"]
    curves = section["pr_curves"]
    assert set(curves) == {"spotter", "cascade"} and set(curves["spotter"]) == set(EVENT_CLASSES)
    goal = curves["spotter"]["Goal"]
    assert len(goal["precision"]) == len(goal["recall"]) == len(spotter_report.PR_GRID)
    assert all(a >= b for a, b in zip(goal["recall"], goal["recall"][1:])), "recall must fall as the threshold rises"
    for png in [section["pr_png"], *section["timeline_pngs"]]:
        assert open(png, "rb").read(4) == b"\x89PNG"
    assert len(section["timeline_pngs"]) == 1
    md = spotter_report.to_markdown(section)
    assert "| f1 | 1.000 |" in md and "pr_curves.png" in md
    assert section["fusion"]["n_val_clips"] == 0 and "all kept (no val answers" in md


def test_the_bar_for_vlm_only_events_is_chosen_on_val(cascade_root, tmp_path):
    from football_assets.core.spotter.cascade import fuse

    layout = DataLayout(cascade_root)
    splits = load_latest(layout)
    val = [s for s in splits["val"] if s["task"] == "events"]
    assert val
    # val answers: each clip's true events at confidence 0.9 plus an invented event of an absent class at 0.2
    records = []
    for s in val:
        absent = next(c for c in EVENT_CLASSES if c not in {e["event"] for e in s["target"]})
        events = [*s["target"], {"event": absent, "start_time": 0.0, "end_time": 1.0, "description": "Invented."}]
        raw = prompts.format_target("events", events)  # (in its own order: by start time)
        confidences = [0.2 if e["description"] == "Invented." else 0.9 for e in prompts.parse_events(raw)]
        records.append({"id": s["id"], "clip_id": s["clip_id"], "task": "events", "target": s["target"], "raw": raw,
                        "confidences": confidences})
    section = spotter_report.compare(splits["test"], [], layout.spotter_dir, tmp_path / "out", splits.version,
                                     timelines=0, proposal_threshold=0.0, val_samples=splits["val"], val_records=records,
                                     model_version="tiny-x")
    rule = section["fusion"]
    assert rule["n_val_clips"] == len(val) and rule["model_version"] == "tiny-x"
    assert rule["spotter_version"] == section["spotter_version"]
    assert rule["vlm_only_min_confidence"] == 0.25  # drops every invention (0.2), keeps every true event (0.9)
    assert rule["val_f1"] > rule["val_f1_keep_all"]
    assert "kept at confidence >= 0.25, the bar chosen on" in spotter_report.to_markdown(section)
    # the test column fuses at that bar: an invented VLM-only event below it never reaches the cascade
    assert fuse([], [{"event": "Goal", "start_time": 0, "end_time": 1, "confidence": 0.2}],
                vlm_only_min_confidence=rule["vlm_only_min_confidence"]) == []


def test_each_column_says_how_well_its_confidences_separate_true_from_false_positives():
    goal = {"event": "Goal", "start_time": 2.0, "end_time": 4.0}
    right, wrong = {**goal, "confidence": 0.3}, {**goal, "start_time": 6.0, "end_time": 7.0}
    clips = {"a": ([goal], [right, {**wrong, "confidence": 0.1}]), "b": ([goal], [{**right, "confidence": 0.9}])}
    assert spotter_report._scores(clips, None, 0.5)["conf_auroc"] == 1.0
    clips["c"] = ([], [{**wrong, "confidence": 0.6}])  # a false positive above one of the two true ones
    assert spotter_report._scores(clips, None, 0.5)["conf_auroc"] == 0.75


def test_section_says_why_when_there_is_no_usable_spotter(cascade_root, tmp_path):
    layout = DataLayout(cascade_root)
    version, test = _test_samples(layout)
    absent = spotter_report.compare(test, [], tmp_path / "none", tmp_path / "out", version)
    assert absent == {"available": False, "reason": f"no spotter at {tmp_path / 'none'} (materialize event_spotter first)"}
    assert "Not shown: no spotter at" in spotter_report.to_markdown(absent)
    other = spotter_report.compare(test, [], layout.spotter_dir, tmp_path / "out", "another-version")
    assert not other["available"] and "trained on splits 'test-v1', this report is on 'another-version'" in other["reason"]


def test_evaluation_report_asset_shows_the_comparison(cascade_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(cascade_root, root)
    layout = DataLayout(root)
    cfg = {"max_new_tokens": 8, "max_samples": 2, "compare_base": False}
    result = materialize([evaluation_report], instance=DagsterInstance.ephemeral(), raise_on_error=False,
                         resources={"storage": DataDirResource(root=str(root))},
                         run_config={"ops": {"evaluation_report": {"config": cfg}}})
    assert result.success
    md = result.asset_materializations_for_node("evaluation_report")[0].metadata
    assert "| metric | VLM only | spotter | cascade |" in md["spotter_comparison"].value
    assert 0 <= md["eval/cascade_f1"].value <= 1 and 0 <= md["eval/spotter_tight_a_mAP"].value <= 1
    assert "eval/cascade_conf_auroc" in md
    saved = json.loads(next((layout.reports_dir / "evaluation").rglob("spotter_comparison.json")).read_text())
    assert saved["available"] and saved["n_clips"] == 1  # the one events sample among the 2 answered
    # the val-chosen bar for VLM-only events is stored beside the adapter, for this adapter and spotter
    from football_assets.core.spotter.cascade import load_rule

    fusion = saved["fusion"]
    rule = load_rule(layout.models_dir / "lora_adapter", fusion["model_version"], saved["spotter_version"])
    n_val = sum(s["task"] == "events" for s in load_latest(layout)["val"][:2])  # the 2 val samples answered
    assert fusion["n_val_clips"] == n_val == 1
    assert rule is not None and rule.vlm_only_min_confidence == fusion["vlm_only_min_confidence"]
