"""The synthetic demo source: deterministic, every class covered, ground truth in Label Studio format."""

import hashlib
import json
from collections import Counter

from football_assets.core.annotation import demo_labels, ls_export
from football_assets.core.demo import generator
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.ingest.sources import demo_sources
from football_assets.core.layout import DataLayout


def frames_digest(clip, every=20) -> str:
    h = hashlib.sha256()
    for i, frame in enumerate(generator.render_frames(clip)):
        if i % every == 0:
            h.update(frame.tobytes())
    return h.hexdigest()


def test_same_seed_same_clips_other_seed_other_clips():
    a, b, c = generator.plan_clips(12, seed=0), generator.plan_clips(12, seed=0), generator.plan_clips(12, seed=1)
    assert [x.events for x in a] == [x.events for x in b]
    assert [x.key for x in a] == [x.key for x in b] != [x.key for x in c]
    assert [x.events for x in a] != [x.events for x in c]
    assert frames_digest(a[3]) == frames_digest(b[3]) != frames_digest(c[3])


def test_every_class_appears_with_empty_and_double_clips():
    clips = generator.plan_clips(64, seed=0)
    counts = Counter(e.event for c in clips for e in c.events)
    assert set(counts) == set(EVENT_CLASSES)
    assert min(counts.values()) >= 6
    per_clip = Counter(len(c.events) for c in clips)
    assert per_clip[0] >= 3 and per_clip[2] >= 8 and set(per_clip) <= {0, 1, 2}
    for c in clips:
        for e in c.events:
            assert 0 <= e.start_time < e.end_time <= c.duration
            assert e.start_time * 4 == int(e.start_time * 4)  # on the 4 fps grid
        if len(c.events) == 2:
            assert c.events[0].end_time <= c.events[1].start_time
    descriptions = {e.description for c in clips for e in c.events}
    assert len(descriptions) > 40  # varied natural language, not one sentence per class


def test_events_are_visible_in_the_frames():
    """Each event changes the pitch (above the broadcast graphic) versus the same clip without it."""
    for clip in generator.plan_clips(16, seed=0):
        for ev in clip.events:
            plain = generator.DemoClip(clip.key, clip.source_id, clip.index, clip.seed, [])
            t = int((ev.start_time + ev.end_time) / 2 * clip.fps)
            with_event = list(generator.render_frames(clip))[t].astype(int)[: generator.BAND_Y0]
            without = list(generator.render_frames(plain))[t].astype(int)[: generator.BAND_Y0]
            assert (abs(with_event - without).sum(axis=2) > 60).sum() > 30, ev.event


def test_broadcast_graphic_shows_the_class_exactly_while_the_event_lasts():
    """The lower-third band has the class's colour on every frame inside [start, end) and on no other."""
    bands = {cls: generator.GRAPHICS[cls][0] for cls in EVENT_CLASSES}
    assert len(set(bands.values())) >= 7  # the two cards share the band and differ by their icon
    assert generator.GRAPHICS["Yellow card"][1] != generator.GRAPHICS["Red card"][1]
    seen = set()
    for clip in generator.plan_clips(24, seed=2):
        frames = list(generator.render_frames(clip))
        for f, frame in enumerate(frames):
            t = f / clip.fps
            active = [e for e in clip.events if e.start_time <= t < e.end_time]
            probe = tuple(int(v) for v in frame[generator.BAND_Y0 + 2, generator.WIDTH - 30])  # band, right of any caption
            if active:
                assert probe == bands[active[0].event], (clip.key, t, active[0].event)
                seen.add(active[0].event)
            else:
                assert probe not in bands.values(), (clip.key, t)
    assert seen == set(EVENT_CLASSES)


def test_ground_truth_is_a_label_studio_export_that_round_trips(tmp_path):
    layout = DataLayout(tmp_path)
    source = demo_sources(8)[5]
    path = demo_labels.write_demo_ground_truth(layout, source)
    [task] = json.loads(path.read_text())
    truth = generator.plan_clips(8)[5].events
    regions = [r for r in task["annotations"][0]["result"] if r["type"] == "timelinelabels"]
    texts = {r["id"]: r["value"]["text"][0] for r in task["annotations"][0]["result"] if r["type"] == "textarea"}
    assert task["data"]["clip_id"] == source.key and task["data"]["fps"] == 4
    assert len(regions) == len(truth)
    for region, ev in zip(regions, truth):
        rng = region["value"]["ranges"][0]
        assert ls_export.frames_to_seconds(rng["start"], rng["end"], 4) == (ev.start_time, ev.end_time)
        assert region["value"]["timelinelabels"] == [ev.event]
        assert texts[region["id"]] == ev.description


def test_a_clip_is_the_same_however_many_clips_are_planned():
    """``clip_at`` plans only up to the clip it needs; that must equal the clip in a larger plan."""
    full = generator.plan_clips(20, seed=3)
    for i in (0, 7, 19):
        assert generator.clip_at(f"demo:3:{i}").events == full[i].events


def test_descriptions_name_the_team_side_and_number_that_are_drawn():
    """The description's team colour, side and shirt number are the acting player's, as rendered."""
    clips = [c for c in generator.plan_clips(24, seed=0) if c.events]
    for clip in clips:
        for ev, role in zip(clip.events, clip.roles):
            text = ev.description.lower()
            assert role["team"] in text and f"number {role['number']}" in text, (ev.event, text)
            assert clip.rosters[role["team"]][generator.ROLE[ev.event]] == role["number"]
            assert role["player"] == generator.TEAM_BASE[role["team"]] + generator.ROLE[ev.event]
            if ev.event != "Substitution":
                assert role["side"] in text, text
    # the numbers are really drawn: another number on the acting player changes the frame at his position
    clip = next(c for c in clips if c.events[0].event == "Foul")
    role = clip.roles[0]
    other = dict(clip.rosters, **{role["team"]: [n if i != generator.ROLE["Foul"] else (n + 1 if n < 11 else 2)
                                                  for i, n in enumerate(clip.rosters[role["team"]])]})
    changed = generator.DemoClip(clip.key, clip.source_id, clip.index, clip.seed, clip.events, rosters=other, roles=clip.roles)
    f = int((clip.events[0].start_time + clip.events[0].end_time) / 2 * clip.fps)
    a, b = list(generator.render_frames(clip))[f], list(generator.render_frames(changed))[f]
    ys, xs = (a != b).any(axis=2).nonzero()
    x, y = generator._Scene(clip).spots[id(clip.events[0])]
    assert len(ys) > 3 and abs(xs.mean() - x) < 8 and abs(ys.mean() - y) < 8  # only the fouled player's shirt differs
    # the action happens in the half the description names
    for clip in clips:
        scene = generator._Scene(clip)
        for ev, role in zip(clip.events, clip.roles):
            assert (scene.spots[id(ev)][0] < generator.CX) == (role["side"] == "left")
