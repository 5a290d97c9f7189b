"""Prompt texts and the answer formats: formatting, robust parsing, clear errors, exact round trips."""

import json

import pytest

from football_assets.core import prompts
from football_assets.core.demo.generator import plan_clips
from football_assets.core.events import EVENT_CLASSES, Event
from football_assets.core.prompts import AnswerParseError


def test_instruction_names_every_class_and_the_answer_format():
    for cls in EVENT_CLASSES:
        assert cls in prompts.EVENTS_INSTRUCTION
    for key in ('"event"', '"start_time"', '"end_time"', '"description"', "[]"):
        assert key in prompts.EVENTS_INSTRUCTION
    assert "4 frames per second" in prompts.SYSTEM_PROMPT
    assert prompts.events_instruction(reasoning=True).endswith(prompts.REASONING_SUFFIX)
    assert "<think>" in prompts.REASONING_SUFFIX and "<answer>" in prompts.REASONING_SUFFIX


def test_build_messages_has_the_interface_structure():
    msgs = prompts.build_messages("/d/clips_4fps/a.mp4", prompts.EVENTS_INSTRUCTION, "[]")
    assert msgs == [
        {"role": "system", "content": prompts.SYSTEM_PROMPT},
        {"role": "user", "content": [{"type": "video", "video": "/d/clips_4fps/a.mp4"},
                                     {"type": "text", "text": prompts.EVENTS_INSTRUCTION}]},
        {"role": "assistant", "content": "[]"},
    ]
    assert [m["role"] for m in prompts.build_messages("a.mp4", "x")] == ["system", "user"]


def test_format_events_json_one_decimal_sorted_and_empty():
    events = [Event("Foul", 4.25, 6.0, "late  tackle\n"), Event("Goal", 0.5, 2.75, "in the net")]
    text = prompts.format_events(events)
    assert text == ('[{"event": "Goal", "start_time": 0.5, "end_time": 2.8, "description": "in the net"}, '
                    '{"event": "Foul", "start_time": 4.3, "end_time": 6.0, "description": "late tackle"}]')
    assert prompts.format_events([]) == "[]"
    assert prompts.parse_events("[]") == []


def test_every_demo_answer_round_trips_plain_and_reasoning():
    for clip in plan_clips(64, 3):
        plain = prompts.format_events(clip.events)
        parsed = prompts.parse_events(plain)
        assert prompts.format_events(parsed) == plain
        assert parsed == prompts.normalize_events(clip.events)
        wrapped = prompts.format_events(clip.events, reasoning=True)
        assert wrapped.startswith("<think>\n") and wrapped.endswith(f"<answer>\n{plain}\n</answer>")
        assert prompts.parse_events(wrapped) == parsed


def test_parser_accepts_fences_whitespace_case_and_prose():
    body = '[{"event": "yellow card", "start_time": "1.5", "end_time": 3, "description": "booked"}]'
    want = [{"event": "Yellow card", "start_time": 1.5, "end_time": 3.0, "description": "booked"}]
    for text in (body, f"  \n```json\n{body}\n```\n", f"<think>\nhmm\n</think>\n\n<answer>\n```\n{body}\n```\n</answer>",
                 f"Here are the events: {body} Hope this helps."):
        assert prompts.parse_events(text) == want
    assert prompts.parse_events('{"events": []}') == []


@pytest.mark.parametrize("text, message", [
    ("", "not valid JSON"),
    ("no events here", "not valid JSON"),
    ('{"event": "Goal"}', "must be a JSON array"),
    ('[{"event": "Header", "start_time": 1, "end_time": 2}]', "unknown event class 'Header'"),
    ('[{"event": "Goal", "start_time": 3, "end_time": 2}]', "start_time 3.0 must be before end_time 2.0"),
    ('[{"event": "Goal", "end_time": 2}]', "no 'start_time' field"),
    ('[{"event": "Goal", "start_time": "soon", "end_time": 2}]', "must be a number of seconds"),
    ('[{"event": "Goal", "start_time": -1, "end_time": 2}]', "non-negative"),
    ('["Goal"]', "must be a JSON object"),
    ("<think>I think there is a goal", "no <answer>"),
])
def test_malformed_answers_raise_clear_errors(text, message):
    with pytest.raises(AnswerParseError, match=message):
        prompts.parse_events(text)


def test_grounding_question_and_answers():
    q = prompts.grounding_question("Yellow card")
    assert q.startswith("When does the yellow card happen in this clip?") and '"occurs": false' in q
    pos = prompts.format_grounding("Yellow card", (2.25, 4.0))
    assert json.loads(pos) == {"event": "Yellow card", "start_time": 2.3, "end_time": 4.0}
    assert prompts.parse_grounding(pos) == {"event": "Yellow card", "start_time": 2.3, "end_time": 4.0}
    neg = prompts.does_not_occur_answer("Red card")
    assert neg == '{"event": "Red card", "occurs": false}'
    assert prompts.parse_grounding(neg) == {"event": "Red card", "occurs": False}
    assert prompts.parse_grounding(prompts.format_grounding("Goal", None, reasoning=True)) == {"event": "Goal", "occurs": False}
    with pytest.raises(AnswerParseError, match="unknown event class"):
        prompts.grounding_question("Offside")
    with pytest.raises(AnswerParseError, match="must be a JSON object"):
        prompts.parse_grounding("[1, 2]")
    for task, target in (("grounding", {"event": "Corner", "occurs": False}),
                         ("grounding", {"event": "Corner", "start_time": 1.0, "end_time": 2.5}),
                         ("events", [{"event": "Corner", "start_time": 1.0, "end_time": 2.5, "description": "x"}])):
        assert prompts.parse_answer(task, prompts.format_target(task, target)) == target


def test_short_event_keeps_positive_length_after_rounding():
    [ev] = prompts.parse_events(prompts.format_events([Event("Foul", 1.01, 1.04)]))
    assert ev["start_time"] == 1.0 and ev["end_time"] == 1.1
