"""The event index and search (issue 15): incremental, idempotent updates; ranking; filters; export;
clear errors."""

import json
import subprocess
from pathlib import Path

import pytest

from football_assets.cli.main import main as cli
from football_assets.core.annotation import snapshots
from football_assets.core.annotation.ls_export import task_export
from football_assets.core.events import Event
from football_assets.core.fsutil import write_json
from football_assets.core.layout import DataLayout
from football_assets.core.search import index, library, query
from football_assets.core.search.export import export
from football_assets.core.search.index import Row, SearchError
from tests.fixtures_video import make_video


def _row(clip, event, start, end, desc, match="m1", conf=None, version=None, video="v.mp4"):
    return Row(clip, match, video, video, event, start, end, start, end, desc, version, conf)


@pytest.fixture
def con(tmp_path):
    c = index.connect(tmp_path / "idx.sqlite")
    yield c
    c.close()


def _snapshot(con):
    return con.execute("SELECT id, origin, event, start_s, description FROM events ORDER BY id").fetchall()


def test_reindexing_the_same_inputs_changes_nothing_and_a_new_clip_touches_only_its_rows(con):
    docs = {"annotation:a": [_row("a", "Goal", 1, 3, "Header from a corner")],
            "annotation:b": [_row("b", "Foul", 0.5, 2, "Late tackle"), _row("b", "Yellow card", 2, 3, "Booked")]}
    first = index.sync_kind(con, "annotation", docs)
    assert first["added"] == 2 and first["rows_written"] == 3
    before, changes = _snapshot(con), con.total_changes
    again = index.sync_kind(con, "annotation", {k: list(reversed(v)) for k, v in docs.items()})
    assert again == {"added": 0, "updated": 0, "unchanged": 2, "removed": 0, "rows_written": 0}
    assert _snapshot(con) == before and con.total_changes == changes  # not one row rewritten

    docs["annotation:c"] = [_row("c", "Corner", 4, 6, "Corner swung in")]
    third = index.sync_kind(con, "annotation", docs)
    assert (third["added"], third["unchanged"], third["rows_written"]) == (1, 2, 1)
    assert _snapshot(con)[:3] == before  # the old rows keep their ids

    docs["annotation:b"] = [_row("b", "Foul", 0.5, 2, "Late tackle from behind")]
    del docs["annotation:a"]
    fourth = index.sync_kind(con, "annotation", docs)
    assert (fourth["updated"], fourth["removed"], fourth["unchanged"]) == (1, 1, 1)
    assert {r[1] for r in _snapshot(con)} == {"annotation:b", "annotation:c"}
    assert [h.description for h in query.search(con, "tackle")] == ["Late tackle from behind"]
    assert query.search(con, "booked") == []  # the deleted row left the text index too


def test_known_rows_come_back_in_rank_order_with_filters(con):
    index.sync_kind(con, "annotation", {
        "annotation:a": [_row("a", "Goal", 1, 3, "Header from a corner at the far post")],
        "annotation:b": [_row("b", "Shot on target", 2, 4, "Header at the near post, saved")],
        "annotation:c": [_row("c", "Corner", 0, 2, "Short corner routine")],
        "annotation:d": [_row("d", "Substitution", 5, 7, "Number 9 replaced by number 14")]})
    index.sync_kind(con, "prediction", {
        "prediction:e": [_row("e", "Corner", 1, 2, "Corner from the left", match="m2", conf=0.9, version="v1"),
                         _row("e", "Foul", 3, 4, "Header duel, foul", match="m2", conf=0.3, version="v1")]})
    hits = query.search(con, "header from a corner at the far post")
    assert [h.clip_id for h in hits][:1] == ["a"]
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert "d" not in {h.clip_id for h in hits}
    assert [h.clip_id for h in query.search(con, "header far post")][:2] == ["a", "b"]
    assert [(h.clip_id, h.source) for h in query.search(con, "corner", source="model")] == [("e", "model")]
    assert {h.clip_id for h in query.search(con, "corner", source="truth")} == {"a", "c"}
    assert [h.clip_id for h in query.search(con, "header", match="m2")] == ["e"]
    assert [h.event for h in query.search(con, "header", min_confidence=0.5)] == ["Goal", "Shot on target"]
    assert [h.event for h in query.search(con, "header", event="Foul")] == ["Foul"]
    sub = query.search(con, "player replaced")  # a paraphrase found through the class words
    assert [h.clip_id for h in sub] == ["d"] and sub[0].event == "Substitution"
    assert query.search(con, "sent off") == []  # no red card indexed


