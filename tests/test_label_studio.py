"""The annotation loop against a REAL Label Studio server (session fixture): tasks out, annotations in,
pre-annotations, interruption, sensor, and the API key kept out of every message."""

import json
import shutil

import pytest
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context, materialize

from football_assets.core.annotation import ls_export, snapshots
from football_assets.core.annotation.ls_client import LabelStudioClient, LabelStudioError
from football_assets.core.events import Event
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.ingest import catalog
from football_assets.core.layout import DataLayout
from football_assets.defs.annotation.assets import annotations, label_studio_predictions, label_studio_tasks
from football_assets.defs.annotation.sensors import label_studio_sensor
from football_assets.defs.evaluation.assets import predictions
from resources import DataDirResource
from resources.label_studio import LabelStudioResource


def _resources(server, title):
    return {"storage": DataDirResource(root=str(server.data_root)),
            "label_studio": LabelStudioResource(url=server.url, api_key=server.token, project_title=title)}


def _materialize(server, title, assets, **kw):
    return materialize(assets, resources=_resources(server, title), instance=DagsterInstance.ephemeral(), **kw)


def _meta(result, key):
    return {k: v.value for k, v in result.asset_materializations_for_node(key)[0].metadata.items()}


def _annotate(client, task_id, events, fps=4.0, **extra):
    """Create an annotation the way the labeling UI submits one: a timeline region plus its per-region text."""
    result = []
    for i, ev in enumerate(events):
        s, e = ls_export.seconds_to_frames(ev.start_time, ev.end_time, fps)
        rid = f"ui{i}x"
        result.append({"id": rid, "type": "timelinelabels", "from_name": "events", "to_name": "video",
                       "origin": "manual", "value": {"ranges": [{"start": s, "end": e}], "timelinelabels": [ev.event]}})
        if ev.description:
            result.append({"id": rid, "type": "textarea", "from_name": "description", "to_name": "video",
                           "origin": "manual", "value": {"text": [ev.description]}})
    return client.sdk.annotations.create(id=task_id, result=result, lead_time=extra.pop("lead_time", 7.5), **extra)


def _all_log_text(result) -> str:
    return "\n".join(str(ev) for ev in result.all_events)


def test_project_and_task_push_are_idempotent(label_studio_data):
    server, layout, clips = label_studio_data
    client = LabelStudioClient(server.url, server.token, "idempotent")
    pid = client.ensure_project()
    assert client.ensure_project() == pid
    first = _materialize(server, "idempotent", [label_studio_tasks])
    second = _materialize(server, "idempotent", [label_studio_tasks])
    assert first.success and second.success
    assert _meta(first, "label_studio_tasks")["tasks_created"] == len(clips)
    assert _meta(second, "label_studio_tasks")["tasks_created"] == 0
    tasks = client.tasks_by_clip(pid)
    assert sorted(tasks) == sorted(c["clip_id"] for c in clips)
    assert all(len(v) == 1 and v[0]["data"]["fps"] == 4.0 for v in tasks.values())
    assert len(client.sdk.import_storage.local.list(project=pid)) == 1
    assert all(c.passed for c in second.get_asset_check_evaluations())
    assert server.token not in _all_log_text(first) + _all_log_text(second)


