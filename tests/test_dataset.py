"""SFT samples, split assignment and the split checks (plain functions; the Dagster asset is in
test_dataset_asset.py). Logic tests use demo ground truth with paper clip facts; the video check uses
the real 4 fps demo clips."""

import json
import random
import subprocess

import pandas as pd
import pytest

from football_assets.core import prompts
from football_assets.core.dataset import assign, checks, sft, store
from football_assets.core.demo import generator
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.layout import DataLayout
from tests.fixtures_dataset import make_splits_from, paper_facts, snapshot_frames


def build(n=64, seed=0, mix=sft.SampleMix(), plan=None):
    plan = plan or generator.plan_clips(n, seed)
    facts = paper_facts(plan)
    events, tasks = snapshot_frames(plan, facts)
    return sft.build_samples(events, tasks, list(facts.values()), mix)


def make_splits(n=64, cfg=assign.SplitConfig()):
    samples = build(n).samples
    return assign.split_samples(samples, assign.assign_splits(sft.group_classes(samples), cfg))


# ------------------------------------------------------------------ samples


def test_samples_follow_the_interface_and_the_mix():
    plan = generator.plan_clips(16, 0)
    result = build(plan=plan)
    by_id = {s["id"]: s for s in result.samples}
    assert result.skipped == {}
    for clip in plan:
        ev = by_id[f"{clip.key}/events"]
        assert set(ev) == {"id", "clip_id", "source_id", "task", "video", "fps", "duration", "messages", "target"}
        assert ev["fps"] == 4 and ev["duration"] == 8.0 and ev["source_id"] == clip.source_id
        assert ev["messages"] == prompts.build_messages(ev["video"], prompts.EVENTS_INSTRUCTION,
                                                        prompts.format_events(clip.events))
        assert ev["target"] == prompts.normalize_events(clip.events)
        present = {e.event for e in clip.events}
        asked = {s["target"]["event"]: s for s in result.samples if s["clip_id"] == clip.key and s["task"] == "grounding"}
        positives = {c for c, s in asked.items() if s["target"].get("occurs", True)}
        negatives = [s for s in asked.values() if s["target"].get("occurs") is False]
        assert positives == present  # demo clips never hold one class twice
        assert len(negatives) == 1 and negatives[0]["target"]["event"] not in present
        assert negatives[0]["messages"][2]["content"] == prompts.does_not_occur_answer(negatives[0]["target"]["event"])
        # free-text grounding: one question per described event, phrased from its description
        told = prompts.normalize_events(clip.events)
        texts = [s for s in result.samples if s["clip_id"] == clip.key and s["task"] == prompts.FREE_TEXT_TASK]
        assert [s["target"] for s in texts] == [{k: e[k] for k in ("event", "start_time", "end_time")} for e in told]
        for s, e in zip(texts, told):
            assert s["messages"][1]["content"][1]["text"] == prompts.free_grounding_question(
                prompts.question_from_description(e["description"]))
            assert prompts.parse_answer(s["task"], s["messages"][2]["content"]) == s["target"]
    # configurable mix: no events task, two negatives, reasoning form
    mixed = build(plan=plan, mix=sft.SampleMix(events=False, grounding_positives=0, grounding_negatives=2, free_text=0,
                                               reasoning=True))
    assert {s["task"] for s in mixed.samples} == {"grounding"} and len(mixed.samples) == 32
    assert all(s["messages"][2]["content"].startswith("<think>") for s in mixed.samples)
    assert all(s["messages"][1]["content"][1]["text"].endswith(prompts.REASONING_SUFFIX) for s in mixed.samples)


def test_free_text_questions_change_no_other_sample():
    plan = generator.plan_clips(16, 0)
    every, none, one = (build(plan=plan, mix=sft.SampleMix(free_text=k)).samples for k in (-1, 0, 1))
    assert none == [s for s in every if s["task"] != prompts.FREE_TEXT_TASK]
    assert len(every) > len(none)
    per_clip = {}
    for s in one:
        per_clip[s["clip_id"]] = per_clip.get(s["clip_id"], 0) + (s["task"] == prompts.FREE_TEXT_TASK)
    assert max(per_clip.values()) == 1 and [s for s in one if s["task"] != prompts.FREE_TEXT_TASK] == none


def test_hard_negatives_prefer_confusable_classes_and_twice_seen_classes_are_not_asked():
    rng = random.Random(0)
    assert set(sft.negatives_for(["Yellow card"], 2, rng)) == {"Red card", "Foul"}
    assert sft.negatives_for([], 3, rng) and len(set(sft.negatives_for([], 8, rng))) == 8
    clip = {"clip_id": "c1", "path": "/x/c1.mp4", "duration_s": 8.0}
    events = [{"event": "Foul", "start_time": 1, "end_time": 2, "description": ""},
              {"event": "Foul", "start_time": 5, "end_time": 6, "description": ""},
              {"event": "Corner", "start_time": 3, "end_time": 4, "description": ""}]
    out = sft.clip_samples(clip, "m1", events, sft.SampleMix(grounding_negatives=0))
    assert [s["id"] for s in out] == ["c1/events", "c1/when/corner"]


