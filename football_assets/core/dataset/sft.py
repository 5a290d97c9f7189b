"""SFT samples from an annotation snapshot (common.md interface 1) and the 4 fps clips' facts.

Per annotated clip with a 4 fps clip:

* one **events** sample: the video + ``EVENTS_INSTRUCTION`` -> JSON array of all events (``[]`` if none);
* **grounding** samples: "When does the <class> happen?" -> its start/end, for classes that occur exactly
  once in the clip (a class occurring twice has no single right answer, so it is not asked);
* **hard negatives**: the same question for a class absent from the clip -> the fixed "does not occur"
  answer. Classes easily confused with one that is present (a red card when there is a yellow one) are
  asked first, so the model cannot answer from "something card-like happened";
* **free-text grounding** (``prompts.FREE_TEXT_TASK``): "When does this happen: <the annotator's
  description>?" -> the event's class and start/end, for every event whose description is unique in the
  clip, so the adapter learns to place a described moment, not only a class (``football-events ask``).

The mix is a ``SampleMix``; every choice is seeded per clip, so adding one clip changes no other
clip's samples.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass, field

import pandas as pd

from football_assets.core import prompts
from football_assets.core.events import EVENT_CLASSES, TARGET_FPS

EVENTS_COLUMNS = ("clip_id", "task_id", "annotation_id", "annotator", "event", "start_time", "end_time",
                  "description", "lead_time", "updated_at")
TASKS_COLUMNS = ("clip_id", "task_id", "source_id", "fps", "duration_s", "n_events", "annotators", "agreement")

#: For a present class, the absent classes that look most like it (asked first as hard negatives).
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "Goal": ("Shot on target", "Penalty"),
    "Penalty": ("Goal", "Shot on target", "Foul"),
    "Shot on target": ("Goal", "Penalty"),
    "Yellow card": ("Red card", "Foul"),
    "Red card": ("Yellow card", "Foul"),
    "Corner": ("Goal", "Shot on target"),
    "Foul": ("Yellow card", "Red card", "Penalty"),
    "Substitution": ("Red card", "Yellow card"),
}


class SnapshotError(ValueError):
    """The annotation snapshot does not have the columns or values interface 1 promises."""


@dataclass(frozen=True)
class SampleMix:
    """Which samples to make per clip.

    ``grounding_positives``: at most this many "when does X happen" questions per clip (-1: all);
    ``grounding_negatives``: this many hard-negative questions per clip; ``free_text``: at most this many
    questions phrased from descriptions per clip (-1: all, 0: none); ``reasoning``: wrap answers in
    Cosmos-Reason1's ``<think>…</think><answer>…</answer>`` and ask for that form.
    """

    events: bool = True
    grounding_positives: int = -1
    grounding_negatives: int = 1
    free_text: int = -1
    reasoning: bool = False
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BuildResult:
    samples: list[dict]
    skipped: dict[str, str] = field(default_factory=dict)  # clip_id -> why it has no samples


def _require(df: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SnapshotError(f"annotation snapshot {name} lacks column(s) {missing}; has {list(df.columns)}")


def chosen_events(events: pd.DataFrame, tasks: pd.DataFrame) -> dict[str, list[dict]]:
    """Each annotated clip's events (sorted, times rounded), ``[]`` for clips annotated with none.

    When a clip has several annotations, the most recently updated one is used (ties: the larger
    annotation_id), so a reviewer's correction wins over the first draft.
    """
    _require(events, ("clip_id", "annotation_id", "event", "start_time", "end_time", "description", "updated_at"),
             "events.parquet")
    _require(tasks, ("clip_id", "source_id"), "tasks.parquet")
    out: dict[str, list[dict]] = {str(c): [] for c in tasks["clip_id"]}
    if len(events):
        ev = events.copy()
        ev["_upd"] = ev["updated_at"].astype(str)
        ev["_aid"] = ev["annotation_id"].astype(str)
        latest = ev.sort_values(["_upd", "_aid"]).groupby("clip_id", sort=False).tail(1)[["clip_id", "_aid"]]
        ev = ev.merge(latest, on=["clip_id", "_aid"])
        for clip_id, rows in ev.groupby("clip_id", sort=True):
            if str(clip_id) not in out:
                raise SnapshotError(f"events.parquet has events for clip {clip_id!r} that is not in tasks.parquet")
            try:
                out[str(clip_id)] = prompts.normalize_events(rows.to_dict("records"))
            except ValueError as exc:
                raise SnapshotError(f"clip {clip_id!r}: {exc}") from None
    return out


def _rng(seed: int, clip_id: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"sft:{seed}:{clip_id}".encode()).hexdigest()[:16], 16))


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")


def _sample(sid: str, clip: dict, source_id: str, task: str, instruction: str, answer: str, target) -> dict:
    video = str(clip["path"])
    return {
        "id": sid, "clip_id": clip["clip_id"], "source_id": source_id, "task": task, "video": video,
        "fps": TARGET_FPS, "duration": float(clip["duration_s"]),
        "messages": prompts.build_messages(video, instruction, answer), "target": target,
    }


def negatives_for(present: list[str], k: int, rng: random.Random) -> list[str]:
    """``k`` absent classes: confusable ones first (in a seeded order), then any other absent class."""
    absent = [c for c in EVENT_CLASSES if c not in present]
    hard = [c for p in present for c in CONFUSABLE.get(p, ()) if c in absent]
    hard = list(dict.fromkeys(hard))
    rng.shuffle(hard)
    rest = [c for c in absent if c not in hard]
    rng.shuffle(rest)
    return (hard + rest)[:max(k, 0)]


def clip_samples(clip: dict, source_id: str, events: list[dict], mix: SampleMix) -> list[dict]:
    """All samples of one clip (see the module docstring)."""
    cid, rng = clip["clip_id"], _rng(mix.seed, clip["clip_id"])
    duration = float(clip["duration_s"])
    clipped = []
    for e in events:  # an event running past the clip's end is cut at the end (rounding, trimmed sources)
        if e["start_time"] < duration:
            clipped.append({**e, "end_time": min(e["end_time"], prompts.round_time(duration))})
    events = prompts.normalize_events(clipped)
    out = []
    if mix.events:
        out.append(_sample(f"{cid}/events", clip, source_id, "events", prompts.events_instruction(mix.reasoning),
                           prompts.format_events(events, reasoning=mix.reasoning), events))
    counts = {c: sum(e["event"] == c for e in events) for c in EVENT_CLASSES}
    single = [c for c in EVENT_CLASSES if counts[c] == 1]
    rng.shuffle(single)
    if mix.grounding_positives >= 0:
        single = single[:mix.grounding_positives]
    for cls in sorted(single, key=EVENT_CLASSES.index):
        ev = next(e for e in events if e["event"] == cls)
        target = {"event": cls, "start_time": ev["start_time"], "end_time": ev["end_time"]}
        out.append(_sample(f"{cid}/when/{_slug(cls)}", clip, source_id, "grounding",
                           prompts.grounding_question(cls, mix.reasoning),
                           prompts.format_grounding(cls, (ev["start_time"], ev["end_time"]), reasoning=mix.reasoning),
                           target))
    present = [e["event"] for e in events]
    for cls in negatives_for(present, mix.grounding_negatives, rng):
        out.append(_sample(f"{cid}/absent/{_slug(cls)}", clip, source_id, "grounding",
                           prompts.grounding_question(cls, mix.reasoning),
                           prompts.format_grounding(cls, None, reasoning=mix.reasoning),
                           {"event": cls, "occurs": False}))
    questions = prompts.free_text_questions(cid, events)
    if mix.free_text >= 0:  # a subset: its own seeded draw, so the samples above do not change with it
        questions = sorted(random.Random(f"free-text:{mix.seed}:{cid}").sample(questions, min(mix.free_text, len(questions))))
    for sid, question, target in questions:
        out.append(_sample(sid, clip, source_id, prompts.FREE_TEXT_TASK,
                           prompts.free_grounding_question(question, mix.reasoning),
                           prompts.format_target(prompts.FREE_TEXT_TASK, target, reasoning=mix.reasoning), target))
    return out


def build_samples(events: pd.DataFrame, tasks: pd.DataFrame, clips: list[dict], mix: SampleMix = SampleMix()) -> BuildResult:
    """Samples of every annotated clip that has a 4 fps clip, sorted by id; ``skipped`` says who and why."""
    per_clip = chosen_events(events, tasks)
    facts = {c["clip_id"]: c for c in clips}
    sources = dict(zip(tasks["clip_id"].astype(str), tasks["source_id"]))
    result = BuildResult(samples=[])
    for cid in sorted(per_clip):
        clip = facts.get(cid)
        if clip is None:
            result.skipped[cid] = "annotated but has no 4 fps clip (materialize clips_4fps for it)"
            continue
        src = sources.get(cid)
        if src is None or (isinstance(src, float) and src != src) or str(src) == "":
            src = clip.get("source_id")
        if not src:
            raise SnapshotError(f"clip {cid!r} has no source_id in tasks.parquet nor in its clip facts")
        result.samples.extend(clip_samples(clip, str(src), per_clip[cid], mix))
    for cid in sorted(set(facts) - set(per_clip)):
        result.skipped[cid] = "not annotated yet"
    result.samples.sort(key=lambda s: s["id"])
    return result


def sample_classes(sample: dict) -> set[str]:
    """The event classes one sample says occur: its events' classes, or a positive grounding question's."""
    if sample["task"] == "events":
        return {e["event"] for e in sample["target"]}
    return {sample["target"]["event"]} if sample["target"].get("occurs", True) else set()


def group_classes(samples: list[dict]) -> dict[str, set[str]]:
    """source_id -> the event classes its clips contain (from the events samples, else grounding)."""
    out: dict[str, set[str]] = {}
    for s in samples:
        out.setdefault(s["source_id"], set()).update(sample_classes(s))
    return out
