"""Metric correctness: hand-computed cases, and SoccerNet average-mAP against the official package."""

import json
import random

import pytest

from football_assets.core import metrics
from football_assets.core.events import EVENT_CLASSES


def ev(event, start, end, description="", confidence=None):
    d = {"event": event, "start_time": start, "end_time": end, "description": description}
    if confidence is not None:
        d["confidence"] = confidence
    return d


def test_tiou_hand_values():
    assert metrics.tiou(ev("Goal", 1, 3), ev("Goal", 1.5, 3)) == pytest.approx(0.75)
    assert metrics.tiou(ev("Goal", 0, 4), ev("Goal", 2, 6)) == pytest.approx(2 / 6)
    assert metrics.tiou(ev("Goal", 0, 1), ev("Goal", 1, 2)) == 0.0


def test_detection_scores_hand_computed():
    gt = [ev("Goal", 1, 3), ev("Foul", 4, 6)]
    pred = [ev("Goal", 1.5, 3), ev("Foul", 6, 7), ev("Corner", 0, 1)]
    s = metrics.detection_scores([(gt, pred)], threshold=0.5)
    goal = s["per_class"]["Goal"]
    assert (goal["tp"], goal["fp"], goal["fn"], goal["f1"]) == (1, 0, 0, 1.0)
    assert (s["per_class"]["Foul"]["fp"], s["per_class"]["Foul"]["fn"]) == (1, 1)
    assert s["per_class"]["Corner"]["precision"] == 0.0
    assert s["micro"]["precision"] == pytest.approx(1 / 3)
    assert s["micro"]["recall"] == pytest.approx(1 / 2)
    assert s["micro"]["f1"] == pytest.approx(0.4)
    assert sorted(s["macro_classes"]) == ["Corner", "Foul", "Goal"]
    assert s["macro"]["precision"] == pytest.approx(1 / 3)
    assert s["macro"]["f1"] == pytest.approx(1 / 3)
    assert s["mean_tiou"] == pytest.approx(0.75)


def test_matching_is_one_to_one_and_greedy_by_tiou():
    gt = [ev("Goal", 0, 4)]
    pred = [ev("Goal", 0, 3.5), ev("Goal", 0, 4)]
    assert metrics.match_events(gt, pred) == [(0, 1, 1.0)]
    s = metrics.detection_scores([(gt, pred)])
    assert (s["micro"]["tp"], s["micro"]["fp"], s["micro"]["fn"]) == (1, 1, 0)
    # a different class never matches, however well it overlaps
    assert metrics.match_events([ev("Goal", 0, 4)], [ev("Corner", 0, 4)]) == []


def test_threshold_is_inclusive_and_configurable():
    gt, pred = [ev("Foul", 0, 4)], [ev("Foul", 0, 2)]
    assert metrics.detection_scores([(gt, pred)], threshold=0.5)["micro"]["tp"] == 1
    assert metrics.detection_scores([(gt, pred)], threshold=0.6)["micro"]["tp"] == 0


def test_presence_and_confusion():
    gt = [ev("Goal", 0, 2), ev("Foul", 4, 6)]
    pred = [ev("Shot on target", 0, 2), ev("Corner", 6.5, 7.5), ev("Goal", 7, 8)]
    pres = metrics.presence_scores([(gt, pred)])
    # true {Goal, Foul}, predicted {Shot on target, Corner, Goal}: tp 1, fp 2, fn 1
    assert (pres["tp"], pres["fp"], pres["fn"]) == (1, 2, 1)
    assert pres["f1"] == pytest.approx(0.4)
    cm = metrics.confusion_matrix([(gt, pred)])
    labels, m = cm["labels"], cm["matrix"]
    at = lambda r, c: m[labels.index(r)][labels.index(c)]  # noqa: E731
    assert at("Goal", "Shot on target") == 1
    assert at("Foul", metrics.NONE) == 1
    assert at(metrics.NONE, "Corner") == 1 and at(metrics.NONE, "Goal") == 1
    assert sum(map(sum, m)) == 4


def test_description_scores():
    same = metrics.description_scores([("Red scores from close range", "Red scores from close range")])
    assert same["rougeL"] == pytest.approx(1.0) and same["bleu"] == pytest.approx(100.0)
    diff = metrics.description_scores([("a yellow card for blue", "Red scores from close range")])
    assert diff["rougeL"] == 0.0 and diff["bleu"] < 5
    assert metrics.description_scores([])["rougeL"] is None


def test_grounding_accuracy():
    items = [
        ({"event": "Goal", "start_time": 1, "end_time": 3}, {"event": "Goal", "start_time": 1.2, "end_time": 3}),
        ({"event": "Goal", "start_time": 1, "end_time": 3}, {"event": "Goal", "start_time": 5, "end_time": 6}),
        ({"event": "Corner", "occurs": False}, {"event": "Corner", "occurs": False}),
        ({"event": "Corner", "occurs": False}, {"event": "Corner", "start_time": 0, "end_time": 1}),
        ({"event": "Foul", "start_time": 1, "end_time": 3}, None),
    ]
    g = metrics.grounding_accuracy(items)
    assert (g["correct"], g["n"]) == (2, 5) and g["accuracy"] == pytest.approx(0.4)


