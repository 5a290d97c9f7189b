"""Report scoring and writing from answered samples (no model): robust parsing, files, gate."""

import json

import pytest

from football_assets.core import prompts
from football_assets.core.evaluation import gate, render, report, scoring, store
from football_assets.core.fsutil import write_json


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
    m = scoring.score_records(records())
    assert m["valid_json"]["n"] == 4 and m["valid_json"]["valid"] == 3
    assert m["valid_json"]["rate"] == pytest.approx(0.75)
    assert m["valid_json"]["invalid_examples"][0]["id"] == "s1"
    det = m["detection"]["micro"]
    assert (det["tp"], det["fp"], det["fn"]) == (1, 0, 2)  # the invalid answer counts as no prediction
    assert m["grounding"]["accuracy"] == 1.0
    assert m["descriptions"]["rougeL"] == pytest.approx(1.0)


def test_write_report_side_by_side_and_gate(tmp_path):
    current = scoring.score_records(records())
    base = scoring.score_records(records(good=False))
    previous = {"model_version": "v-old", "splits_version": "sv1", "headline": {"micro_f1": 0.9, "valid_json_rate": 1.0}}
    info = {"model_version": "v-new", "base_model": "tiny", "splits_version": "sv1"}
    rep = report.build_report(current, info, previous, base)
    ok, why = gate.regression_gate(rep, previous, margin=0.05)
    assert not ok and "beyond the allowed drop" in why  # 0.5 vs 0.9
    assert gate.regression_gate(rep, previous, margin=0.5)[0]
    assert gate.regression_gate(rep, None, margin=0.0)[0]
    rep["gate"] = {"passed": ok, "description": why}
    paths = store.write_report(rep, tmp_path / "out")
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


def test_report_shows_val_and_test_baselines_and_presence_like_tolerances(tmp_path):
    test_m = scoring.score_records(records(), clip_duration=8.0, prior_descriptions={"Goal": "Blue scores"})
    val_m = scoring.score_records(records(good=False), clip_duration=8.0)
    table = {"val": {"all classes": {"micro_f1": 0.1}}, "test": {"all classes": {"micro_f1": 0.2}}}
    rep = report.build_report(test_m, {"model_version": "v-new", "base_model": "tiny", "splits_version": "sv1"},
                              table=table, val=val_m)
    assert list(rep["comparison"]) == ["this adapter · val", "this adapter · test", "all classes · val", "all classes · test"]
    assert rep["splits"]["val"]["this adapter"]["micro_f1"] == 0.0 and rep["val_headline"]["micro_f1"] == 0.0
    md = render.to_markdown(rep)
    f1_row = next(line for line in md.splitlines() if line.startswith("| Event F1 (micro)"))
    assert f1_row.split("|")[2:6] == [" 0.000 ", " 0.500 ", " 0.100 ", " 0.200 "]
    # 8 s clips: loose tolerances 10-60 s are presence, 5 s is timing
    loose = test_m["soccernet"]["loose"]
    assert loose["presence_tolerances"] == [float(t) for t in range(10, 65, 5)] and loose["timing_tolerances"] == [5.0]
    assert "11 of 12 tolerances (10-60 s) are above the clip length (8 s)" in md
    assert "| 60 | " in md and "presence (tolerance above the clip length)" in md
    # the template prior replaces the matched Goal's description "Red scores": ROUGE-L 1 -> 1/2
    assert test_m["descriptions"]["rougeL"] == pytest.approx(1.0) and test_m["descriptions"]["prior_rougeL"] == pytest.approx(0.5)
    row = next(line for line in md.splitlines() if line.startswith("| Description ROUGE-L, template prior"))
    assert row.split("|")[3] == " 0.500 "


def test_gate_compares_the_previous_adapter_on_the_same_test_split_only(tmp_path):
    from football_assets.core.layout import DataLayout

    layout = DataLayout(tmp_path / "data")
    test = [{"id": f"s{i}"} for i in range(4)]
    calls = []

    def answer(weights, label):
        calls.append(weights)
        return records(good=False)

    score = scoring.score_records
    assert gate.previous_on_test(layout, "v-new", "sv2", test, 0.5, score, answer) is None
    old = {"model_version": "v-old", "splits_version": "sv1", "n_test_samples": 4, "threshold": 0.5,
           "created_at": "2026-01-01T00:00:00Z", "headline": {"micro_f1": 0.9}}
    write_json(store.reports_root(layout) / "v-old" / "report.json", old)
    # same splits version, sample count and threshold: its own report is comparable
    same = gate.previous_on_test(layout, "v-new", "sv1", test, 0.5, score, answer)
    assert same["comparable"] and same["headline"]["micro_f1"] == 0.9 and not calls
    # another splits version and no kept weights: nothing comparable, and the gate says so
    other = gate.previous_on_test(layout, "v-new", "sv2", test, 0.5, score, answer)
    assert other["comparable"] is False and "weights were not kept" in other["how"] and not calls
    rep = report.build_report(scoring.score_records(records()), {"model_version": "v-new", "splits_version": "sv2"}, other)
    ok, why = gate.regression_gate(rep, rep["previous"], margin=0.0)
    assert ok and why.startswith("nothing comparable: previous adapter v-old was scored on splits sv1")
    assert "previous adapter (v-old) · test" not in rep["comparison"]
    # with kept weights it is re-scored on this test split, once per splits version
    (store.adapter_snapshot(layout, "v-old")).mkdir(parents=True)
    (store.adapter_snapshot(layout, "v-old") / "adapter_config.json").write_text("{}")
    rescored = gate.previous_on_test(layout, "v-new", "sv2", test, 0.5, score, answer)
    assert rescored["comparable"] and rescored["headline"]["micro_f1"] == 0.0 and "re-scored" in rescored["how"]
    assert gate.previous_on_test(layout, "v-new", "sv2", test, 0.5, score, answer)["headline"]["micro_f1"] == 0.0
    assert calls == [store.adapter_snapshot(layout, "v-old")]  # the second time came from the cache
    rep = report.build_report(scoring.score_records(records()), {"model_version": "v-new", "splits_version": "sv2"}, rescored)
    ok, why = gate.regression_gate(rep, rep["previous"], margin=0.05)
    assert ok and "re-scored on the test split of splits sv2" in why and "change +0.5000" in why


def test_report_leads_with_what_analyze_gives_and_renders_from_its_json():
    test_m = scoring.score_records(records(), clip_duration=8.0)
    rep = report.build_report(test_m, {"model_version": "v-new", "base_model": "tiny", "splits_version": "sv1"},
                              table={"test": {"all classes": {"micro_f1": 0.2}}})
    rep["product"] = [{"predictor": "cascade", "default": True, "what": "spotter times, VLM describes", "f1": 0.9},
                      {"predictor": "VLM only", "default": False, "what": "the VLM on every clip", "f1": 0.4}]
    # the stored report.json (tolerances become string keys) renders the same way as the report in memory
    for rep_ in (rep, json.loads(json.dumps(rep))):
        for text in (render.to_markdown(rep_), render.to_html(rep_)):
            lead, notes_at, detail = (text.index(s) for s in ("What you get", render.NOTES_TITLE, "Headline, side by side"))
            assert lead < notes_at < detail, "the product table comes first, then how to read it, then the detail"
            assert text.index("Regression gate") < lead and text.index("11 of 12 tolerances") > notes_at
