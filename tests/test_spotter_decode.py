"""Spotter decoding and targets on hand-made score sequences: peaks, NMS, intervals, video edges."""

import numpy as np
import pytest

from football_assets.core.events import EVENT_CLASSES
from football_assets.core.spotter import decode
from football_assets.core.spotter.targets import membership_targets, spot_targets

C = len(EVENT_CLASSES)
GOAL, FOUL = EVENT_CLASSES.index("Goal"), EVENT_CLASSES.index("Foul")


def scores(n, **cols):
    a = np.zeros((n, C))
    for name, values in cols.items():
        a[:, EVENT_CLASSES.index(name.replace("_", " "))] = values
    return a


def test_peaks_include_video_edges_and_plateaus_peak_once():
    assert decode.find_peaks([0.9, 0.2, 0.1, 0.3, 0.8]) == [0, 4]
    assert decode.find_peaks([0.1, 0.5, 0.5, 0.1]) == [2]
    assert decode.find_peaks([0.1, 0.5, 0.2], min_score=0.6) == []
    assert decode.find_peaks([]) == []


def test_nms_keeps_the_stronger_of_two_close_peaks_per_class():
    goal = [0, 0.2, 0.9, 0.3, 0.6, 0.1, 0, 0, 0, 0, 0, 0.7]  # peaks at 2 (0.9), 4 (0.6), 11 (0.7)
    foul = [0, 0, 0, 0.1, 0.5, 0.1, 0, 0, 0, 0, 0, 0]  # same frame as a goal peak: other class, kept
    out = decode.spots(scores(12, Goal=goal, Foul=foul), fps=4, nms_window_s=1.0)
    got = [(s["event"], s["frame"], round(s["confidence"], 2)) for s in out]
    assert got == [("Goal", 2, 0.9), ("Foul", 4, 0.5), ("Goal", 11, 0.7)]
    assert out[0]["time"] == pytest.approx(2.5 / 4) and out[0]["start_time"] == out[0]["end_time"] == out[0]["time"]
    wide = decode.spots(scores(12, Goal=goal), fps=4, nms_window_s=3.0)  # 12 frames: 11 is 9 frames from 2
    assert [s["frame"] for s in wide] == [2]


def test_spots_in_soccernet_submission_form():
    out = decode.spots(scores(400, Goal=np.eye(400)[250] * 0.75), fps=4)
    sub = decode.soccernet_predictions(out, "match.mp4")
    assert sub["predictions"] == [{"gameTime": "1 - 01:02", "label": "Goal", "position": "62625", "half": "1",
                                   "confidence": "0.75"}]


def test_intervals_from_membership_runs_with_spot_confidence_and_edges():
    member = scores(12, Goal=[1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], Foul=[0, 0, 0, 0.6, 0.7, 0.6, 0, 0, 0, 0, 0, 0])
    spot = scores(12, Goal=[0.8, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.3], Foul=[0, 0, 0, 0, 0.4, 0, 0, 0, 0, 0, 0, 0])
    out = decode.intervals(member, 4, spot, threshold=0.35, duration=2.9)
    assert out == [{"event": "Goal", "start_time": 0.0, "end_time": 0.5, "confidence": 0.8},
                   {"event": "Foul", "start_time": 0.75, "end_time": 1.5, "confidence": 0.4}]
    # the late goal run (conf 0.3) is below the threshold; lowered, it shows, clipped to the duration
    low = decode.intervals(member, 4, spot, threshold=0.2, duration=2.9)
    assert low[-1] == {"event": "Goal", "start_time": 2.5, "end_time": 2.9, "confidence": 0.3}


def test_bad_scores_are_rejected_by_name():
    with pytest.raises(decode.ScoreShapeError, match=r"spot scores: expected shape \(frames, 8\)"):
        decode.spots(np.zeros((5, 3)), 4)
    with pytest.raises(decode.ScoreShapeError, match="membership scores: scores must lie in"):
        decode.intervals(np.full((5, C), 1.5), 4)


def test_targets_round_trip_through_decoding():
    events = [{"event": "Goal", "start_time": 1.0, "end_time": 3.0}, {"event": "Foul", "start_time": 5.25, "end_time": 7.5}]
    spot = spot_targets(events, 32, 4.0)
    member = membership_targets(events, 32, 4.0)
    assert spot.shape == (32, C + 1) and np.allclose(spot.sum(1), 1)
    assert spot[8, GOAL] == 1 and 0 < spot[7, GOAL] < 1 and spot[11, GOAL] == 0  # centre 2.0 s = frame 8
    assert decode.intervals(member, 4.0, spot[:, :-1], threshold=0.5) == [
        {"event": "Goal", "start_time": 1.0, "end_time": 3.0, "confidence": 1.0},
        {"event": "Foul", "start_time": 5.25, "end_time": 7.5, "confidence": 1.0}]
    got = decode.spots(spot[:, :-1], 4.0, min_score=0.5)
    assert [(s["event"], s["frame"]) for s in got] == [("Goal", 8), ("Foul", 25)]


def test_threshold_is_chosen_for_event_f1():
    truth = [{"event": "Goal", "start_time": 0.0, "end_time": 1.0}]
    member = scores(8, Goal=[1, 1, 1, 1, 0, 0, 0, 0], Foul=[0, 0, 0, 0, 0, 1, 1, 0])
    spot = scores(8, Goal=[0.9, 0, 0, 0, 0, 0, 0, 0], Foul=[0, 0, 0, 0, 0, 0.3, 0, 0])
    best = decode.choose_threshold([(truth, spot, member, 4.0)])
    assert best["f1"] == 1.0 and 0.3 < best["threshold"] <= 0.9


def test_proposal_threshold_is_the_highest_that_keeps_the_asked_recall():
    """Four val events whose best nearby spot scores 0.9, 0.7, 0.4 and 0.2 (4 fps): a threshold for 75 %
    recall is 0.40 (0.41 would lose the third); for 100 % it is 0.20; never above the interval threshold."""
    n, fps = 80, 4.0
    peaks = {5: 0.9, 25: 0.7, 45: 0.4, 65: 0.2}
    goal = np.zeros(n)
    for i, v in peaks.items():
        goal[i] = v
    truth = [{"event": "Goal", "start_time": i / fps - 0.5, "end_time": i / fps + 0.5} for i in peaks]
    clips = [(truth, scores(n, Goal=goal), np.zeros((n, C)), fps)]
    assert decode.choose_proposal_threshold(clips, recall=0.75) == {"threshold": 0.4, "recall": 0.75, "n_events": 4}
    assert decode.choose_proposal_threshold(clips, recall=1.0)["threshold"] == 0.2
    assert decode.choose_proposal_threshold(clips, recall=0.5, ceiling=0.3)["threshold"] == 0.3
    # a spot outside the event (+- 1 s margin) does not count for it
    far = [{"event": "Goal", "start_time": 18.0, "end_time": 18.5}]
    assert decode.choose_proposal_threshold([(far, scores(n, Goal=goal), np.zeros((n, C)), fps)])["recall"] == 0.0
