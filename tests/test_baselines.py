"""The trivial predictors every report shows: fitted on train only, scored with the model's own code."""

import pytest

from football_assets.core import prompts
from football_assets.core.evaluation import baselines, scoring
from football_assets.core.events import EVENT_CLASSES


def ev(cls, s, e, d=""):
    return {"event": cls, "start_time": s, "end_time": e, "description": d}


def sample(i, target, task="events", duration=8.0):
    return {"id": f"c{i}:{task}", "clip_id": f"c{i}", "task": task, "target": target, "duration": duration}


TRAIN = [
    sample(0, [ev("Goal", 1.0, 3.0, "Red number 7 scores in the left goal."), ev("Foul", 5.0, 7.0, "Foul on blue 3.")]),
    sample(1, [ev("Goal", 2.0, 4.0, "Red number 9 scores in the right goal.")]),
    sample(2, [ev("Goal", 3.0, 5.0, "Blue number 7 scores in the left goal.")]),
    sample(3, []),
    sample(0, {"event": "Goal", "start_time": 1.0, "end_time": 3.0}, task="grounding"),  # not used for priors
]


def test_priors_come_from_the_train_events_only():
    pri = baselines.fit_priors(TRAIN)
    assert pri.class_counts == {"Goal": 3, "Foul": 1} and pri.most_frequent == "Goal"
    assert pri.events_per_clip == {2: 1, 1: 2, 0: 1}
    assert pri.mean_start == pytest.approx(11 / 4) and pri.mean_duration == pytest.approx(2.0)
    # the template prior is the medoid: the sentence sharing most with the other goal descriptions
    assert pri.descriptions["Goal"] == "Red number 7 scores in the left goal."
    with pytest.raises(ValueError, match="train split has no events samples"):
        baselines.fit_priors([TRAIN[-1]])


def test_trivial_predictors_and_their_scores():
    pri = baselines.fit_priors(TRAIN)
    clip = sample(9, [ev("Goal", 2.5, 4.5, "x"), ev("Corner", 5.0, 7.0, "y")])
    every = baselines.all_classes(pri, clip)
    assert [e["event"] for e in every] == list(EVENT_CLASSES)
    assert {(e["start_time"], e["end_time"]) for e in every} == {(2.8, 4.8)}  # train mean start 2.75, duration 2
    assert baselines.most_frequent_class(pri, clip) == [ev("Goal", 2.8, 4.8, pri.descriptions["Goal"])]
    # all classes: presence precision 2/8, recall 1; the Goal at 2.8-4.8 overlaps 2.5-4.5 with tIoU 1.7/2.3 >= 0.5
    m = scoring.score_records(baselines.baseline_records("all classes", pri, [clip]), prior_descriptions=pri.descriptions)
    assert m["presence"]["f1"] == pytest.approx(2 * 0.25 / 1.25)
    assert m["detection"]["micro"]["tp"] == 1 and m["detection"]["micro"]["fp"] == 7
    # the model-free description is the template prior, so the prior columns equal the description columns
    assert m["descriptions"]["rougeL"] == pytest.approx(m["descriptions"]["prior_rougeL"])


def test_random_baseline_is_seeded_per_clip_and_follows_the_priors():
    pri = baselines.fit_priors(TRAIN)
    clips = [sample(i, []) for i in range(400)]
    a = [baselines.random_intervals(pri, c) for c in clips]
    assert a == [baselines.random_intervals(pri, c) for c in clips]
    assert a != [baselines.random_intervals(pri, c, seed=1) for c in clips]
    events = [e for evs in a for e in evs]
    assert {e["event"] for e in events} == {"Goal", "Foul"}
    assert 0.6 < sum(e["event"] == "Goal" for e in events) / len(events) < 0.9  # train: 3 goals in 4 events
    assert all(0 <= e["start_time"] < e["end_time"] <= 8.0 for e in events)
    assert 0.15 < sum(not evs for evs in a) / len(a) < 0.35  # 1 train clip in 4 is empty


def test_grounding_answers_follow_the_baseline_events():
    pri = baselines.fit_priors(TRAIN)
    asked = [sample(5, {"event": "Goal", "start_time": 2.0, "end_time": 4.0}, task="grounding"),
             sample(5, {"event": "Corner", "occurs": False}, task="grounding")]
    recs = baselines.baseline_records("most frequent class", pri, asked)
    assert [prompts.parse_answer("grounding", r["raw"]) for r in recs] == [
        {"event": "Goal", "start_time": 2.8, "end_time": 4.8}, {"event": "Corner", "occurs": False}]
    # the goal is timed at the train mean: tIoU 1.2 / 2.8 < 0.5 is wrong; the absent corner is right
    assert scoring.score_records(recs)["grounding"]["accuracy"] == pytest.approx(0.5)