def test_above_the_rank_cap_events_with_all_words_come_first(con, monkeypatch):
    rows = [_row(f"c{i}", "Yellow card", 1, 2, f"Yellow card number {i}") for i in range(6)]
    rows += [_row("r1", "Red card", 1, 2, "Straight red card"), _row("r2", "Red card", 1, 2, "A red card")]
    rows += [_row(f"t{i}", "Goal", 1, 2, f"Reds score {i}") for i in range(4)]
    index.sync_kind(con, "annotation", {f"annotation:{r.clip_id}": [r] for r in rows})
    monkeypatch.setattr(query, "RANK_CAP", 3)
    hits = query.search(con, "red card", limit=4)
    assert {h.clip_id for h in hits[:2]} == {"r1", "r2"} and len(hits) == 4


def _library(tmp_path: Path) -> DataLayout:
    """Two real clips, one cut from a longer match at 30 s (raw facts), an annotation snapshot of one and
    predictions for the other."""
    layout = DataLayout(tmp_path / "data")
    for key, seg in (("clip-a", [30.0, 36.0]), ("clip-b", [None, None])):
        video = make_video(layout.clip(key), seconds=6.0, rate="4")
        write_json(layout.clip_facts(key), {"clip_id": key, "source_id": "match-1", "path": str(video),
                                            "duration_s": 6.0, "fps": 4})
        write_json(layout.raw_dir / f"{key}.json", {"source": "/videos/match-1.mp4", "segment": seg,
                                                    "source_id": "match-1"})
    export_ = [task_export("clip-a", 4, [Event("Goal", 1.0, 3.0, "Header from a corner, keeper beaten")], 1)]
    tasks = snapshots.parse_export(export_, "test export")
    events, task_df, _ = snapshots.build_frames(tasks, {c["clip_id"]: c for c in
                                                         [json.loads(layout.clip_facts(k).read_text())
                                                          for k in ("clip-a", "clip-b")]})
    snapshots.write_snapshot(layout, events, task_df)
    write_json(layout.predictions_file, {"model_version": "adapter-7", "clips": {"clip-b": [
        {"event": "Red card", "start_time": 2.0, "end_time": 4.5, "description": "Sent off for a lunge",
         "confidence": 0.8}]}})
    return layout


def test_library_update_places_events_in_clip_and_source_and_is_incremental(tmp_path):
    layout = _library(tmp_path)
    first = library.update(layout)
    assert first["annotation"]["added"] == 1 and first["prediction"]["added"] == 1
    assert first["stats"]["rows"] == 2
    again = library.update(layout)
    assert again["annotation"]["unchanged"] == 1 and again["prediction"]["unchanged"] == 1
    assert again["stats"]["version"] == first["stats"]["version"]
    con = index.connect(layout.index_file, create=False)
    goal, = query.search(con, "goal")
    assert (goal.source, goal.match_id, goal.start_s, goal.source_start_s, goal.source_end_s) == \
        ("truth", "match-1", 1.0, 31.0, 33.0)
    assert goal.source_video == "/videos/match-1.mp4" and goal.video == str(layout.clip("clip-a"))
    red, = query.search(con, "sent off")
    assert (red.source, red.model_version, red.confidence, red.source_start_s) == ("model", "adapter-7", 0.8, 2.0)
    con.close()
    # an analysis joins through the CLI flag; only its rows are written
    result = {"video": str(layout.clip("clip-b")), "model_version": "adapter-7", "duration": 6.0,
              "events": [{"event": "Corner", "start_time": 0.5, "end_time": 2.0, "description": "Corner kick",
                          "confidence": 0.6}]}
    assert library.index_analysis(layout, result, "match-9") == "added"
    assert library.index_analysis(layout, result, "match-9") == "unchanged"
    third = library.update(layout)  # the kept analysis is part of the library from now on
    assert third["analysis"]["unchanged"] == 1 and third["stats"]["rows"] == 3