def test_soccernet_map_hand_computed():
    gts = {"v": [ev("Goal", 10, 12)]}
    preds = {"v": [ev("Goal", 11.5, 12.5, confidence=0.9)]}  # centre 12 vs 11: 1 s off
    tight = metrics.soccernet_average_map(gts, preds, metrics.TIGHT_TOLERANCES)
    # within +-delta/2 only from delta = 2 s: AP(Goal) = 0,1,1,1,1 -> trapezoid (0.5+1+1+1)/4 = 0.875
    assert tight["a_mAP_per_class"]["Goal"] == pytest.approx(0.875)
    assert tight["a_mAP"] == pytest.approx(0.875 / len(EVENT_CLASSES))  # classes without truth score 0
    assert tight["classes_with_truth"] == ["Goal"]
    # a wrong-class prediction earns nothing
    assert metrics.soccernet_average_map(gts, {"v": [ev("Foul", 10, 12)]})["a_mAP"] == 0.0


# ---------------------------------------------------------------------------------------------
# Agreement with the official implementation (SoccerNet pip package, test-only dependency)


def _random_case(seed: int):
    rng = random.Random(seed)
    gts, preds = {}, {}
    for v in range(5):
        dur = rng.choice([8.0, 90.0, 600.0])
        g, p = [], []
        for _ in range(rng.randint(0, 12)):
            c = rng.choice(EVENT_CLASSES[:5])
            s = round(rng.uniform(0, dur - 2) * 4) / 4
            g.append(ev(c, s, s + rng.choice([0.5, 1.0, 2.0, 3.25])))
        for e in g:  # noisy copies of true events
            if rng.random() < 0.7:
                shift = rng.uniform(-6, 6)
                c = e["event"] if rng.random() < 0.8 else rng.choice(EVENT_CLASSES)
                p.append(ev(c, max(0, e["start_time"] + shift), max(0.5, e["end_time"] + shift),
                            confidence=round(rng.random(), 3)))
        for _ in range(rng.randint(0, 6)):  # spurious ones
            s = rng.uniform(0, dur - 1)
            p.append(ev(rng.choice(EVENT_CLASSES), s, s + 1, confidence=round(rng.random(), 3)))
        gts[f"clip{v}"], preds[f"clip{v}"] = g, p
    return gts, preds


def _official(tmp_path, gts, preds, metric):
    from SoccerNet.Evaluation.ActionSpotting import evaluate

    labels_root, preds_root = tmp_path / "labels", tmp_path / "preds"
    for video in gts:
        for root, name, key, items in ((labels_root, "Labels-v2.json", "annotations", gts[video]),
                                       (preds_root, "results_spotting.json", "predictions", preds[video])):
            d = root / "league" / "season" / video
            d.mkdir(parents=True, exist_ok=True)
            rows = []
            for e in items:
                t = metrics.spot_time(e)
                ms = int(round(t * 1000))
                row = {"gameTime": f"1 - {int(t // 60):02d}:{int(t % 60):02d}", "label": e["event"],
                       "position": str(ms), "half": "1"}
                if key == "predictions":
                    row["confidence"] = float(e.get("confidence", 1.0))
                rows.append(row)
            (d / name).write_text(json.dumps({key: rows}))
    return evaluate(SoccerNet_path=str(labels_root), Predictions_path=str(preds_root),
                    prediction_file="results_spotting.json", label_files="Labels-v2.json", dataset=None,
                    version=2, framerate=2, metric=metric,
                    EVENT_DICTIONARY={c: i for i, c in enumerate(EVENT_CLASSES)})


@pytest.mark.parametrize("seed", [3])
def test_soccernet_average_map_matches_official_package(tmp_path, seed):
    gts, preds = _random_case(seed)
    assert sum(map(len, gts.values())) > 10 and sum(map(len, preds.values())) > 10
    for metric, tolerances in (("tight", metrics.TIGHT_TOLERANCES), ("loose", metrics.LOOSE_TOLERANCES)):
        official = _official(tmp_path / metric, gts, preds, metric)
        ours = metrics.soccernet_average_map(gts, preds, tolerances)
        assert ours["a_mAP"] == pytest.approx(official["a_mAP"], abs=1e-6), metric
        assert [ours["a_mAP_per_class"][c] for c in EVENT_CLASSES] == pytest.approx(
            list(official["a_mAP_per_class"]), abs=1e-6)
        assert 0 < ours["a_mAP"] < 1


def test_event_metrics_bundle():
    clips = {"a": ([ev("Goal", 1, 3, "Red scores")], [ev("Goal", 1, 3, "Red scores")]),
             "b": ([ev("Foul", 2, 4, "a foul")], [])}
    m = metrics.event_metrics(clips)
    assert m["detection"]["micro"]["f1"] == pytest.approx(2 / 3)
    assert m["presence"]["recall"] == pytest.approx(0.5)
    assert m["descriptions"]["n"] == 1
    assert set(m["soccernet"]) == {"tight", "loose"}
    json.dumps(m)  # the report stores it as JSON