def test_annotations_made_in_label_studio_come_out_in_seconds(label_studio_data):
    server, layout, clips = label_studio_data
    title = "annotate"
    assert _materialize(server, title, [label_studio_tasks]).success
    client = LabelStudioClient(server.url, server.token, title)
    tasks = client.tasks_by_clip(client.ensure_project())
    c0, c1, c2 = (clips[i]["clip_id"] for i in range(3))
    events = [Event("Goal", 1.0, 2.5, "Header from a corner, far post"), Event("Foul", 4.75, 5.5, "")]
    _annotate(client, tasks[c0][0]["id"], events, lead_time=31.5)
    _annotate(client, tasks[c1][0]["id"], [])                                   # watched: nothing happens
    _annotate(client, tasks[c2][0]["id"], [Event("Corner", 0.0, 1.0)], was_cancelled=True)  # skipped
    res = _materialize(server, title, [annotations])
    assert res.success and all(c.passed for c in res.get_asset_check_evaluations())
    snap = snapshots.load_latest(layout)
    got = snap.events[snap.events.clip_id == c0]
    assert [(r.event, r.start_time, r.end_time, r.description) for r in got.itertuples()] == \
           [(e.event, e.start_time, e.end_time, e.description) for e in events]
    assert set(got.annotator) == {server.username} and set(got.lead_time) == {31.5}
    assert set(snap.tasks.clip_id) == {c0, c1}                                 # the skip is excluded
    assert snap.tasks.set_index("clip_id").loc[c1].n_events == 0
    meta = _meta(res, "annotations")
    assert (meta["tasks"], meta["annotated_tasks"], meta["snapshot_clips"]) == (len(clips), 2, 2)
    assert server.token not in _all_log_text(res)


def test_predictions_round_trip(label_studio_data):
    server, layout, clips = label_studio_data
    title = "predictions"
    c0, c1 = clips[0]["clip_id"], clips[1]["clip_id"]
    pred = [{"event": "Shot on target", "start_time": 2.25, "end_time": 3.0, "description": "low shot, saved",
             "confidence": 0.75},
            {"event": "Corner", "start_time": 6.0, "end_time": 7.25, "description": "", "confidence": 0.5}]
    path = layout.predictions_file
    # c1: no events, scored by the model's probability of "no event" (the active-learning order)
    write_json(path, {"model_version": "lora-test-1", "clips": {c0: pred, c1: []},
                      "clip_scores": {c0: ls_export.clip_score(pred), c1: ls_export.clip_score([], [0.9, 0.35])}})
    try:
        first = _materialize(server, title, [label_studio_tasks, label_studio_predictions])
        again = _materialize(server, title, [label_studio_tasks, label_studio_predictions])
    finally:
        path.unlink()
    assert _meta(first, "label_studio_predictions")["predictions_added"] == 2
    assert _meta(again, "label_studio_predictions")["predictions_added"] == 0
    client = LabelStudioClient(server.url, server.token, title)
    pid = client.ensure_project()
    by_clip = client.tasks_by_clip(pid)
    task = by_clip[c0][0]
    [p] = task["predictions"]
    # the server keeps the model's scores: per region, and the task's lowest event confidence
    assert p["model_version"] == "lora-test-1" and p["score"] == pytest.approx(0.5)
    assert [r["score"] for r in p["result"] if r["type"] == "timelinelabels"] == pytest.approx([0.75, 0.5])
    assert by_clip[c1][0]["predictions"][0]["score"] == pytest.approx(0.35)
    # sorted by prediction score in the data manager's order (least certain first): the empty clip, then c0
    ordered = [t.data["clip_id"] for t in client.sdk.tasks.list(project=pid, fields="all",
                                                                   query=json.dumps({"ordering": ["tasks:predictions_score"]}))
               if t.data.get("clip_id") in (c0, c1)]
    assert ordered == [c1, c0]
    back = snapshots.parse_result(p["result"], 4.0, "prediction")
    assert [(e.event, e.start_time, e.end_time, e.description) for e in back] == \
           [(d["event"], d["start_time"], d["end_time"], d["description"]) for d in pred]
    # the annotator accepts the pre-annotation as is: it comes back out of the annotations asset unchanged
    client.sdk.annotations.create(id=task["id"], result=p["result"], lead_time=3.0)
    assert _materialize(server, title, [annotations]).success
    got = snapshots.load_latest(layout).events
    assert [(r.event, r.start_time, r.end_time) for r in got[got.clip_id == c0].itertuples()] == \
           [(d["event"], d["start_time"], d["end_time"]) for d in pred]


