"""The demo's graphics switch and the long-match mode: planning, ground truth in Label Studio form, a real video."""

import hashlib

import numpy as np
import pytest

from football_assets.core.annotation import demo_labels
from football_assets.core.demo import broadcast, generator, match, scene
from football_assets.core.ingest.sources import demo_sources
from football_assets.core.ingest.video import probe, read_frames


def digest(clip) -> str:
    h = hashlib.sha256()
    for i, frame in enumerate(scene.render_frames(clip)):
        if i % 10 == 0:
            h.update(frame.tobytes())
    return h.hexdigest()


def test_graphics_off_removes_only_the_captions_and_gets_its_own_key():
    clips = generator.plan_clips(40, 0)
    on = next(c for c in clips if c.events and c.events[0].event in generator.CAPTION_DELAY
              and c.events[0].end_time + generator.CAPTION_DELAY[c.events[0].event] + 0.5 < c.duration)
    off = generator.plan_clips(40, 0, graphics=False)[on.index]
    assert on.events == off.events and on.key == generator.clip_key(0, on.index) != off.key
    assert digest(on) == digest(generator.clip_at(f"demo:0:{on.index}"))  # default unchanged: graphics on
    t = on.events[0].end_time + generator.CAPTION_DELAY[on.events[0].event] + 0.25
    a, b = scene.Scene(on).draw(t), scene.Scene(off).draw(t)
    differs = np.argwhere((a != b).any(-1))
    assert len(differs) > 100 and differs[:, 0].min() >= broadcast.BAND_Y0 and differs[:, 0].max() < broadcast.BAND_Y1
    mid = (on.events[0].start_time + on.events[0].end_time) / 2
    assert (scene.Scene(on).draw(mid) == scene.Scene(off).draw(mid)).all()  # nothing while the event lasts
    assert generator.clip_at("demo:0:1:nographics").graphics is False
    assert all(s.location.endswith(":nographics") for s in demo_sources(3, 0, graphics=False))


def test_match_events_never_overlap_and_are_seeded():
    for seed in range(10):
        m = match.plan_match(90, seed)
        spans = sorted((e.start_time, e.end_time) for e in m.events)
        assert all(b + match.GAP_S <= c for (_, b), (c, _) in zip(spans, spans[1:]))
        assert all(0 < s < e <= m.duration and s * 4 == int(s * 4) for s, e in spans)
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
