"""Trivial predictors fitted on the train split only, shown next to every model in the report.

A model's score means little without the score of a predictor that has not looked at the video:
predicting all 8 classes for every clip already gives class-presence F1 0.25 on the demo, and a
description that is the class's most typical sentence already scores some BLEU. Each predictor here
answers every sample in the ``run_predictor`` record form (events and grounding), so the report scores
them with exactly the model's code:

* ``all classes``: every class, each at the train-set mean position and duration;
* ``most frequent class``: the train split's most frequent class, at the mean position and duration;
* ``random (train priors)``: per clip, as many events as a train clip has (drawn from the train
  distribution), classes drawn from the train class frequencies, durations drawn from the train
  durations, starts uniform in the clip; seeded per (seed, sample), so reproducible.

Grounding answers follow from the same events ("the X happens" when X is among them). Descriptions are
the **template prior** of the class: the train description of that class most similar on average
(ROUGE-L) to the other train descriptions of that class, i.e. the most likely template.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from football_assets.core import prompts
from football_assets.core.events import EVENT_CLASSES

#: Descriptions per class used to pick the template prior (its cost is quadratic in this).
MAX_PRIOR_DESCRIPTIONS = 150


@dataclass
class TrainPriors:
    """What the train split says before any video is seen."""

    class_counts: Counter = field(default_factory=Counter)
    events_per_clip: Counter = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    mean_start: float = 0.0
    mean_duration: float = 1.0
    descriptions: dict[str, str] = field(default_factory=dict)  # class -> template prior

    @property
    def most_frequent(self) -> str:
        # ties: the earlier class in EVENT_CLASSES, so the choice does not depend on sample order
        return max(EVENT_CLASSES, key=lambda c: (self.class_counts[c], -EVENT_CLASSES.index(c)))


def template_prior(texts: Sequence[str]) -> str:
    """The medoid of ``texts`` by ROUGE-L F: the description closest on average to all the others."""
    texts = sorted(t for t in texts if t)[:MAX_PRIOR_DESCRIPTIONS]  # repeats kept: a frequent sentence weighs more
    if not texts:
        return ""
    if len(texts) == 1:
        return texts[0]
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    sums = [0.0] * len(texts)
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            f = scorer.score(texts[i], texts[j])["rougeL"].fmeasure
            sums[i] += f
            sums[j] += f
    return texts[max(range(len(texts)), key=lambda i: (sums[i], -i))]


def fit_priors(train: Sequence[dict]) -> TrainPriors:
    """Priors from the events-task samples of the train split (their ``target`` event lists)."""
    clips = [s for s in train if s.get("task") == "events"]
    if not clips:
        raise ValueError("train split has no events samples: the trivial baselines have nothing to learn from")
    pri = TrainPriors()
    starts, texts = [], {}
    for s in clips:
        events = list(s["target"])
        pri.events_per_clip[len(events)] += 1
        for e in events:
            pri.class_counts[e["event"]] += 1
            starts.append(float(e["start_time"]))
            pri.durations.append(float(e["end_time"]) - float(e["start_time"]))
            texts.setdefault(e["event"], []).append(str(e.get("description", "")))
    if starts:
        pri.mean_start = sum(starts) / len(starts)
        pri.mean_duration = sum(pri.durations) / len(pri.durations)
    pri.descriptions = {c: template_prior(t) for c, t in texts.items()}
    return pri


def _event(pri: TrainPriors, cls: str, start: float, duration: float) -> dict:
    return {"event": cls, "start_time": round(start, 1), "end_time": round(start + duration, 1),
            "description": pri.descriptions.get(cls, "")}


def all_classes(pri: TrainPriors, sample: dict) -> list[dict]:
    return [_event(pri, c, pri.mean_start, pri.mean_duration) for c in EVENT_CLASSES]


def most_frequent_class(pri: TrainPriors, sample: dict) -> list[dict]:
    return [_event(pri, pri.most_frequent, pri.mean_start, pri.mean_duration)] if pri.class_counts else []


def random_intervals(pri: TrainPriors, sample: dict, seed: int = 0) -> list[dict]:
    rng = random.Random(f"random-baseline:{seed}:{sample['clip_id']}")  # one draw per clip, whatever the task
    counts = sorted(pri.events_per_clip)
    n = rng.choices(counts, weights=[pri.events_per_clip[k] for k in counts])[0]
    classes = sorted(pri.class_counts)
    duration_clip = float(sample.get("duration") or 0) or (pri.mean_start + pri.mean_duration) * 2
    out = []
    for _ in range(n if classes else 0):
        cls = rng.choices(classes, weights=[pri.class_counts[c] for c in classes])[0]
        d = min(rng.choice(pri.durations), duration_clip)
        out.append(_event(pri, cls, rng.uniform(0, max(0.0, duration_clip - d)), d))
    return out


#: name -> predictor(priors, sample) -> events; the order is the report's column order.
BASELINES: dict[str, Callable[[TrainPriors, dict], list[dict]]] = {
    "all classes": all_classes,
    "most frequent class": most_frequent_class,
    "random (train priors, seed 0)": random_intervals,
}

#: One line each, for the report: what a baseline predicts without looking at the video.
DESCRIPTIONS = {
    "all classes": "every class once per clip, at the train mean position and duration (no video seen)",
    "most frequent class": "the train split's most frequent class once per clip, at the mean position (no video seen)",
    "random (train priors, seed 0)": "random intervals drawn from the train class, count and duration frequencies "
                                     "(no video seen)",
}


def answer(task: str, target, events: list[dict]) -> str:
    """The answer text a predictor that 'sees' ``events`` gives to a sample of ``task``."""
    if task == "events":
        return prompts.format_events(events)
    asked = target["event"]
    if task == prompts.FREE_TEXT_TASK:  # a described moment: its class is what the description gives away
        hit = next((e for e in events if e["event"] == asked), None)
        return prompts.format_free_grounding((hit["start_time"], hit["end_time"]) if hit else None, asked)
    hit = next((e for e in events if e["event"] == asked), None)
    return prompts.format_grounding(asked, (hit["start_time"], hit["end_time"]) if hit else None)


def baseline_records(name: str, pri: TrainPriors, samples: Sequence[dict]) -> list[dict]:
    """``run_predictor``-style records of baseline ``name`` on ``samples``."""
    predict = BASELINES[name]
    return [{"id": s["id"], "clip_id": s["clip_id"], "task": s["task"], "target": s["target"],
             "raw": answer(s["task"], s["target"], predict(pri, s))} for s in samples]