def test_cascade_preannotations_sort_by_the_cascade_confidences(label_studio_server, confident_cascade_root, tmp_path):
    """``predictions`` with a spotter of the adapter's splits (the cascade), pushed by ``label_studio_predictions``:
    the server's order by prediction score is the order of the clips' least certain cascade events."""
    server, title = label_studio_server, "cascade-preannotations"
    layout = DataLayout(tmp_path / "data")
    shutil.copytree(confident_cascade_root, layout.root)
    storage = DataDirResource(root=str(layout.root))
    made = materialize([predictions], resources={"storage": storage}, instance=DagsterInstance.ephemeral(),
                       run_config={"ops": {"predictions": {"config": {"max_new_tokens": 8, "proposal_threshold": 0.05}}}})
    preds = read_json(layout.predictions_file)
    assert made.success and preds["mode"] == "cascade" and len(preds["clips"]) == 8
    for clip_id, events in preds["clips"].items():  # the clip score is its least certain cascade event
        if events:
            assert preds["clip_scores"][clip_id] == min(e["confidence"] for e in events)
            assert all(e["sources"]["confidence"] == "spotter" for e in events)
    scores = preds["clip_scores"]
    assert len(set(scores.values())) >= 3, f"(nearly) tied scores order nothing: {scores}"
    client = LabelStudioClient(server.url, server.token, title)
    pid = client.ensure_project()
    client.push_tasks(pid, catalog.list_clips(layout))  # one task per clip (the order needs no video served)
    pushed = materialize([label_studio_predictions], instance=DagsterInstance.ephemeral(), resources={
        "storage": storage, "label_studio": LabelStudioResource(url=server.url, api_key=server.token, project_title=title)})
    assert pushed.success and _meta(pushed, "label_studio_predictions")["predictions_added"] == 8
    by_clip = client.tasks_by_clip(pid)
    for clip_id, events in preds["clips"].items():
        [p] = by_clip[clip_id][0]["predictions"]
        assert p["model_version"] == preds["model_version"] and p["score"] == pytest.approx(scores[clip_id])
        assert [r["score"] for r in p["result"] if r["type"] == "timelinelabels"] == \
               pytest.approx([e["confidence"] for e in events])
    ordered = [t.data["clip_id"] for t in client.sdk.tasks.list(project=pid, fields="all",
                                                                   query=json.dumps({"ordering": ["tasks:predictions_score"]}))]
    assert sorted(ordered) == sorted(scores)
    # least certain first, as the cascade ranks them (clips tied at the 4 decimals kept may come in any order)
    assert [scores[c] for c in ordered] == sorted(scores.values())


def test_unknown_label_from_the_server_is_a_clear_error(label_studio_data):
    server, layout, clips = label_studio_data
    title = "unknown-label"
    assert _materialize(server, title, [label_studio_tasks]).success
    client = LabelStudioClient(server.url, server.token, title)
    task = client.tasks_by_clip(client.ensure_project())[clips[1]["clip_id"]][0]
    result = ls_export.event_results([Event("Goal", 1.0, 2.0)], 4.0)
    result[0]["value"]["timelinelabels"] = ["Offside"]
    client.sdk.annotations.create(id=task["id"], result=result)
    res = _materialize(server, title, [annotations], raise_on_error=False)
    assert not res.success
    err = next(e for e in res.all_events if e.is_step_failure).step_failure_data.error.to_string()
    assert f"clip {clips[1]['clip_id']}" in err and "unknown event label 'Offside'" in err
    assert server.token not in err


