"""Annotation parsing, agreement and the embedded (no server) path of the ``annotations`` asset."""

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from football_assets.core.annotation import ls_export, snapshots
from football_assets.core.demo import generator
from football_assets.core.events import EVENT_CLASSES, Event
from football_assets.core.ingest import catalog, sources
from football_assets.core.layout import DataLayout
from football_assets.defs.annotation.assets import annotations, label_studio_tasks
from resources import DataDirResource
from resources.label_studio import LabelStudioResource

ROOT = Path(__file__).resolve().parents[1]


def test_labeling_config_file_matches_class_list():
    text = (ROOT / "label_studio" / "labeling_config.xml").read_text()
    assert text == ls_export.labeling_config()
    view = ET.fromstring(text)
    assert [l.get("value") for l in view.find("TimelineLabels").findall("Label")] == list(EVENT_CLASSES)
    assert view.find("Video").get("frameRate") == "$fps"
    area = view.find("TextArea")
    assert area.get("perRegion") == "true" and area.get("toName") == view.find("Video").get("name")


def test_frames_seconds_round_trip():
    for start, end in [(0.0, 0.25), (1.5, 3.75), (7.75, 8.0)]:
        s, e = ls_export.seconds_to_frames(start, end, 4)
        assert ls_export.frames_to_seconds(s, e, 4) == (start, end)
    assert ls_export.seconds_to_frames(0.0, 0.25, 4) == (1, 1)  # frame 1 covers [0, 0.25)


def _task(clip, events, anns=None, task_id=1):
    t = ls_export.task_export(clip, 4, events, task_id=task_id)
    if anns:
        t["annotations"] = anns
    return t


def test_parse_pairs_descriptions_and_drops_cancelled():
    evs = [Event("Goal", 1.0, 2.5, "a header"), Event("Foul", 4.0, 4.5, "")]
    task = _task("c1", evs)
    cancelled = dict(task["annotations"][0], id=99, was_cancelled=True)
    task["annotations"].append(cancelled)
    [parsed] = snapshots.parse_export([task])
    assert [a.annotation_id for a in parsed.annotations] == [1]
    assert parsed.annotations[0].events == evs


def test_unknown_label_is_a_clear_error():
    task = _task("c1", [Event("Goal", 1.0, 2.0)])
    task["annotations"][0]["result"][0]["value"]["timelinelabels"] = ["Offside"]
    with pytest.raises(snapshots.AnnotationError, match=r"task 1.*clip c1.*unknown event label 'Offside'.*known classes: Goal"):
        snapshots.parse_export([task], "f.json")


def test_broken_export_file_is_a_clear_error(tmp_path):
    (tmp_path / "sub").mkdir()
    bad = tmp_path / "sub" / "broken.json"
    bad.write_text('[{"id": 1, "data": ')
    with pytest.raises(snapshots.AnnotationError, match=r"broken\.json: not a valid JSON export file"):
        snapshots.read_export_dir(tmp_path)
    bad.write_text('{"not": "a task"}')
    with pytest.raises(snapshots.AnnotationError, match=r"broken\.json: item 0 is not a Label Studio task"):
        snapshots.read_export_dir(tmp_path)


def test_agreement_rule_keeps_the_consensus_annotation():
    base = [Event("Goal", 1.0, 3.0), Event("Corner", 5.0, 6.0)]
    near = [Event("Goal", 1.25, 3.0), Event("Corner", 5.0, 6.25)]
    odd = [Event("Foul", 1.0, 3.0)]
    anns = [snapshots.Annotation(1, "a", 1, "2026-01-01", base), snapshots.Annotation(2, "b", 1, "2026-01-02", near),
            snapshots.Annotation(3, "c", 1, "2026-01-03", odd)]
    assert snapshots.pair_agreement(base, near) == 1.0
    assert snapshots.pair_agreement(base, odd) == 0.0
    kept, agreement = snapshots.resolve(anns)
    assert kept.annotation_id == 2  # ties with 1 on agreement; 2 is newer
    assert agreement == pytest.approx(1 / 3)
    assert math.isnan(snapshots.resolve(anns[:1])[1])


@pytest.fixture(scope="module")
def demo_layout(tmp_path_factory):
    """Three real demo clips (ffmpeg) with their ground truth written as LS export files, as the demo does."""
    layout = DataLayout(tmp_path_factory.mktemp("annotations_demo") / "data")
    srcs = sources.demo_sources(3, seed=0)
    catalog.register(layout, srcs)
    for s in srcs:
        catalog.ingest_raw(layout, s.key)
        catalog.make_clip(layout, s.key)
    return layout, srcs


def test_embedded_path_on_demo_ground_truth(demo_layout):
    layout, srcs = demo_layout
    # a second annotator's export for clip 0, in a nested folder: agreement is computed, truth is kept
    truth0 = list(generator.clip_at(srcs[0].location).events)
    other = ls_export.task_export(srcs[0].key, 4, truth0[:1], task_id=500, annotator="second@example.com",
                                  updated_at="2025-01-01T00:00:00Z")
    other["annotations"][0]["id"] = 500
    (layout.labels_dir / "team" / "b").mkdir(parents=True, exist_ok=True)
    (layout.labels_dir / "team" / "b" / "export.json").write_text(json.dumps([other]))
    res = materialize([label_studio_tasks, annotations], instance=DagsterInstance.ephemeral(),
                      resources={"storage": DataDirResource(root=str(layout.root)), "label_studio": LabelStudioResource()})
    assert res.success
    assert all(c.passed for c in res.get_asset_check_evaluations())
    snap = snapshots.load_latest(layout)
    assert sorted(snap.tasks.clip_id) == sorted(s.key for s in srcs)
    for s in srcs:
        got = snap.events[snap.events.clip_id == s.key]
        truth = list(generator.clip_at(s.location).events)
        assert [(r.event, r.start_time, r.end_time, r.description) for r in got.itertuples()] == \
               [(e.event, e.start_time, e.end_time, e.description) for e in sorted(truth, key=lambda e: (e.start_time, e.end_time, e.event))]
        assert set(got.annotator) <= {"demo-ground-truth"}
    row = snap.tasks.set_index("clip_id").loc[srcs[0].key]
    assert row.annotators == 2
    expected = snapshots.pair_agreement(truth0, truth0[:1])
    assert row.agreement == pytest.approx(expected)
    assert list(snap.events.columns) == snapshots.EVENT_COLUMNS and list(snap.tasks.columns) == snapshots.TASK_COLUMNS
    # same input -> same immutable version
    res2 = materialize([annotations], instance=DagsterInstance.ephemeral(),
                       resources={"storage": DataDirResource(root=str(layout.root)), "label_studio": LabelStudioResource()})
    assert res2.success and snapshots.load_latest(layout).version == snap.version


def test_embedded_path_fails_clearly_on_a_broken_file(demo_layout, tmp_path):
    layout, _ = demo_layout
    bad = layout.labels_dir / "zz_broken.json"
    bad.write_text("{oops")
    try:
        res = materialize([annotations], instance=DagsterInstance.ephemeral(), raise_on_error=False,
                          resources={"storage": DataDirResource(root=str(layout.root)),
                                     "label_studio": LabelStudioResource()})
    finally:
        bad.unlink()
    assert not res.success
    failure = next(e for e in res.all_events if e.is_step_failure)
    assert "zz_broken.json: not a valid JSON export file" in failure.step_failure_data.error.to_string()
