"""Inference command: windows, per-class NMS, overlay and bad-input errors (real ffmpeg)."""

import json

import numpy as np
import pytest

from football_assets import cli
from football_assets.core.inference import analyze
from football_assets.core.ingest.video import probe, read_frames
from tests.fixtures_evaluation import FlashPredictor, ffmpeg, flash_video


def test_plan_windows_cover_video_with_overlap():
    assert analyze.plan_windows(30, 8, 2) == [(0, 8), (6, 14), (12, 20), (18, 26), (22, 30)]
    assert analyze.plan_windows(5, 8, 2) == [(0.0, 5)]
    assert analyze.plan_windows(8.1, 8, 2) == [(0, 8), (0.25, 8.1)]
    w = analyze.plan_windows(2700, 8, 2)  # a 45 min half
    assert w[-1][1] == 2700 and all(b[0] < a[1] for a, b in zip(w, w[1:]))
    with pytest.raises(ValueError, match="overlap"):
        analyze.plan_windows(30, 8, 8)


def test_nms_keeps_one_event_per_class_and_place():
    win = lambda s, e, c=1.0, edge=5.0, cls="Goal": {"event": cls, "start_time": s, "end_time": e,  # noqa: E731
                                                     "description": "", "confidence": c, "_edge": edge}
    kept = analyze.nms([win(13, 14, edge=0.5), win(13, 15, edge=3), win(13, 15, cls="Foul"), win(20, 21, 0.4)])
    assert [(e["event"], e["start_time"], e["end_time"]) for e in kept] == [
        ("Goal", 13, 15), ("Foul", 13, 15), ("Goal", 20, 21)]
    assert all("_edge" not in e for e in kept)
    # higher confidence wins over distance from the edge
    assert analyze.nms([win(13, 14, c=0.9, edge=0.1), win(13, 15, c=0.5)])[0]["end_time"] == 14


def test_shift_events_to_video_time():
    out = analyze.shift_events([{"event": "Corner", "start_time": 1, "end_time": 9}], (6, 14), 30)
    assert (out[0]["start_time"], out[0]["end_time"], out[0]["confidence"]) == (7, 14, 1.0)


def test_long_video_windows_and_nms_find_the_event_once(tmp_path):
    video = flash_video(tmp_path / "half.mp4", 30, (13, 15), rate="30")
    predictor = FlashPredictor()
    result = analyze.analyze_video(video, predictor, "v-test", window_s=8, overlap_s=2, progress=False)
    assert result["model_version"] == "v-test" and result["video"] == str(video.resolve())
    assert predictor.calls == [32, 32, 32, 32, 32]  # five 8 s windows at 4 fps
    assert [(e["event"], e["start_time"], e["end_time"]) for e in result["events"]] == [("Goal", 13.0, 15.0)]
    assert set(result["events"][0]) == {"event", "start_time", "end_time", "description", "confidence"}
    assert result["events"][0]["confidence"] == 1.0 and result["events"][0]["description"] == "the screen flashes"


def test_overlay_draws_labels_during_events_only(tmp_path):
    video = flash_video(tmp_path / "clip.mp4", 4, (10, 11), size="321x241")  # odd size, stays black
    events = [{"event": "Goal", "start_time": 1.0, "end_time": 2.0, "description": "Red: 1-0 (50%)", "confidence": 0.9},
              {"event": "Foul", "start_time": 1.5, "end_time": 3.0, "description": "it's a foul", "confidence": 0.5}]
    out = tmp_path / "overlay.mp4"
    analyze.draw_overlay(video, events, out)
    info = probe(out)
    assert abs(info.duration - 4) < 0.1 and (info.width, info.height) == (320, 240)
    frames = read_frames(out)  # 25 fps
    lit = frames.reshape(len(frames), -1).max(axis=1) > 100
    assert not lit[:20].any() and lit[30:45].all() and not lit[80:].any()
    rows = np.flatnonzero(frames[40].max(axis=(1, 2)) > 100)  # both labels at t=1.6: two lanes
    assert rows.max() - rows.min() > 25


def _cli(*args) -> int:
    return cli.main(["analyze", *map(str, args)])


def test_cli_bad_video_inputs(tmp_path, capsys):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    for path, why in ((tmp_path / "missing.mp4", "file not found"), (empty, "file is empty"),
                      (junk, "not a readable video")):
        assert _cli(path, "--adapter", tmp_path) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and path.name in err and why in err, err


def test_cli_bad_adapter_inputs(tmp_path, capsys):
    video = flash_video(tmp_path / "clip.mp4", 2, (0.5, 1))
    assert _cli(video, "--adapter", tmp_path / "nope") == 2
    assert "directory does not exist" in capsys.readouterr().err
    bad = tmp_path / "not_adapter"
    bad.mkdir()
    assert _cli(video, "--adapter", bad) == 2
    assert "adapter_config.json missing" in capsys.readouterr().err
    (bad / "adapter_config.json").write_text("{}")
    (bad / "train_meta.json").write_text(json.dumps({"base_model": "tiny", "model_version": "x"}))
    assert _cli(video, "--adapter", bad, "--base", "cosmos-reason1-7b") == 2
    assert "trained on base model 'tiny', not 'cosmos-reason1-7b'" in capsys.readouterr().err
    assert _cli(video, "--no-adapter") == 2
    assert "--no-adapter with --base" in capsys.readouterr().err


def test_cli_rotated_odd_input_is_transcoded(tmp_path):
    src = flash_video(tmp_path / "phone.mp4", 3, (1, 2), size="360x202")
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    result = analyze.analyze_video(rotated, FlashPredictor(), "v", window_s=8, progress=False)
    assert [(e["start_time"], e["end_time"]) for e in result["events"]] == [(1.0, 2.0)]
