"""The synthetic demo source: deterministic, every class covered, ground truth in Label Studio format."""

import hashlib
import json
from collections import Counter

import numpy as np

from football_assets.core.annotation import demo_labels, ls_export
from football_assets.core.demo import broadcast, generator, scene
from football_assets.core.events import EVENT_CLASSES, Event
from football_assets.core.ingest.sources import demo_sources
from football_assets.core.layout import DataLayout


def frames_digest(clip, every=20) -> str:
    h = hashlib.sha256()
    for i, frame in enumerate(scene.render_frames(clip)):
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


def _without_events(clip):
    """The same clip (same play, kits, clock, noise) with no event planned."""
    return generator.DemoClip(clip.key, clip.source_id, clip.index, clip.seed, [], rosters=clip.rosters, kits=clip.kits,
                              clock_start=clip.clock_start, score=clip.score)


def test_events_are_visible_in_the_play():
    """Each event changes the picture (no caption is on screen while it lasts) versus the same clip without it."""
    for clip in generator.plan_clips(16, seed=0):
        plain, with_events = scene.Scene(_without_events(clip)), scene.Scene(clip)
        for ev in clip.events:
            t = round((ev.start_time + ev.end_time) / 2 * clip.fps) / clip.fps
            diff = np.abs(with_events.draw(t).astype(int) - plain.draw(t).astype(int)).sum(axis=2)
            assert (diff > 60).sum() > 200, ev.event


def _caption_on(frame) -> bool:
    """The lower third's dark band, sampled right of the number where nothing else is drawn on it."""
    row = frame[broadcast.BAND_Y0 + 2, 150:240:10].astype(int)
    return bool((np.abs(row - (20, 24, 44)).max(axis=1) <= 12).all())


def test_captions_come_after_the_event_for_the_classes_broadcasters_caption():
    """No graphic bounds an event: a caption appears only after a goal, card or substitution has ended,
    after its class's delay, for 3 s; never for other classes, and never while its own event lasts."""
    seen = set()
    for clip in generator.plan_clips(64, seed=2):
        sc = scene.Scene(clip)
        for t in np.arange(0, clip.duration, 0.25):  # the 4 fps the models see
            frame = sc.draw(t)
            due = [e for e in clip.events if e.event in generator.CAPTION_DELAY
                   and 0 <= t - e.end_time - generator.CAPTION_DELAY[e.event] < generator.CAPTION_S]
            assert _caption_on(frame) == bool(due), (clip.key, t, [e.event for e in clip.events])
            seen.update(e.event for e in due)
            assert not any(e.start_time <= t < e.end_time for e in due)
    assert seen == set(generator.CAPTION_DELAY) - {"Goal"}  # a goal's comes after its replay, past an 8 s clip's end
    clip = next(c for c in generator.plan_clips(64, seed=2) if c.events and c.events[0].event == "Goal")
    early = generator.DemoClip(clip.key, clip.source_id, clip.index, clip.seed, [Event("Goal", 0.5, 2.5, "x")],
                               rosters=clip.rosters, roles=clip.roles[:1], kits=clip.kits)
    sc = scene.Scene(early)
    assert [_caption_on(sc.draw(t)) for t in (1.5, 6.5, 7.0, 7.75)] == [False, False, True, True]


def test_a_goal_cuts_to_a_close_up_and_a_replay_and_then_the_score_changes():
    clip = next(c for c in generator.plan_clips(40, seed=0) if c.events and c.events[0].event == "Goal"
                and c.events[0].end_time + generator.AFTERMATH["Goal"] < c.duration)
    ev, role = clip.events[0], clip.roles[0]
    sc = scene.Scene(clip)
    assert [sc.shot(ev.end_time + d)[0] for d in (0.1, 1.0, 3.0, 4.5)] == ["main", "closeup", "replay", "main"]
    before, after = sc.score(ev.end_time), sc.score(ev.end_time + generator.AFTERMATH["Goal"])
    home = role["team"] == "home"
    assert after == (before[0] + home, before[1] + (not home))
    # the close-up is where the scorer's number is legible: another number changes many pixels of that frame
    other = {t: list(n) for t, n in clip.rosters.items()}
    k = generator.ROLE["Goal"]
    other[role["team"]][k] = 11 if other[role["team"]][k] != 11 else 2
    changed = generator.DemoClip(clip.key, clip.source_id, clip.index, clip.seed, clip.events, rosters=other,
                                 roles=clip.roles, kits=clip.kits, clock_start=clip.clock_start, score=clip.score)
    t = ev.end_time + 1.0
    a, b = scene.Scene(clip).draw(t), scene.Scene(changed).draw(t)
    assert (a != b).any(axis=2).sum() > 100


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


def test_descriptions_name_the_kit_side_and_number_of_the_player_who_acts():
    """The description's kit colour, end of the pitch and shirt number are the acting player's, as drawn."""
    clips = [c for c in generator.plan_clips(24, seed=0) if c.events]
    for clip in clips:
        sc = scene.Scene(clip)
        for i, (ev, role) in enumerate(zip(clip.events, clip.roles)):
            text = ev.description.lower()
            assert clip.kits[role["team"]] in text and f"number {role['number']}" in text, (ev.event, text)
            assert clip.rosters[role["team"]][generator.ROLE[ev.event]] == role["number"]
            assert role["player"] == generator.TEAM_BASE[role["team"]] + generator.ROLE[ev.event]
            assert sc.numbers[role["player"]] == str(role["number"])
            if ev.event != "Substitution":
                assert role["side"] in text, text
                assert (sc.spots[i][0] < broadcast.PITCH_X / 2) == (role["side"] == "left")  # the play is in that half
    assert len({tuple(sorted(c.kits.values())) for c in generator.plan_clips(40, seed=0)}) >= 5  # kits per match


def test_a_foul_is_often_followed_by_a_card_for_the_other_team():
    """Two-event clips follow real sequences: a card after a foul goes to the fouler's (other) team."""
    pairs = [c for c in generator.plan_clips(400, seed=1) if len(c.events) == 2]
    booked = [c for c in pairs if c.events[0].event == "Foul" and "card" in c.events[1].event]
    assert booked and all(c.roles[0]["team"] != c.roles[1]["team"] for c in booked)
    assert not any(c.events[0].event in generator.AFTERMATH for c in pairs)  # a cut-away ends a clip's events
