"""Cascade logic on hand-made inputs: which windows go to the VLM, and the fusion rule."""

import pytest

from football_assets.core.spotter.cascade import fuse, proposal_windows


def spot(t, c, event="Goal"):
    return {"event": event, "time": t, "confidence": c}


def test_windows_cover_confident_spots_once_and_stay_inside_the_video():
    spots = [spot(1.0, 0.9), spot(3.0, 0.8), spot(20.0, 0.2), spot(30.0, 0.7, "Foul"), spot(59.5, 0.6)]
    assert proposal_windows(spots, duration=60.0, threshold=0.5) == [(0.0, 8.0), (26.0, 34.0), (52.0, 60.0)]
    assert proposal_windows(spots, duration=60.0, threshold=0.95) == []
    assert proposal_windows([spot(2.0, 0.9)], duration=5.0, threshold=0.5) == [(0.0, 5.0)]


def test_dense_spots_never_cost_more_windows_than_the_vlm_only_grid():
    import random

    from football_assets.core.inference.analyze import plan_windows

    # a spotter firing every 2 s: the windows tile like the grid (one per 6 s), not one per uncovered spot
    every_2s = [spot(float(t), 0.9) for t in range(0, 60, 2)]
    assert proposal_windows(every_2s, duration=60.0, threshold=0.5) == plan_windows(60.0, 8.0, 2.0)
    # as many windows as the VLM-only grid: the grid itself is sent
    many = [spot(t, 0.9) for t in (3.0, 11.0, 18.5)]
    grid = plan_windows(20.0, 8.0, 2.0)
    assert proposal_windows(many, duration=20.0, threshold=0.5) == [(0.0, 8.0), (7.0, 15.0), (12.0, 20.0)]
    assert proposal_windows(many, duration=20.0, threshold=0.5, grid=grid) == grid
    # two spots 4.5 s apart: the second window overlaps the first by 2 s and still holds the spot 1 s inside
    assert proposal_windows([spot(10.0, 0.9), spot(15.5, 0.9)], duration=60.0, threshold=0.5) == [(6.0, 14.0), (12.0, 20.0)]
    rng = random.Random(0)
    for _ in range(200):
        duration = rng.uniform(9.0, 300.0)
        spots = [spot(rng.uniform(0, duration), rng.random()) for _ in range(rng.randint(1, 120))]
        grid = plan_windows(duration, 8.0, 2.0)
        windows = proposal_windows(spots, duration, 0.3, grid=grid)
        assert len(windows) <= len(grid)
        for s in spots:  # every confident spot lies in a sent window
            if s["confidence"] >= 0.3:
                assert any(a <= s["time"] <= b for a, b in windows), (duration, s)


def test_fusion_takes_time_and_confidence_from_the_spotter_and_words_from_the_vlm():
    s = [{"event": "Goal", "start_time": 10.0, "end_time": 12.5, "confidence": 0.8},
         {"event": "Foul", "start_time": 30.0, "end_time": 32.0, "confidence": 0.6}]
    v = [{"event": "Goal", "start_time": 9.0, "end_time": 11.0, "description": "A header.", "confidence": 1.0},
         {"event": "Corner", "start_time": 40.0, "end_time": 42.0, "description": "Short corner."}]
    out = fuse(s, v)
    assert [(e["event"], e["start_time"], e["confidence"], e["description"]) for e in out] == [
        ("Goal", 10.0, 0.8, "A header."), ("Foul", 30.0, 0.3, ""), ("Corner", 40.0, 0.5, "Short corner.")]
    assert out[0]["sources"] == {"event": "both", "start_time": "spotter", "end_time": "spotter",
                                 "confidence": "spotter", "description": "vlm"}
    assert out[1]["sources"]["description"] is None and out[2]["sources"]["start_time"] == "vlm"


