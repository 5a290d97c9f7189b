"""The one place for prompt texts and answer formats, shared by the SFT dataset, training and inference.

Training samples and inference requests are both built with ``build_messages`` so the model sees
byte-identical system prompts and instructions in both places. Answers are JSON so they can be parsed
back exactly: ``parse_events(format_events(x)) == normalised x`` and ``format_events(parse_events(a)) == a``
for every answer this module writes.

Optional Cosmos-Reason1 form: the instruction asks for ``<think>…</think>\\n\\n<answer>…</answer>`` and
the answer is wrapped that way; the parsers accept both forms (plus code fences and whitespace).
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping

from .events import EVENT_CLASSES, TARGET_FPS

# --------------------------------------------------------------------------------------------
# Texts

SYSTEM_PROMPT = (
    "You are a football (soccer) match analyst. You watch video clips sampled at "
    f"{TARGET_FPS} frames per second and report match events precisely, with times in seconds "
    "from the start of the clip."
)

_CLASS_LIST = ", ".join(EVENT_CLASSES)

EVENTS_INSTRUCTION = (
    "List every match event in this clip. "
    f"Event classes: {_CLASS_LIST}. "
    "Answer with a JSON array only, ordered by start time. Each item is "
    '{"event": <one of the event classes>, "start_time": <seconds, one decimal>, '
    '"end_time": <seconds, one decimal>, "description": <one sentence>}. '
    "Answer [] if no event happens."
)

#: Cosmos-Reason1's answer-format request, appended to an instruction when reasoning is on.
REASONING_SUFFIX = (
    "\nAnswer the question in the following format: <think>\nyour reasoning\n</think>\n\n"
    "<answer>\nyour answer\n</answer>."
)

#: The task name of free-text grounding samples and records.
FREE_TEXT_TASK = "grounding_text"

GROUNDING_TEMPLATE = (
    "When does the {name} happen in this clip? "
    'Answer with a JSON object only: {{"event": "{event}", "start_time": <seconds, one decimal>, '
    '"end_time": <seconds, one decimal>}}, or {{"event": "{event}", "occurs": false}} if it does not happen.'
)


#: Free-text grounding: a described moment, not a class. ``{question}`` is a question phrased from an
#: annotator's description (``question_from_description``) or, in ``football-events ask``, the user's own.
FREE_GROUNDING_TEMPLATE = (
    "{question}\nFind this moment in the clip. "
    f"Event classes: {_CLASS_LIST}. "
    'Answer with a JSON object only: {{"event": <the event class of the moment>, "start_time": <seconds, one decimal>, '
    '"end_time": <seconds, one decimal>}}, or {{"occurs": false}} if it does not happen in this clip.'
)


class AnswerParseError(ValueError):
    """A model answer (or a dataset answer) that is not in the format the prompts ask for."""


def events_instruction(reasoning: bool = False) -> str:
    """The events instruction; with ``reasoning`` it also asks for the think/answer form."""
    return EVENTS_INSTRUCTION + (REASONING_SUFFIX if reasoning else "")


def grounding_question(event_class: str, reasoning: bool = False) -> str:
    """'When does the yellow card happen in this clip? …' for one class."""
    event = _check_class(event_class, "grounding question")
    text = GROUNDING_TEMPLATE.format(name=event.lower(), event=event)
    return text + (REASONING_SUFFIX if reasoning else "")


def question_from_description(description: str) -> str:
    """'When does this happen: <description>?', the fixed phrasing of a free-text grounding question
    (one phrasing for training and for the report, so the figure measures placing the moment, not
    reading varied wording)."""
    text = " ".join(str(description).split()).rstrip(" .!?;:")
    if not text:
        raise ValueError("free-text grounding question: empty description")
    return f"When does this happen: {text}?"


def free_text_questions(clip_id: str, events: Iterable[Any]) -> list[tuple[str, str, dict]]:
    """``(sample id, question, target)`` for every described event whose description is unique in the
    clip (two events told alike have no single right answer); target ``{event, start_time, end_time}``."""
    evs = normalize_events(events)
    descs = [e["description"] for e in evs]
    out = []
    for i, e in enumerate(evs):
        if e["description"] and descs.count(e["description"]) == 1:
            out.append((f"{clip_id}/text/{i}", question_from_description(e["description"]),
                        {"event": e["event"], "start_time": e["start_time"], "end_time": e["end_time"]}))
    return out


def free_grounding_question(question: str, reasoning: bool = False) -> str:
    """The free-text grounding instruction around ``question`` (see ``FREE_GROUNDING_TEMPLATE``)."""
    q = " ".join(str(question).split())
    if not q:
        raise ValueError("free-text grounding question is empty")
    return FREE_GROUNDING_TEMPLATE.format(question=q) + (REASONING_SUFFIX if reasoning else "")


# --------------------------------------------------------------------------------------------
# Message structure (common.md interface 2)


def build_messages(video_path: str, instruction: str, answer: str | None = None,
                   system: str = SYSTEM_PROMPT) -> list[dict]:
    """System turn, user turn (video + instruction) and, for training, the assistant turn."""
    messages: list[dict] = [
        {"role": "system", "content": system},
        {"role": "user", "content": [{"type": "video", "video": str(video_path)},
                                     {"type": "text", "text": instruction}]},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


# --------------------------------------------------------------------------------------------
# Times


def round_time(t: Any) -> float:
    """Seconds with one decimal, half up (1.25 -> 1.3), so the same time always prints the same."""
    return float(Decimal(str(float(t))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _span(start: Any, end: Any, what: str) -> tuple[float, float]:
    s, e = round_time(start), round_time(end)
    if e <= s:  # a very short event must not collapse to zero length when rounded
        e = round_time(s + 0.1)
    if s < 0:
        raise ValueError(f"{what}: negative start_time {start}")
    return s, e


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


# --------------------------------------------------------------------------------------------
# Events answers


def normalize_events(events: Iterable[Any]) -> list[dict]:
    """Events (``Event``s, dicts or DataFrame rows) as sorted dicts with rounded times: the target."""
    out = []
    for ev in events:
        name = _check_class(_get(ev, "event"), "event")
        s, e = _span(_get(ev, "start_time"), _get(ev, "end_time"), f"event {name!r}")
        desc = _get(ev, "description", "") or ""
        out.append({"event": name, "start_time": s, "end_time": e, "description": " ".join(str(desc).split())})
    out.sort(key=lambda d: (d["start_time"], d["end_time"], EVENT_CLASSES.index(d["event"]), d["description"]))
    return out


def default_rationale(events: list[dict]) -> str:
    """A short, truthful reasoning text for the think block when no human rationale exists."""
    if not events:
        return "I watched every frame of the clip and saw no goal, penalty, shot, card, corner, foul or substitution."
    parts = [f"{e['event']} from {e['start_time']:.1f} s to {e['end_time']:.1f} s" for e in events]
    return "I watched the clip frame by frame. I see: " + "; ".join(parts) + "."


def wrap_reasoning(answer: str, think: str) -> str:
    return f"<think>\n{think.strip()}\n</think>\n\n<answer>\n{answer}\n</answer>"


def format_events(events: Iterable[Any], reasoning: bool = False, think: str | None = None) -> str:
    """The assistant answer: a JSON array of {event, start_time, end_time, description}, ``[]`` if none."""
    items = normalize_events(events)
    answer = json.dumps(items, ensure_ascii=False)
    if reasoning:
        return wrap_reasoning(answer, think if think is not None else default_rationale(items))
    return answer


_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S)


def extract_answer(text: str) -> str:
    """The answer part of a model reply: inside <answer>…</answer> if present, without code fences."""
    if not isinstance(text, str):
        raise AnswerParseError(f"answer must be a string, got {type(text).__name__}")
    body = text.strip()
    if "<answer>" in body:
        body = _ANSWER.search(body).group(1).strip()
    elif "<think>" in body:
        body = body.split("</think>", 1)[1].strip() if "</think>" in body else ""
        if not body:
            raise AnswerParseError("reply has a <think> block but no <answer> after it")
    m = _FENCE.match(body)
    if m:
        body = m.group(1).strip()
    return body


def _load_json(body: str, opener: str, closer: str, what: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        i, j = body.find(opener), body.rfind(closer)
        if 0 <= i < j:  # tolerate prose around the JSON
            try:
                return json.loads(body[i:j + 1])
            except json.JSONDecodeError:
                pass
        snippet = body if len(body) <= 120 else body[:117] + "..."
        raise AnswerParseError(f"{what} is not valid JSON ({exc.msg} at char {exc.pos}): {snippet!r}") from None


def _check_class(name: Any, what: str) -> str:
    if isinstance(name, str):
        for cls in EVENT_CLASSES:
            if name.strip().lower() == cls.lower():
                return cls
    raise AnswerParseError(f"{what}: unknown event class {name!r}; known classes: {_CLASS_LIST}")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip().rstrip("s").strip())
        except ValueError:
            raise AnswerParseError(f"{what} must be a number of seconds, got {value!r}") from None
    value = float(value)
    if value != value or value < 0:
        raise AnswerParseError(f"{what} must be a non-negative number of seconds, got {value!r}")
    return value


def _parse_item(item: Any, what: str) -> dict:
    if not isinstance(item, dict):
        raise AnswerParseError(f"{what} must be a JSON object, got {type(item).__name__}: {item!r}")
    for key in ("event", "start_time", "end_time"):
        if key not in item:
            raise AnswerParseError(f"{what} has no {key!r} field: {item!r}")
    name = _check_class(item["event"], what)
    start = _number(item["start_time"], f"{what} start_time")
    end = _number(item["end_time"], f"{what} end_time")
    if not start < end:
        raise AnswerParseError(f"{what} ({name}): start_time {start} must be before end_time {end}")
    return {"event": name, "start_time": start, "end_time": end}


def parse_events(text: str) -> list[dict]:
    """Parse an events answer into [{event, start_time, end_time, description}]; raise AnswerParseError."""
    body = extract_answer(text)
    data = _load_json(body, "[", "]", "events answer")
    if isinstance(data, dict) and "events" in data:  # tolerate {"events": [...]}
        data = data["events"]
    if not isinstance(data, list):
        raise AnswerParseError(f"events answer must be a JSON array, got {type(data).__name__}")
    out = []
    for i, item in enumerate(data):
        ev = _parse_item(item, f"events answer item {i}")
        desc = item.get("description", "")
        ev["description"] = desc if isinstance(desc, str) else json.dumps(desc)
        out.append(ev)
    return out


# --------------------------------------------------------------------------------------------
# Grounding answers


def format_grounding(event_class: str, span: tuple[float, float] | None = None, reasoning: bool = False,
                     think: str | None = None) -> str:
    """The grounding answer: {event, start_time, end_time}, or the fixed {event, occurs: false} when absent."""
    event = _check_class(event_class, "grounding answer")
    if span is None:
        obj: dict = {"event": event, "occurs": False}
        default_think = f"I watched the whole clip and there is no {event.lower()} in it."
    else:
        s, e = _span(span[0], span[1], f"grounding {event!r}")
        obj = {"event": event, "start_time": s, "end_time": e}
        default_think = f"The {event.lower()} starts at {s:.1f} s and ends at {e:.1f} s."
    answer = json.dumps(obj, ensure_ascii=False)
    if reasoning:
        return wrap_reasoning(answer, think if think is not None else default_think)
    return answer


def does_not_occur_answer(event_class: str) -> str:
    """The fixed hard-negative answer for a class absent from the clip."""
    return format_grounding(event_class, None)


def parse_grounding(text: str) -> dict:
    """Parse a grounding answer into {event, start_time, end_time} or {event, occurs: False}."""
    body = extract_answer(text)
    data = _load_json(body, "{", "}", "grounding answer")
    if not isinstance(data, dict):
        raise AnswerParseError(f"grounding answer must be a JSON object, got {type(data).__name__}")
    if data.get("occurs") is False:
        return {"event": _check_class(data.get("event"), "grounding answer"), "occurs": False}
    return _parse_item(data, "grounding answer")


def format_free_grounding(span: tuple[float, float] | None, event_class: str | None = None,
                          reasoning: bool = False, think: str | None = None) -> str:
    """The free-text grounding answer: {event, start_time, end_time}, or {occurs: false} when absent."""
    if span is None:
        obj: dict = {"occurs": False}
        default_think = "I watched the whole clip and this moment does not happen in it."
    else:
        event = _check_class(event_class, "free-text grounding answer")
        s, e = _span(span[0], span[1], "free-text grounding")
        obj = {"event": event, "start_time": s, "end_time": e}
        default_think = f"The described moment, a {event.lower()}, starts at {s:.1f} s and ends at {e:.1f} s."
    answer = json.dumps(obj, ensure_ascii=False)
    return wrap_reasoning(answer, think if think is not None else default_think) if reasoning else answer


def parse_free_grounding(text: str) -> dict:
    """Parse a free-text grounding answer into {event?, start_time, end_time} or {occurs: False}; the class
    is kept when given and known, but only the span is required."""
    body = extract_answer(text)
    data = _load_json(body, "{", "}", "free-text grounding answer")
    if not isinstance(data, dict):
        raise AnswerParseError(f"free-text grounding answer must be a JSON object, got {type(data).__name__}")
    if data.get("occurs") is False:
        return {"occurs": False}
    for key in ("start_time", "end_time"):
        if key not in data:
            raise AnswerParseError(f"free-text grounding answer has no {key!r} field: {data!r}")
    start = _number(data["start_time"], "free-text grounding start_time")
    end = _number(data["end_time"], "free-text grounding end_time")
    if not start < end:
        raise AnswerParseError(f"free-text grounding answer: start_time {start} must be before end_time {end}")
    out = {"start_time": start, "end_time": end}
    try:
        out = {"event": _check_class(data.get("event"), "free-text grounding answer"), **out}
    except AnswerParseError:
        pass
    return out


def format_target(task: str, target: Any, reasoning: bool = False) -> str:
    """Re-create the answer text of a parsed target (used by the round-trip check)."""
    if task == "events":
        return format_events(target, reasoning=reasoning)
    if task == "grounding":
        if target.get("occurs") is False:
            return format_grounding(target["event"], None, reasoning=reasoning)
        return format_grounding(target["event"], (target["start_time"], target["end_time"]), reasoning=reasoning)
    if task == FREE_TEXT_TASK:
        if target.get("occurs") is False:
            return format_free_grounding(None, reasoning=reasoning)
        return format_free_grounding((target["start_time"], target["end_time"]), target["event"], reasoning=reasoning)
    raise ValueError(f"unknown task {task!r}; expected 'events', 'grounding' or {FREE_TEXT_TASK!r}")


def parse_answer(task: str, text: str) -> Any:
    """Parse an answer of either task."""
    if task == "events":
        return parse_events(text)
    if task == "grounding":
        return parse_grounding(text)
    if task == FREE_TEXT_TASK:
        return parse_free_grounding(text)
    raise ValueError(f"unknown task {task!r}; expected 'events', 'grounding' or {FREE_TEXT_TASK!r}")