def test_sensor_requests_annotations_then_retraining(label_studio_data, monkeypatch):
    server, layout, clips = label_studio_data
    title = "sensor"
    assert _materialize(server, title, [label_studio_tasks]).success
    client = LabelStudioClient(server.url, server.token, title)
    tasks = client.tasks_by_clip(client.ensure_project())
    res = _resources(server, title)
    monkeypatch.setenv("FOOTBALL_RETRAIN_AFTER", "2")
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance, resources={"label_studio": res["label_studio"]})
        assert isinstance(label_studio_sensor(ctx), SkipReason)             # nothing submitted yet
        _annotate(client, tasks[clips[0]["clip_id"]][0]["id"], [Event("Foul", 1.0, 2.0, "late tackle")])
        out = label_studio_sensor(ctx)
        assert isinstance(out, SensorResult) and [r.job_name for r in out.run_requests] == ["annotations_sync_job"]
        ctx.update_cursor(out.cursor)
        assert isinstance(label_studio_sensor(ctx), SkipReason)             # cursor: seen already
        _annotate(client, tasks[clips[1]["clip_id"]][0]["id"], [])
        out = label_studio_sensor(ctx)
        assert [r.job_name for r in out.run_requests] == ["training_job"]   # 2 new since the last training
        assert json.loads(out.cursor)["since_training"] == 0
        down = build_sensor_context(instance=instance, resources={"label_studio": LabelStudioResource(
            url="http://127.0.0.1:9", api_key=server.token)})
        skip = label_studio_sensor(down)
        assert isinstance(skip, SkipReason) and "unreachable" in skip.skip_message


def test_api_key_never_in_error_text(label_studio_data):
    server, _, _ = label_studio_data
    wrong = "wrong-key-" + server.token[:8]
    with pytest.raises(LabelStudioError) as bad_key:
        LabelStudioClient(server.url, wrong, "x").ensure_project()
    assert "list projects failed" in str(bad_key.value) and wrong not in str(bad_key.value)
    with pytest.raises(LabelStudioError) as down:
        LabelStudioClient("http://127.0.0.1:9", server.token, "x").ensure_project()
    assert "http://127.0.0.1:9" in str(down.value) and server.token not in str(down.value)
    assert down.value.__cause__ is None and down.value.__context__ is None
    assert server.token not in repr(LabelStudioClient(server.url, server.token))


def test_server_killed_mid_sync_loses_and_duplicates_nothing(label_studio_data):
    """Runs last in this file: it kills and restarts the session's server (same state on disk)."""
    server, layout, clips = label_studio_data
    title = "interrupted"
    client = LabelStudioClient(server.url, server.token, title)
    pid = client.ensure_project()
    client.push_tasks(pid, clips[:2])
    tasks = client.tasks_by_clip(pid)
    _annotate(client, tasks[clips[0]["clip_id"]][0]["id"], [Event("Red card", 3.0, 4.0, "second yellow")])
    assert _materialize(server, title, [annotations]).success
    before = snapshots.load_latest(layout).version

    def crash(n_created):
        if n_created == 1:
            server.kill()
    with pytest.raises(LabelStudioError, match=rf"Label Studio at {server.url}: .* failed"):
        client.push_tasks(pid, clips, batch_size=1, on_batch=crash)      # dies after the 3rd clip's task
    down = _materialize(server, title, [annotations], raise_on_error=False)
    assert not down.success and snapshots.load_latest(layout).version == before  # a failed pull writes nothing
    assert server.token not in _all_log_text(down)

    server.start()
    res = _materialize(server, title, [label_studio_tasks, annotations])
    assert res.success and all(c.passed for c in res.get_asset_check_evaluations())
    assert _meta(res, "label_studio_tasks")["tasks_created"] == 1
    tasks = client.tasks_by_clip(pid)
    assert sorted(tasks) == sorted(c["clip_id"] for c in clips) and all(len(v) == 1 for v in tasks.values())
    snap = snapshots.load_latest(layout)
    assert snap.version == before                                         # same annotations, same snapshot
    red = snap.events[snap.events.clip_id == clips[0]["clip_id"]]
    assert [(r.event, r.start_time, r.end_time, r.description) for r in red.itertuples()] == \
           [("Red card", 3.0, 4.0, "second yellow")]
