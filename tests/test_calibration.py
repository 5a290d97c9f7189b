"""Calibration of event confidences and the confidence measures of the report (no model)."""

import math

import numpy as np
import pytest

from football_assets.core import metrics, prompts
from football_assets.core.annotation import ls_export
from football_assets.core.evaluation import scoring
from football_assets.core.inference import calibration, confidence


def _val_events(seed=0, n=400):
    """Overconfident raw scores: the true-positive rate rises with the logit, but far slower than sigmoid."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-2, 12, n)
    correct = rng.random(n) < 1 / (1 + np.exp(-(z / 4 - 1)))
    logps = [-math.log1p(math.exp(-x)) for x in z]  # log sigmoid(z)
    return logps, correct, z


def test_calibration_never_changes_the_ranking_and_lowers_ece():
    logps, correct, z = _val_events()
    cal = calibration.fit(logps, correct, "v1")
    assert cal.temperature > 1.5  # the raw scores were overconfident
    test_logps, test_correct, _ = _val_events(seed=1)
    raw = np.exp(test_logps)
    after = np.array(cal.apply(test_logps))
    assert np.all((after > 0) & (after <= 1))
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(after[order]) > 0)  # strictly increasing: no pair swapped, none merged
    assert metrics.auroc(after, test_correct) == pytest.approx(metrics.auroc(raw, test_correct))
    ece_raw = calibration.reliability(raw, test_correct)["ece"]
    ece_cal = calibration.reliability(after, test_correct)["ece"]
    assert ece_cal < 0.1 < ece_raw


def test_val_that_ranks_false_positives_higher_flattens_the_map_to_its_precision():
    # an overfit model: its surest events are its timing errors; the map must keep the order (strictly
    # increasing) yet say val's precision, not the bias of a fit whose slope was clipped afterwards
    rng = np.random.default_rng(3)
    z = rng.uniform(1, 6, 60)
    correct = z < 2.5  # the true positives are the least confident
    logps = [-math.log1p(math.exp(-x)) for x in z]
    cal = calibration.fit(logps, correct, "v1")
    after = np.array(cal.apply(logps))
    assert np.all(np.diff(after[np.argsort(z)]) > 0)
    assert after.mean() == pytest.approx(correct.mean(), abs=0.03)
    assert calibration.reliability(after, correct)["ece"] < 0.1 < calibration.reliability(np.exp(logps), correct)["ece"]


def test_confidences_within_1e17_of_one_keep_their_order():
    logps = [-1e-18, -1e-25, -1e-30, -0.5, -0.1]
    z = [calibration.logit_from_logp(x) for x in logps]
    assert z[0] < z[1] < z[2] and z[3] < z[4] < z[0]  # exp() of each would be 1.0 for the first three
    cal = calibration.fit([-2.0, -1.0, -0.5, -1e-6, -1e-12, -1e-20], [0, 0, 1, 0, 1, 1])
    assert cal.temperature > 0


def test_fit_with_one_kind_of_event_is_the_identity_and_save_load_checks_the_version(tmp_path):
    cal = calibration.fit([-0.1, -0.2], [True, True], "v1")
    assert (cal.temperature, cal.bias) == (1.0, 0.0) and "identity" in cal.method
    assert cal.apply_one(math.log(0.3)) == pytest.approx(0.3)
    calibration.save(tmp_path, calibration.Calibration(temperature=2.0, bias=-0.5, model_version="v1"))
    (tmp_path / "train_meta.json").write_text('{"model_version": "v1"}')
    assert calibration.load(tmp_path).temperature == 2.0
    (tmp_path / "train_meta.json").write_text('{"model_version": "v2"}')  # retrained: the old fit does not apply
    assert calibration.load(tmp_path) is None


def test_auroc_and_pr_curve_and_reliability_by_hand():
    assert metrics.auroc([0.9, 0.8, 0.3], [True, False, True]) == pytest.approx(0.5)
    assert metrics.auroc([0.9, 0.9], [True, False]) == pytest.approx(0.5)
    assert metrics.auroc([0.9], [True]) is None
    pr = calibration.pr_curve([0.9, 0.8, 0.3], [True, False, True], n_true=4)
    assert pr["precision"] == pytest.approx([1.0, 0.5, 2 / 3]) and pr["recall"] == pytest.approx([0.25, 0.25, 0.5])
    assert calibration.pr_curve([], [], n_true=2)["recall"] == []
    rel = calibration.reliability([0.95, 0.95, 0.15], [True, False, False])
    assert rel["ece"] == pytest.approx(2 / 3 * 0.45 + 1 / 3 * 0.15)


def _answer(text, logprob_of):
    """A ScoredAnswer with one token per character; ``logprob_of(char index)``."""
    return confidence.ScoredAnswer(text, list(range(len(text))), [logprob_of(i) for i in range(len(text))],
                                   [(i, i + 1) for i in range(len(text))])


def test_event_scores_take_the_item_opening_and_class_tokens_and_times_apart():
    events = [{"event": "Goal", "start_time": 1.0, "end_time": 2.5, "description": "a"},
              {"event": "Foul", "start_time": 3.0, "end_time": 4.0, "description": "b"}]
    text = prompts.format_events(events)
    goal, foul = text.index("Goal"), text.index("Foul")
    second_open = text.index("{", goal)
    lp = {goal: math.log(0.5), second_open: math.log(0.8), foul + 2: math.log(0.25), text.index("2.5"): math.log(0.9)}
    out = confidence.score_answer(_answer(text, lambda i: lp.get(i, 0.0)))
    assert [e["event"] for e in out["events"]] == ["Goal", "Foul"]
    assert out["events"][0]["raw_confidence"] == pytest.approx(0.5)
    assert out["events"][1]["raw_confidence"] == pytest.approx(0.8 * 0.25)
    assert out["events"][0]["time_confidence"] == pytest.approx(0.9) and out["events"][1]["time_confidence"] == 1.0
    assert out["answer_confidence"] == pytest.approx(0.5 * 0.8 * 0.25 * 0.9)
    empty = confidence.score_answer(_answer("[]", lambda i: math.log(0.7)))
    assert empty["events"] == [] and empty["answer_confidence"] == pytest.approx(0.49)


def test_report_scores_confidences_beside_the_unchanged_figures():
    goal = {"event": "Goal", "start_time": 1.0, "end_time": 3.0, "description": "x"}
    far = {"event": "Goal", "start_time": 5.0, "end_time": 6.0, "description": "x"}
    recs = []
    for i, (pred, logps) in enumerate([([goal], [-0.05]), ([far], [-1.5]), ([goal, far], [-0.1, -2.0])]):
        recs.append({"id": f"s{i}", "clip_id": f"c{i}", "task": "events", "target": [goal], "raw": prompts.format_events(pred),
                     "scores": [{"raw_logp": x, "raw_confidence": math.exp(x), "time_confidence": 1.0} for x in logps]})
    plain = scoring.score_records([{k: v for k, v in r.items() if k != "scores"} for r in recs])
    m = scoring.score_records(recs, cal=calibration.Calibration(temperature=2.0))
    h = scoring.headline(m)
    assert h["tight_a_mAP"] == scoring.headline(plain)["tight_a_mAP"]  # the old figure: every confidence at 1.0
    assert h["conf_auroc"] == 1.0 and h["tight_a_mAP_conf"] > h["tight_a_mAP"]
    assert h["ece_raw"] is not None and h["ece_calibrated"] is not None and h["ece_raw"] != h["ece_calibrated"]
    assert m["confidence"]["pr_curves"]["Goal"]["precision"] == pytest.approx([1.0, 1.0, 2 / 3, 0.5])


def test_report_tells_wrong_events_from_badly_placed_ones():
    """A sure event placed badly (overlapping, tIoU < 0.5) and an unsure event of a class that is not there:
    at tIoU 0.5 both are false positives, at any overlap only the wrong class is."""
    goal = {"event": "Goal", "start_time": 1.0, "end_time": 3.0, "description": "x"}
    late = {"event": "Goal", "start_time": 2.5, "end_time": 5.0, "description": "x"}  # tIoU 0.125
    foul = {"event": "Foul", "start_time": 1.0, "end_time": 3.0, "description": "x"}
    recs = []
    for i, (pred, logps) in enumerate([([goal], [-0.2]), ([late], [-0.05]), ([foul], [-1.0])]):
        recs.append({"id": f"s{i}", "clip_id": f"c{i}", "task": "events", "target": [goal], "raw": prompts.format_events(pred),
                     "scores": [{"raw_logp": x, "raw_confidence": math.exp(x), "time_confidence": 1.0} for x in logps]})
    conf = scoring.score_records(recs)["confidence"]
    assert conf["auroc"] == 0.5  # the true positive sits between a surer and a less sure false positive
    assert conf["auroc_overlap"] == 1.0  # both placed events rank above the wrong class
    assert scoring.headline(scoring.score_records(recs))["conf_auroc_overlap"] == 1.0


def test_label_studio_task_score_is_the_least_certain_event_or_no_event_probability():
    events = [{"event": "Goal", "start_time": 1.0, "end_time": 2.0, "confidence": 0.9},
              {"event": "Foul", "start_time": 3.0, "end_time": 4.0, "confidence": 0.4}]
    assert ls_export.clip_score(events) == 0.4
    assert ls_export.clip_score([], [0.97, 0.6]) == 0.6
    pred = ls_export.prediction(events, 4.0, "v1")
    assert pred["score"] == 0.4 and [r["score"] for r in pred["result"] if "score" in r] == [0.9, 0.4]
    assert ls_export.prediction([], 4.0, "v1", 0.6)["score"] == 0.6