def test_event_index_asset_materializes_incrementally(tmp_path):
    from dagster import DagsterInstance, materialize

    from football_assets.defs.search.assets import event_index
    from resources import DataDirResource

    layout = _library(tmp_path)
    instance = DagsterInstance.ephemeral()
    runs = [materialize([event_index], instance=instance, resources={"storage": DataDirResource(root=str(layout.root))})
            for _ in range(2)]
    metas = [r.asset_materializations_for_node("event_index")[0].metadata for r in runs]
    assert metas[0]["rows"].value == 2
    assert metas[0]["changes"].value["annotation"]["added"] == 1
    assert metas[1]["changes"].value["annotation"] == {"added": 0, "updated": 0, "removed": 0, "rows_written": 0}


def _duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def test_exported_clips_play_and_have_the_right_duration(tmp_path):
    layout = _library(tmp_path)
    library.update(layout)
    con = index.connect(layout.index_file, create=False)
    hits = query.search(con, "goal") + query.search(con, "red card")
    con.close()
    hits = [h.__class__(**{**h.to_dict(), "rank": i + 1}) for i, h in enumerate(hits)]
    out = export(hits, tmp_path / "export", margin=1.0)
    assert len(out["clips"]) == 2
    # goal 1.0-3.0 s -> 0.0-4.0 s; red card 2.0-4.5 s -> 1.0-5.5 s (clip lasts 6 s)
    for f, want in zip(out["clips"], (4.0, 4.5)):
        assert abs(_duration(Path(f)) - want) <= 0.25 + 1e-6  # one frame at 4 fps
        dec = subprocess.run(["ffmpeg", "-v", "error", "-i", f, "-f", "null", "-"], capture_output=True, text=True)
        assert dec.returncode == 0 and dec.stderr.strip() == ""  # decodes with no error
    import matplotlib.image as mpimg

    sheet = mpimg.imread(out["contact_sheet"])
    assert sheet.shape[0] > 100 and sheet.shape[1] > 400
    assert [r["event"] for r in json.loads(Path(out["results"]).read_text())] == ["Goal", "Red card"]


def test_cli_search_prints_ranked_results_and_exports(tmp_path, capsys):
    layout = _library(tmp_path)
    library.update(layout)
    rc = cli(["search", "header from a corner", "--data-dir", str(layout.root), "--json"])
    hits = json.loads(capsys.readouterr().out)
    assert rc == 0 and hits[0]["clip_id"] == "clip-a" and hits[0]["source_start_s"] == 31.0
    rc = cli(["search", "red card", "--data-dir", str(layout.root), "--export", str(tmp_path / "x")])
    assert rc == 0 and (tmp_path / "x" / "contact_sheet.png").exists()
    assert len(list((tmp_path / "x").glob("*.mp4"))) == 1


@pytest.mark.parametrize("args, message", [
    (["search", "goal"], "event index"),  # missing index
    (["search", "the of !!!"], "no searchable words"),
    (["search", ""], "empty query"),
    (["search", "goal", "--match", "no-such-match"], "unknown match 'no-such-match'"),
    (["search", "goal", "--event", "Offside"], "unknown event class 'Offside'"),
    (["search", "goal", "--min-confidence", "2"], "between 0 and 1"),
])
def test_cli_errors_are_one_clear_line(tmp_path, capsys, args, message):
    layout = _library(tmp_path)
    if message != "event index":
        library.update(layout)
    rc = cli([*args, "--data-dir", str(layout.root)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    if message == "unknown match 'no-such-match'":
        assert "match-1" in err  # names the known ones


def test_empty_index_says_so(con):
    with pytest.raises(SearchError, match="the event index is empty"):
        query.search(con, "goal")


def test_a_broken_index_file_is_named(tmp_path):
    bad = tmp_path / "events.sqlite"
    bad.write_text("not a database")
    with pytest.raises(SearchError, match=f"event index {bad}"):
        index.connect(bad)
