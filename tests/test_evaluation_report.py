"""Report scoring and writing from answered samples (no model): robust parsing, files, gate."""

import json

import pytest

from football_assets.core import prompts

from football_assets.core.evaluation import report


def _sample(i, task, target, raw):
    return {"id": f"s{i}", "clip_id": f"c{i}", "task": task, "target": target, "raw": raw}


GOAL = {"event": "Goal", "start_time": 1.0, "end_time": 3.0, "description": "Red scores"}
FOUL = {"event": "Foul", "start_time": 4.0, "end_time": 5.0, "description": "Blue fouls red"}


def records(good=True):
    return [
        _sample(0, "events", [GOAL, FOUL], prompts.format_events([GOAL] if good else [])),
        _sample(1, "events", [FOUL], "Sure! The events are: [{\"event\": \"Foul\", oops"),  # invalid JSON
        _sample(2, "grounding", {"event": "Goal", "start_time": 1.0, "end_time": 3.0},
                prompts.format_grounding("Goal", (1.0, 3.0))),
        _sample(3, "grounding", {"event": "Corner", "occurs": False}, "```json\n{\"event\": \"Corner\", \"occurs\": false}\n```"),
    ]


def test_score_records_counts_invalid_answers_without_crashing():
    m = report.score_records(records())
    assert m["valid_json"]["n"] == 4 and m["valid_json"]["valid"] == 3
    assert m["valid_json"]["rate"] == pytest.approx(0.75)
    assert m["valid_json"]["invalid_examples"][0]["id"] == "s1"
    det = m["detection"]["micro"]
    assert (det["tp"], det["fp"], det["fn"]) == (1, 0, 2)  # the invalid answer counts as no prediction
    assert m["grounding"]["accuracy"] == 1.0
    assert m["descriptions"]["rougeL"] == pytest.approx(1.0)


def test_write_report_side_by_side_and_gate(tmp_path):
    current = report.score_records(records())
    base = report.score_records(records(good=False))
    previous = {"model_version": "v-old", "splits_version": "sv1", "headline": {"micro_f1": 0.9, "valid_json_rate": 1.0}}
    info = {"model_version": "v-new", "base_model": "tiny", "splits_version": "sv1"}
    rep = report.build_report(current, info, previous, base)
    ok, why = report.regression_gate(rep, previous, margin=0.05)
    assert not ok and "beyond the allowed drop" in why  # 0.5 vs 0.9
    assert report.regression_gate(rep, previous, margin=0.5)[0]
    assert report.regression_gate(rep, None, margin=0.0)[0]
    rep["gate"] = {"passed": ok, "description": why}
    paths = report.write_report(rep, tmp_path / "out")
    assert paths["confusion"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = paths["markdown"].read_text()
    assert "previous adapter (v-old)" in md and "base model without adapter (tiny)" in md
    f1_row = next(line for line in md.splitlines() if line.startswith("| Event F1 (micro)"))
    assert f1_row.split("|")[2:5] == [" 0.500 ", " 0.900 ", " 0.000 "]
    assert "answers were not valid JSON" in md and "s1" in md
    saved = json.loads(paths["json"].read_text())
    assert saved["headline"]["micro_f1"] == pytest.approx(0.5) and saved["gate"]["passed"] is False
    html = paths["html"].read_text()
    assert "data:image/png;base64," in html and "v-old" in html