def test_samples_are_deterministic_and_written_files_identical(tmp_path):
    a, b = build(), build()
    assert a.samples == b.samples
    sa, sb = make_splits(), make_splits()
    store.write_version(tmp_path / "a", sa, {"v": 1})
    store.write_version(tmp_path / "b", sb, {"v": 1})
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "llamafactory/train.json", "summary.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert store.read_version(tmp_path / "a") == sa


def test_latest_annotation_wins_and_snapshot_problems_are_named():
    plan = generator.plan_clips(4, 0)
    events, tasks = snapshot_frames(plan, paper_facts(plan))
    key = plan[1].key
    redo = events[events.clip_id == key].copy()
    redo["annotation_id"], redo["updated_at"], redo["description"] = 999, "2026-06-01T00:00:00Z", "reviewed"
    chosen = sft.chosen_events(pd.concat([events, redo]), tasks)
    assert chosen[key] and all(e["description"] == "reviewed" for e in chosen[key])
    assert len(chosen[key]) == len(plan[1].events)
    empty = [c.key for c in plan if not c.events]
    assert all(chosen[k] == [] for k in empty)
    with pytest.raises(sft.SnapshotError, match=r"lacks column\(s\) \['source_id'\]"):
        sft.chosen_events(events, tasks.drop(columns=["source_id"]))
    bad = events.copy()
    bad.loc[bad.index[0], "event"] = "Offside"
    with pytest.raises(sft.SnapshotError, match=f"clip '{bad.clip_id.iloc[0]}'.*unknown event class 'Offside'"):
        sft.chosen_events(bad, tasks)


def test_unclipped_and_unannotated_clips_are_skipped_with_reasons():
    plan = generator.plan_clips(6, 0)
    facts = paper_facts(plan)
    events, tasks = snapshot_frames(plan[:5], facts)
    del facts[plan[0].key]
    result = sft.build_samples(events, tasks, list(facts.values()))
    assert result.skipped == {plan[0].key: "annotated but has no 4 fps clip (materialize clips_4fps for it)",
                              plan[5].key: "not annotated yet"}
    assert {s["clip_id"] for s in result.samples} == {c.key for c in plan[1:5]}


# ------------------------------------------------------------------ split assignment


def test_split_is_grouped_by_source_stratified_and_passes_the_logic_checks():
    sp = make_splits(64)
    where = {}
    for s, rows in sp.items():
        for x in rows:
            assert where.setdefault(x["source_id"], s) == s  # one split per match
    assert checks.check_no_leakage(sp).passed
    for s in assign.SPLITS:  # 16 matches: every class reaches every split
        assert set().union(*map(sft.sample_classes, sp[s])) == set(EVENT_CLASSES), s
    assert checks.check_answers(sp).passed and checks.check_nonempty(sp).passed
    counts = {s: len({x["clip_id"] for x in sp[s]}) for s in assign.SPLITS}
    assert counts == {"train": 36, "val": 16, "test": 12}


def test_samples_of_existing_clips_do_not_change_when_one_clip_is_added():
    # (which split a match lands in can change: the stratifying repairs are greedy, see core/dataset/assign.py)
    plan = generator.plan_clips(65, 0)
    old, new = build(plan=plan[:64]).samples, build(plan=plan).samples
    assert [s for s in new if s["clip_id"] != plan[64].key] == old


def test_a_class_seen_only_outside_train_is_pulled_into_train():
    cfg = assign.SplitConfig(seed=0)
    names = [f"m{i}" for i in range(200)]
    test_src = next(n for n in names if assign.base_split(assign.unit(0, n), cfg) == "test")
    train_src = [n for n in names if assign.base_split(assign.unit(0, n), cfg) == "train"][:4]
    groups = {test_src: {"Red card"}, **{n: {"Goal"} for n in train_src}}
    groups[next(n for n in names if assign.base_split(assign.unit(0, n), cfg) == "val")] = {"Goal"}
    out = assign.assign_splits(groups, cfg)
    assert out[test_src] == "train"
    assert {"val", "test"} <= set(out.values())


def test_three_sources_in_one_base_split_still_fill_all_three():
    cfg = assign.SplitConfig()
    for target in assign.SPLITS:
        names = [n for n in (f"m{i}" for i in range(400)) if assign.base_split(assign.unit(0, n), cfg) == target][:3]
        out = assign.assign_splits({n: set() for n in names}, cfg)
        assert sorted(out.values()) == ["test", "train", "val"], target


