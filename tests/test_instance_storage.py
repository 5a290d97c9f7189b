"""The instance's event log (``football_assets.instance_storage``): what dagster.yaml makes, readable by
Dagster's own SQLite class, live for a watcher in another instance (the UI's run view), bounded in
open engines, and safe to wipe."""

import threading
import time

import pytest
from dagster import DagsterInstance, asset, define_asset_job, materialize
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from football_assets import instance_storage
from football_assets.instance_storage import PooledSqliteEventLogStorage
from tests.fixtures_ops import make_dagster_home


@asset
def tiny() -> int:
    return 1


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = make_dagster_home(tmp_path / "home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_dagster_yaml_makes_the_pooled_event_log_in_dagster_s_own_files(home):
    with DagsterInstance.get() as instance:
        assert type(instance.event_log_storage) is PooledSqliteEventLogStorage
        result = materialize([tiny], instance=instance)
        assert result.success
    assert (home / "history" / "runs" / "index.db").exists()
    assert (home / "history" / "runs" / f"{result.run_id}.db").exists()

    plain = SqliteEventLogStorage(str(home / "history" / "runs"))  # the class Dagster uses by default
    records = plain.get_records_for_run(result.run_id).records
    assert "ASSET_MATERIALIZATION" in {r.event_log_entry.dagster_event_type.value for r in records if r.event_log_entry.is_dagster_event}
    assert plain.get_latest_materialization_events([tiny.key])[tiny.key] is not None


def test_a_watcher_in_another_instance_sees_each_event_as_it_is_written(home):
    """The UI follows a live run through file changes on its run database; the writes must reach it."""
    with DagsterInstance.get() as writer, DagsterInstance.get() as viewer:
        run = writer.create_run_for_job(define_asset_job("j", [tiny]).resolve(asset_graph=_graph()))
        seen, arrived = [], threading.Event()

        def on_event(entry, _cursor):
            seen.append(entry.message)
            if entry.message == "third":
                arrived.set()

        viewer.watch_event_logs(run.run_id, None, on_event)
        try:
            for message in ("first", "second", "third"):
                writer.report_engine_event(message, run)
                time.sleep(0.2)
            assert arrived.wait(timeout=20), f"the watcher saw only {seen}"
        finally:
            viewer.end_watch_event_logs(run.run_id, on_event)
    assert [m for m in seen if m in ("first", "second", "third")] == ["first", "second", "third"]


def test_open_engines_are_bounded_and_wipe_starts_clean(home, monkeypatch):
    monkeypatch.setattr(instance_storage, "MAX_RUN_SHARDS", 2)
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        job = define_asset_job("j", [tiny]).resolve(asset_graph=_graph())
        runs = [instance.create_run_for_job(job) for _ in range(5)]
        for run in runs:
            instance.report_engine_event("hello", run)
        assert len(storage._engines) == 3  # the index and the two newest runs
        assert [r.run_id for r in runs[-2:]] == [s for s in storage._engines if s != "index"]
        assert all(storage.get_records_for_run(r.run_id).records for r in runs)  # older runs reopen on demand

        storage.wipe()
        assert not [p for p in (home / "history" / "runs").glob("*.db") if p.name != "index.db"]
        instance.report_engine_event("after wipe", runs[0])
        assert [r.event_log_entry.message for r in storage.get_records_for_run(runs[0].run_id).records] == ["after wipe"]


def test_one_instance_serves_many_threads(home):
    """The webserver and the ingest op use one instance from several threads; the kept connections must
    move between them."""
    from concurrent.futures import ThreadPoolExecutor

    with DagsterInstance.get() as instance:
        job = define_asset_job("j", [tiny]).resolve(asset_graph=_graph())
        run = instance.create_run_for_job(job)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: instance.report_engine_event(f"from thread {i}", run), range(12)))
        messages = {r.event_log_entry.message for r in instance.event_log_storage.get_records_for_run(run.run_id).records}
    assert {f"from thread {i}" for i in range(12)} <= messages


def test_the_event_log_needs_dagster_home(tmp_path, monkeypatch):
    home = make_dagster_home(tmp_path / "home")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(Exception, match="DAGSTER_HOME"):
        DagsterInstance.from_config(str(home)).event_log_storage


def _graph():
    from dagster import Definitions

    return Definitions(assets=[tiny]).resolve_asset_graph()


def test_the_private_dagster_api_it_relies_on(tmp_path):
    """``PooledSqliteEventLogStorage`` subclasses Dagster's private SQLite event log (its docstring says why);
    this fails, naming the piece, when a Dagster release moves or renames what it relies on."""
    import inspect

    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

    assert sqlite_event_log.INDEX_SHARD_NAME and SQLITE_BUSY_TIMEOUT_SECONDS > 0
    base = sqlite_event_log.SqliteEventLogStorage
    for name in ("_connect", "_initdb", "conn_string_for_shard", "has_table", "wipe", "dispose"):
        assert callable(getattr(base, name, None)), f"SqliteEventLogStorage.{name} is gone"
    assert list(inspect.signature(base._connect).parameters) == ["self", "shard"]
    storage = base(str(tmp_path / "runs"))
    try:
        assert isinstance(storage._initialized_dbs, set) and hasattr(storage._db_lock, "__enter__")
    finally:
        storage.dispose()
