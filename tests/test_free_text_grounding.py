"""Free-text grounding (issue 15): questions phrased from descriptions, their answers, the report's
free-text accuracy next to class grounding, and `football-events ask`."""

import json

import pytest

from football_assets.cli.main import main as cli
from football_assets.core import prompts
from football_assets.core.evaluation import answers, baselines, scoring
from tests.fixtures_evaluation import flash_video

EVENTS = [
    {"event": "Shot on target", "start_time": 1.0, "end_time": 3.0, "description": "The goalkeeper holds the low shot."},
    {"event": "Corner", "start_time": 4.0, "end_time": 6.0, "description": "Corner from the left"},
    {"event": "Foul", "start_time": 6.5, "end_time": 7.5, "description": ""},
]


def test_questions_come_from_unique_descriptions():
    qs = prompts.free_text_questions("c1", EVENTS + [dict(EVENTS[1], start_time=0.5, end_time=1.5)])
    # the corner's description is told twice now: no single right answer, so it is not asked; no text, no question
    assert [(sid, q, t["event"]) for sid, q, t in qs] == [
        ("c1/text/1", "When does this happen: The goalkeeper holds the low shot?", "Shot on target")]
    text = prompts.free_grounding_question(qs[0][1])
    assert text.startswith("When does this happen: The goalkeeper holds the low shot?\n") and '"occurs": false' in text
    with pytest.raises(ValueError, match="empty description"):
        prompts.question_from_description("  . ")


def test_free_grounding_answers_round_trip_and_bad_ones_are_named():
    target = {"event": "Corner", "start_time": 4.0, "end_time": 6.0}
    text = prompts.format_target(prompts.FREE_TEXT_TASK, target)
    assert prompts.parse_answer(prompts.FREE_TEXT_TASK, text) == target
    assert prompts.parse_free_grounding('{"occurs": false}') == {"occurs": False}
    assert prompts.parse_free_grounding('{"start_time": 1, "end_time": 2.5, "event": "Offside"}') == \
        {"start_time": 1.0, "end_time": 2.5}  # the span is what counts; an unknown class is dropped
    with pytest.raises(prompts.AnswerParseError, match="no 'end_time'"):
        prompts.parse_free_grounding('{"start_time": 1}')
    with pytest.raises(prompts.AnswerParseError, match="must be before"):
        prompts.parse_free_grounding('{"start_time": 3, "end_time": 2}')


def _events_sample(clip_id="c1"):
    return {"id": f"{clip_id}/events", "clip_id": clip_id, "source_id": "m", "task": "events", "video": "/v.mp4",
            "fps": 4, "duration": 8.0, "target": EVENTS,
            "messages": prompts.build_messages("/v.mp4", prompts.events_instruction(), prompts.format_events(EVENTS))}


def test_report_scores_free_text_next_to_class_grounding():
    samples = [_events_sample()]
    derived = answers.free_text_samples(samples)
    assert [s["id"] for s in derived] == ["c1/text/0", "c1/text/1"]
    assert answers.user_instruction(derived[0]) == prompts.free_grounding_question(
        "When does this happen: The goalkeeper holds the low shot?")
    assert answers.free_text_samples(samples + derived) == []  # a split that has them gets none added
    records = [{"id": s["id"], "clip_id": "c1", "task": s["task"], "target": s["target"], "raw": raw}
               for s, raw in zip(derived, ['{"event": "Shot on target", "start_time": 1.2, "end_time": 3.0}',
                                           '{"occurs": false}'])]
    records.append({"id": "c1/when/corner", "clip_id": "c1", "task": "grounding",
                    "target": {"event": "Corner", "start_time": 4.0, "end_time": 6.0},
                    "raw": '{"event": "Corner", "start_time": 4.0, "end_time": 6.0}'})
    records.append({"id": "c1/events", "clip_id": "c1", "task": "events", "target": EVENTS, "raw": "[]"})
    m = scoring.score_records(records)
    assert m["free_text_grounding"] == {"accuracy": 0.5, "correct": 1, "n": 2}
    assert m["grounding"] == {"accuracy": 1.0, "correct": 1, "n": 1}
    h = scoring.headline(m)
    assert (h["free_text_grounding_accuracy"], h["grounding_accuracy"]) == (0.5, 1.0)
    assert [k for k, _ in scoring.HEADLINE].index("free_text_grounding_accuracy") == \
        [k for k, _ in scoring.HEADLINE].index("grounding_accuracy") + 1


def test_baselines_answer_free_text_questions():
    train = [_events_sample("t1")]
    pri = baselines.fit_priors(train)
    derived = answers.free_text_samples([_events_sample()])
    for name in baselines.BASELINES:
        recs = baselines.baseline_records(name, pri, derived)
        parsed = [prompts.parse_answer(r["task"], r["raw"]) for r in recs]
        assert len(parsed) == 2 and all("start_time" in p or p == {"occurs": False} for p in parsed)


def test_ask_cli_bad_inputs_are_one_clear_line(tmp_path, capsys):
    assert cli(["ask", str(tmp_path / "missing.mp4"), "When is the goal?"]) == 2
    assert "error: " in capsys.readouterr().err
    video = flash_video(tmp_path / "clip.mp4", 2, (0.5, 1))
    assert cli(["ask", str(video), "   ", "--adapter", str(tmp_path)]) == 2
    assert "the question is empty" in capsys.readouterr().err
    assert cli(["ask", str(video), "When is the goal?", "--adapter", str(tmp_path / "nope")]) == 2
    assert "directory does not exist" in capsys.readouterr().err


def test_ask_answers_with_a_time_range_inside_the_video(eval_layout, tmp_path, capsys):
    video = flash_video(tmp_path / "long.mp4", 12, (3, 5))
    rc = cli(["ask", str(video), "When does the goalkeeper hold the low shot?", "--adapter",
              str(eval_layout.adapter_dir), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["question"] == "When does the goalkeeper hold the low shot?"
    windows = [r["window"] for r in out["raw"]]  # longer than the adapter's clip: every window asked once
    assert len(windows) >= 2 and windows[0][0] == 0 and abs(windows[-1][1] - out["duration"]) < 1e-6
    for c in out["candidates"]:
        assert 0 <= c["start_time"] < c["end_time"] <= out["duration"] + 1e-6
    assert out["answer"] == (out["candidates"][0] if out["candidates"] else None)