def test_too_few_sources_and_bad_fractions_are_clear_errors():
    with pytest.raises(assign.SplitError, match="need at least 3 sources.*got 2"):
        assign.assign_splits({"a": {"Goal"}, "b": {"Foul"}})
    with pytest.raises(ValueError, match="val \\+ test < 1"):
        assign.SplitConfig(val=0.6, test=0.5)


# ------------------------------------------------------------------ checks


def test_leaking_split_fails_the_leakage_check():
    sp = make_splits(64)
    leaked = sp["train"][0]
    bad = {**sp, "test": sp["test"] + [dict(leaked, id="copy")]}
    out = checks.check_no_leakage(bad)
    assert not out.passed and leaked["source_id"] in out.description and "train+test" in out.description
    # the same footage under another match id is a leak too
    a, b = sp["train"][0], sp["val"][0]
    out = checks.check_no_leakage(sp, {a["clip_id"]: "same-bytes", b["clip_id"]: "same-bytes"})
    assert not out.passed and "videos in two splits" in out.description


def test_missing_class_and_empty_split_fail_naming_what():
    sp = make_splits(64)
    no_red = {**sp, "train": [x for x in sp["train"] if "Red card" not in sft.sample_classes(x)]}
    out = checks.check_class_coverage(no_red)
    assert not out.passed and out.description == "missing from train: Red card"
    out = checks.check_nonempty({**sp, "val": []})
    assert not out.passed and out.description == "empty split(s): val"


@pytest.mark.parametrize("answer, reason", [
    ('[{"event": "Goal", "start_time": 1.0', "not valid JSON"),
    ('[{"event": "Header", "start_time": 1.0, "end_time": 2.0, "description": ""}]', "unknown event class"),
    ("[ ]", "does not round-trip"),
])
def test_malformed_answer_fails_the_answer_check(answer, reason):
    sp = make_splits(16)
    victim = next(x for x in sp["val"] if x["task"] == "events" and not x["target"])
    victim["messages"][2]["content"] = answer
    out = checks.check_answers(sp)
    assert not out.passed and victim["id"] in out.description and reason in out.description
    assert out.metadata["bad"] == 1


def test_answer_that_disagrees_with_its_target_fails():
    sp = make_splits(16)
    victim = next(x for x in sp["train"] if x["task"] == "grounding" and x["target"].get("occurs", True))
    victim["target"] = dict(victim["target"], start_time=victim["target"]["start_time"] + 0.5)
    assert "differs from target" in checks.answer_problem(victim)


def test_video_check_on_real_clips(demo_data):
    layout: DataLayout = demo_data.layout
    sp = make_splits_from(demo_data)
    assert checks.check_videos(sp).passed
    clips = sorted({x["video"] for x in sp["test"]})
    # one clip re-encoded at 25 fps, one deleted
    src = layout.clip(sp["test"][0]["clip_id"])
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", str(src)], check=True)
    gone = next(v for v in clips if v != str(src))
    layout.root.joinpath(gone).unlink()
    out = checks.check_videos(sp)
    assert not out.passed and out.metadata["bad"] == 2
    assert "25.000 fps, expected 4" in out.description and "file not found" in out.description


def test_sharegpt_export_and_load_latest(tmp_path):
    sp = make_splits(16)
    layout = DataLayout(tmp_path / "data")
    with pytest.raises(FileNotFoundError, match="materialize the sft_splits asset"):
        store.load_latest(layout)
    store.write_version(layout.splits_dir / "v1", sp, {"version": "v1"})
    store.set_latest(layout.splits_dir, "v1")
    loaded = store.load_latest(layout)
    assert loaded.version == "v1" and dict(loaded) == sp and loaded.manifest == {"version": "v1"}
    lf = json.loads((loaded.path / "llamafactory" / "train.json").read_text())
    first = sp["train"][0]
    assert lf[0] == {"messages": [{"role": "user", "content": "<video>" + first["messages"][1]["content"][1]["text"]},
                                  {"role": "assistant", "content": first["messages"][2]["content"]}],
                     "system": prompts.SYSTEM_PROMPT, "videos": [first["video"]]}
    info = json.loads((loaded.path / "llamafactory" / "dataset_info.json").read_text())
    assert info[store.LLAMAFACTORY_NAME]["formatting"] == "sharegpt"
    md = store.to_markdown(store.summary_frame(sp))
    assert md.splitlines()[0] == "| class / count | train | val | test | total |"
    assert all(f"| {c} |" in md for c in EVENT_CLASSES)