def test_spotter_and_adapter_from_different_splits_are_refused(tmp_path):
    import json

    from football_assets.core.spotter.cascade import CascadeMismatchError, check_same_splits

    for name, version in (("spotter", "v1"), ("adapter", "v2"), ("adapter_ok", "v1")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train_meta.json").write_text(json.dumps({"splits_version": version}))
    assert check_same_splits(tmp_path / "spotter", tmp_path / "adapter_ok") == "v1"
    with pytest.raises(CascadeMismatchError, match="trained on splits 'v1' but adapter .* on 'v2'"):
        check_same_splits(tmp_path / "spotter", tmp_path / "adapter")
    with pytest.raises(CascadeMismatchError, match="no spotter at .*train_meta.json missing"):
        check_same_splits(tmp_path / "nothing", tmp_path / "adapter")


def test_vlm_only_events_are_kept_at_the_bar_and_agreed_events_always():
    s = [{"event": "Goal", "start_time": 10.0, "end_time": 12.5, "confidence": 0.8}]
    v = [{"event": "Goal", "start_time": 9.0, "end_time": 11.0, "description": "A header.", "confidence": 0.1},
         {"event": "Corner", "start_time": 40.0, "end_time": 42.0, "description": "Short.", "confidence": 0.4},
         {"event": "Foul", "start_time": 50.0, "end_time": 52.0, "description": "Late.", "confidence": 0.9}]
    assert [e["event"] for e in fuse(s, v)] == ["Goal", "Corner", "Foul"]
    kept = fuse(s, v, vlm_only_min_confidence=0.5)
    assert [(e["event"], e["description"]) for e in kept] == [("Goal", "A header."), ("Foul", "Late.")]
    assert [e["event"] for e in fuse(s, v, vlm_only_min_confidence=1.0)] == ["Goal"]


def test_val_chooses_the_lowest_bar_with_the_best_f1():
    from football_assets.core.spotter.cascade import VLM_ONLY_BARS, choose_vlm_only_bar

    goal = {"event": "Goal", "start_time": 2.0, "end_time": 4.0}
    foul = {"event": "Foul", "start_time": 5.0, "end_time": 7.0}
    clips = [  # the spotter finds the goal; the VLM also sees the foul (0.7) and invents a corner (0.3)
        ([goal, foul], [{**goal, "confidence": 0.9}],
         [{**foul, "confidence": 0.7}, {"event": "Corner", "start_time": 0.0, "end_time": 1.0, "confidence": 0.3}]),
        ([goal], [{**goal, "confidence": 0.9}], [{"event": "Corner", "start_time": 6.0, "end_time": 8.0, "confidence": 0.2}]),
    ]
    bar, f1 = choose_vlm_only_bar(clips)
    assert set(f1) == set(VLM_ONLY_BARS)
    assert bar == 0.35  # above both inventions, below the foul: 3 of 3 found, none false
    # all kept: 3 TP + 2 FP; none kept: 2 TP + 1 FN
    assert (f1[bar], f1[0.0], f1[1.0]) == pytest.approx((1.0, 0.75, 0.8))
    assert choose_vlm_only_bar([(c[0], c[1], []) for c in clips])[0] == 0.0  # nothing to drop: the lowest bar


def test_fusion_rule_is_read_back_only_for_its_adapter_and_spotter(tmp_path):
    from football_assets.core.spotter.cascade import FUSION_FILE, FusionRule, load_rule, save_rule

    assert load_rule(tmp_path, "tiny-a", "spotter-a") is None and load_rule(None, "tiny-a", "spotter-a") is None
    save_rule(tmp_path, FusionRule(0.45, "tiny-a", "spotter-a", 0.9, 0.8, 12))
    assert (tmp_path / FUSION_FILE).exists()
    assert load_rule(tmp_path, "tiny-a", "spotter-a") == FusionRule(0.45, "tiny-a", "spotter-a", 0.9, 0.8, 12)
    assert load_rule(tmp_path, "tiny-b", "spotter-a") is None  # retrained adapter: its rule is chosen again
    assert load_rule(tmp_path, "tiny-a", "spotter-b") is None  # another spotter: likewise
