"""The domain score: the demo-trained spotter says which videos are unlike its training clips.

Real components: the default spotter trained on 32 real demo clips (``demo_spotter``), its saved domain
reference, the real ingest/transcode path of ``analyze``, ffmpeg-made inputs the threshold never saw (a
test pattern, a photo of a person with a slow zoom) and the real football clips (never trained on).
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from football_assets import cli
from football_assets.core.inference import analyze, cascade_run
from football_assets.core.inference.ask import ask_video
from football_assets.core.spotter.data import load_event_samples
from football_assets.core.spotter.domain import DomainReference, choose_threshold, generated_out_of_domain
from football_assets.core.spotter.infer import Spotter
from tests.fixtures_evaluation import FlashPredictor, ffmpeg, flash_video


def test_threshold_separates_when_it_can_and_balances_when_it_cannot():
    sep = choose_threshold([0.01, 0.04], [0.16, 0.5])
    assert sep["separated"] and sep["threshold"] == pytest.approx(0.08) and 0.04 < sep["threshold"] < 0.16
    mixed = choose_threshold([0.01, 0.2, 0.03], [0.1, 0.5])
    assert not mixed["separated"] and mixed["threshold"] == 0.03 and mixed["balanced_accuracy"] == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="needs in-domain .* and out-of-domain scores"):
        choose_threshold([0.1], [])


def test_reference_round_trips_and_judges_by_the_nearest_train_clip(tmp_path):
    rng = np.random.default_rng(0)
    centre = rng.random(64)
    train = [centre + rng.normal(0, 0.01, 64) for _ in range(5)]
    val = [centre + rng.normal(0, 0.01, 64) for _ in range(3)]
    ood = {"far": rng.random(64), "other": np.abs(rng.normal(0, 1, 64))}
    ref = DomainReference.build(train, val, ood)
    assert ref.info["separated"] and set(ref.info["ood_scores"]) == {"far", "other"}
    ref.save(tmp_path)
    back = DomainReference.load(tmp_path)
    assert back.threshold == pytest.approx(ref.threshold) and back.train.shape == (5, 64)
    assert back.assess(centre * 3)["in_domain"] and not back.assess(ood["far"])["in_domain"]  # scale-free
    assert DomainReference.load(tmp_path / "none") is None
    frames = generated_out_of_domain(6, 40, 60)
    assert all(v.shape == (6, 40, 60, 3) and v.dtype == np.uint8 for v in frames.values()) and len(frames) >= 5


def _unseen_inputs(tmp: Path) -> dict[str, Path]:
    """Out-of-domain videos made with ffmpeg that the threshold never saw."""
    pattern, photo = tmp / "testsrc2.mp4", tmp / "photo_zoom.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=8", "-pix_fmt", "yuv420p", str(pattern))
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    ffmpeg("-loop", "1", "-i", str(hopper), "-vf", "scale=1280:-2,zoompan=z='1+0.002*on':d=200:s=640x480:fps=25",
           "-t", "8", "-pix_fmt", "yuv420p", str(photo))
    return {"test pattern": pattern, "photo (not football)": photo}


def test_demo_spotter_knows_its_domain(demo_spotter, spotter_splits, real_clips, tmp_path):
    spotter_dir, info = demo_spotter
    saved = json.loads((spotter_dir / "domain.json").read_text())
    assert saved["chosen_on"].startswith("val") and saved["separated"], saved
    assert info["domain_val_max"] < info["domain_threshold"] < info["domain_ood_min"]
    spotter = Spotter.load(spotter_dir)

    def domain(video: Path) -> dict:
        return cascade_run.cascade_video(video, spotter, None, progress=False)["domain"]

    inside = {s["clip_id"]: domain(Path(s["video"])) for s in load_event_samples(spotter_splits, "test")}
    outside = {name: domain(v) for name, v in _unseen_inputs(tmp_path).items()}
    outside.update({v.name: domain(v) for v in real_clips})
    assert all(d["in_domain"] for d in inside.values()), inside
    assert not any(d["in_domain"] for d in outside.values()), outside
    assert max(d["score"] for d in inside.values()) < min(d["score"] for d in outside.values())


def test_analyze_and_ask_report_the_domain_and_say_it_in_one_line(demo_spotter, real_clips, spotter_splits, tmp_path,
                                                                  capsys):
    spotter_dir, _ = demo_spotter
    real = next(v for v in real_clips if v.name.startswith("wcq"))
    out = tmp_path / "events.json"
    assert cli.main(["analyze", str(real), "--mode", "spotter", "--spotter", str(spotter_dir), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["domain"]["in_domain"] is False and isinstance(result["events"], list)
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("out of domain:")]
    assert len(err) == 1 and real.name in err[0] and f"{result['domain']['score']:.3f}" in err[0], err

    demo = Path(load_event_samples(spotter_splits, "test")[0]["video"])
    assert cli.main(["analyze", str(demo), "--mode", "spotter", "--spotter", str(spotter_dir), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["domain"]["in_domain"] is True
    assert "out of domain" not in capsys.readouterr().err

    # the VLM-only commands take the score from the spotter's backbone alone
    spotter = Spotter.load(spotter_dir)
    flash = flash_video(tmp_path / "flash.mp4", 8, (3, 4))
    vlm = analyze.analyze_video(flash, FlashPredictor(), "v", window_s=8, progress=False, spotter=spotter)
    assert vlm["domain"]["in_domain"] is False and [e["event"] for e in vlm["events"]] == ["Goal"]
    assert analyze.analyze_video(flash, FlashPredictor(), "v", window_s=8, progress=False)["domain"] is None

    class FlashAsk(FlashPredictor):
        def generate_scored(self, video_path: str, instruction: str, max_new_tokens: int):
            from types import SimpleNamespace

            found = self.predict(video_path)["events"]
            return SimpleNamespace(text=json.dumps({"start_time": found[0]["start_time"], "end_time": found[0]["end_time"]}
                                                   if found else {"occurs": False}))

    asked = ask_video(flash, "when does the screen flash?", FlashAsk(), "v", 8, progress=False, spotter=spotter)
    assert asked["domain"] == vlm["domain"] and asked["answer"]["start_time"] == 3.0
