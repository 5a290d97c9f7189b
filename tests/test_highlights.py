"""``football-events highlights``: a reel of a real analysis (the review fixture's spotter on a joined 'match'),
its duration and decoding checked with ffprobe, audio kept where the source has it, and the bad inputs.
"""

import json
import subprocess

import pytest

from football_assets import cli
from football_assets.core.ingest.video import probe
from football_assets.core.search.highlights import plan_cuts
from tests.fixtures_evaluation import ffmpeg
from tests.fixtures_review import match_analysis


def _cli(*args) -> int:
    return cli.main(["highlights", *map(str, args)])


def _frames(path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    return int(out.stdout.strip())


def test_reel_of_a_real_analysis_lasts_the_merged_cuts_and_decodes(review_root, tmp_path, capsys):
    _, result = match_analysis(review_root)
    events = result["events"]
    assert len(events) >= 2, "the fixture's spotter found fewer than two events"
    src = tmp_path / "events.json"
    src.write_text(json.dumps(result))
    margin = 1.5
    assert _cli(src, "--out", tmp_path / "reel.mp4", "--margin", margin) == 0
    assert capsys.readouterr().err.startswith(f"{len(events)} events in ")
    info = probe(result["video"])
    cuts = plan_cuts(events, margin, info.duration, info.fps)
    assert len(cuts) < len(events) or all(a["end"] < b["start"] for a, b in zip(cuts, cuts[1:]))
    assert sum(len(c["events"]) for c in cuts) == len(events)
    total = sum(c["end"] - c["start"] for c in cuts)
    reel = probe(tmp_path / "reel.mp4", count_frames=True)
    assert abs(reel.duration - total) <= 1 / info.fps + 1e-6, (reel.duration, total)
    assert reel.decoded_frames == round(total * info.fps) and not reel.decode_errors  # decodes end to end
    assert not reel.has_audio  # the 4 fps clips have none


def test_merged_cuts_and_captions(review_root):
    events = [{"event": "Goal", "start_time": 10.0, "end_time": 12.0, "confidence": 0.9},
              {"event": "Corner", "start_time": 13.0, "end_time": 14.0, "confidence": 0.8},
              {"event": "Foul", "start_time": 30.1, "end_time": 31.0, "confidence": 0.7}]
    cuts = plan_cuts(events, 1.0, 60.0, 4.0, offset=2700.0)
    assert [(c["start"], c["end"]) for c in cuts] == [(9.0, 15.0), (29.0, 32.0)]
    assert cuts[0]["caption"] == "Goal 45:10 · Corner 45:13" and cuts[1]["caption"] == "Foul 45:30"


def test_audio_is_kept_where_the_source_has_it(review_root, tmp_path):
    _, result = match_analysis(review_root)
    with_audio = tmp_path / "match_audio.mp4"
    ffmpeg("-i", result["video"], "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-map", "0:v",
           "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(with_audio))
    src = tmp_path / "events.json"
    src.write_text(json.dumps({**result, "video": str(with_audio)}))
    cls = result["events"][0]["event"]
    assert _cli(src, "--out", tmp_path / "reel.mp4", "--classes", cls, "--margin", 0.5) == 0
    reel = probe(tmp_path / "reel.mp4", count_frames=True)
    kept = [e for e in result["events"] if e["event"] == cls]
    total = sum(c["end"] - c["start"] for c in plan_cuts(kept, 0.5, probe(with_audio).duration, 4.0))
    assert reel.has_audio and abs(reel.duration - total) <= 0.25 + 1e-6 and not reel.decode_errors
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration",
                          "-of", "csv=p=0", str(tmp_path / "reel.mp4")], capture_output=True, text=True)
    assert abs(float(out.stdout.strip()) - total) <= 0.1


@pytest.mark.parametrize("case", ["unknown class", "nothing left", "missing video", "not json", "no file"])
def test_bad_inputs_are_one_error_line_and_status_2(review_root, tmp_path, capsys, case):
    _, result = match_analysis(review_root)
    src = tmp_path / "events.json"
    src.write_text(json.dumps(result))
    args, expect = [], ""
    if case == "unknown class":
        args, expect = ["--classes", "Goal,Handball"], "--classes: unknown event class 'Handball'"
    elif case == "nothing left":
        args, expect = ["--min-confidence", "1.0"], "no events left after the filter"
        src.write_text(json.dumps({**result, "events": [{**e, "confidence": min(e["confidence"], 0.99)}
                                                        for e in result["events"]]}))
    elif case == "missing video":
        src.write_text(json.dumps({**result, "video": str(tmp_path / "gone.mp4")}))
        expect = "gone.mp4 of these events does not exist"
    elif case == "not json":
        src.write_text("{oops")
        expect = "not valid JSON"
    else:
        src = tmp_path / "none.json"
        expect = "no such events file"
    out = tmp_path / "reel.mp4"
    assert _cli(src, "--out", out, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expect in err[0], err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".reel")]
