"""The demo's graphics switch and the long-match mode: rates, ground truth in Label Studio form, a real video."""

import hashlib

import numpy as np
import pytest

from football_assets.core.annotation import demo_labels
from football_assets.core.demo import generator, match
from football_assets.core.ingest.sources import demo_sources
from football_assets.core.ingest.video import probe, read_frames


def digest(clip) -> str:
    h = hashlib.sha256()
    for i, frame in enumerate(generator.render_frames(clip)):
        if i % 10 == 0:
            h.update(frame.tobytes())
    return h.hexdigest()


def test_graphics_off_removes_only_the_lower_third_and_gets_its_own_key():
    on = generator.plan_clips(4, 0)[1]
    off = generator.plan_clips(4, 0, graphics=False)[1]
    assert on.events and on.events == off.events and on.key == generator.clip_key(0, 1) != off.key
    assert digest(on) == digest(generator.clip_at("demo:0:1"))  # default unchanged: graphics on
    t = (on.events[0].start_time + on.events[0].end_time) / 2
    a, b = generator._Scene(on).draw(t), generator._Scene(off).draw(t)
    differs = np.argwhere((a != b).any(-1))
    assert len(differs) and differs[:, 0].min() >= generator.BAND_Y0  # the band only
    assert generator.clip_at("demo:0:1:nographics").graphics is False
    assert all(s.location.endswith(":nographics") for s in demo_sources(3, 0, graphics=False))


def test_match_events_follow_per_90_rates_and_never_overlap():
    counts = {c: 0 for c in match.RATES_PER_90}
    for seed in range(30):
        m = match.plan_match(90, seed)
        spans = sorted((e.start_time, e.end_time) for e in m.events)
        assert all(b + match.GAP_S <= c for (_, b), (c, _) in zip(spans, spans[1:]))
        assert all(0 < s < e <= m.duration and s * 4 == int(s * 4) for s, e in spans)
        for e in m.events:
            counts[e.event] += 1
    for cls, rate in match.RATES_PER_90.items():
        assert abs(counts[cls] / 30 - rate) <= 3 * np.sqrt(rate / 30) + 0.1, (cls, counts[cls] / 30, rate)
    assert match.plan_match(10, 7).events == match.plan_match(10, 7).events != match.plan_match(10, 8).events
    with pytest.raises(ValueError, match="unknown event class.*'Offside'"):
        match.plan_match(10, 0, rates={"Offside": 3})


def test_match_video_and_label_studio_ground_truth(tmp_path):
    out = demo_labels.write_match(tmp_path, 1.5, seed=3)
    info = probe(out["video"])
    assert abs(info.duration - 90) < 0.5 and info.fps == pytest.approx(4)
    truth = demo_labels.read_truth(out["labels"])
    planned = [(e.event, e.start_time, e.end_time, e.description) for e in out["clip"].events]
    assert [(e["event"], e["start_time"], e["end_time"], e["description"]) for e in truth] == planned
    frames = read_frames(out["video"], 96, 64)
    assert frames.shape == (360, 64, 96, 3)
