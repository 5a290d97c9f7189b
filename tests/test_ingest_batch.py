"""Many clip partitions per run: per-partition results, failure isolation, idempotent re-runs, file
modes, and the demo driver's console output. Real ffmpeg, real Dagster runs."""

import os
import stat
import subprocess
import sys

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context, execute_job, materialize, reconstructable
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from football_assets.core.fsutil import atomic_dir, write_json
from football_assets.defs.ingest.assets import ingest_clips
from football_assets.defs.ingest.partitions import clip_partitions, clip_ranges
from tests.fixtures_ops import ROOT, make_dagster_home
from tests.fixtures_video import failure_message, leftovers

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
CHECKS = {"raw_clips": {"has_video_stream"},
          "clips_4fps": {"constant_4fps", "size_720x480", "codec_h264", "duration_matches_source", "decodable"}}


def run_range(runner, first: str, last: str):
    return materialize([ingest_clips], instance=runner.instance, resources={"storage": runner.storage},
                       tags=dict(zip(RANGE, (first, last))), raise_on_error=False)


def per_partition(result):
    """{(asset, partition): metadata} of the materializations and {(asset, partition): {check: passed}}."""
    mats, checks = {}, {}
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_MATERIALIZATION":
            m = ev.event_specific_data.materialization
            mats[(m.asset_key.to_user_string(), m.partition)] = {k: v.value for k, v in m.metadata.items()}
        elif ev.event_type_value == "ASSET_CHECK_EVALUATION":
            c = ev.asset_check_evaluation_data
            checks.setdefault((c.asset_key.to_user_string(), c.partition), {})[c.check_name] = c.passed
    return mats, checks


@pytest.fixture
def batch(clip_runner, media):
    """Four clips registered in a row, the third one not a video."""
    good = [media.good(f"g{i}.mp4", seconds=1.0 + i * 0.5) for i in range(3)]
    paths = [good[0], good[1], media.text_file(), good[2]]
    keys = [clip_runner.add({"path": str(p)}) for p in paths]
    return keys, keys[2]


def test_bad_clip_fails_only_its_partition_in_a_batch_run(clip_runner, batch):
    keys, bad = batch
    result = run_range(clip_runner, keys[0], keys[-1])
    assert not result.success
    msg = failure_message(result)
    assert f"1 of 4 clips failed:\n{bad}: not a readable video" in msg, msg
    mats, checks = per_partition(result)
    good = [k for k in keys if k != bad]
    assert set(mats) == {(a, k) for a in CHECKS for k in good}
    for asset, names in CHECKS.items():
        for k in good:
            assert checks[(asset, k)] == {n: True for n in names}, (asset, k)
    assert mats[("clips_4fps", good[2])]["frames"] == 8 and mats[("clips_4fps", good[1])]["frames"] == 6
    assert all(clip_runner.layout.clip(k).exists() for k in good) and not clip_runner.layout.clip(bad).exists()
    assert leftovers(clip_runner.layout) == []
    # The UI's partition status: the good clips materialized, just the bad one failed.
    for asset in CHECKS:
        status = get_and_update_asset_status_cache_value(clip_runner.instance, AssetKey(asset), clip_partitions)
        assert set(status.deserialize_materialized_partition_subsets(clip_partitions).get_partition_keys()) == set(good)
        assert set(status.deserialize_failed_partition_subsets(clip_partitions).get_partition_keys()) == {bad}


def test_rerunning_a_batch_is_idempotent(clip_runner, batch):
    keys, bad = batch
    first = run_range(clip_runner, keys[0], keys[-1])
    files = sorted(p for p in clip_runner.layout.root.rglob("*") if p.is_file())
    stamps = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    again = run_range(clip_runner, keys[0], keys[-1])
    assert failure_message(again) == failure_message(first)
    mats1, checks1 = per_partition(first)
    mats2, checks2 = per_partition(again)
    assert checks2 == checks1 and set(mats2) == set(mats1)
    assert all(m["cached"] is True for m in mats2.values())
    assert {k: {n: v for n, v in m.items() if n != "cached"} for k, m in mats2.items()} == \
           {k: {n: v for n, v in m.items() if n != "cached"} for k, m in mats1.items()}
    assert sorted(p for p in clip_runner.layout.root.rglob("*") if p.is_file()) == files
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == stamps  # nothing rewritten


def test_written_files_respect_the_umask(clip_runner, media, tmp_path):
    old = os.umask(0o022)
    try:
        key = clip_runner.add({"path": str(media.good())})
        assert run_range(clip_runner, key, key).success
        written = [p for p in clip_runner.layout.root.rglob("*") if p.is_file()]
        assert {p.suffix for p in written} == {".mp4", ".json"} and len(written) >= 5
        assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {oct(0o644)}
        os.umask(0o027)
        write_json(tmp_path / "x.json", {"a": 1})
        with atomic_dir(tmp_path / "d") as d:
            (d / "f").write_text("f")
        assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == 0o640
        assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750
    finally:
        os.umask(old)


def test_clip_ranges_cover_only_the_given_keys():
    order = [f"k{i}" for i in range(10)]
    assert clip_ranges(["k1", "k2", "k3", "k5", "k9"], order, 2) == [("k1", "k2"), ("k3", "k3"), ("k5", "k5"), ("k9", "k9")]
    assert clip_ranges(order, order, 100) == [("k0", "k9")]
    with pytest.raises(ValueError, match="not registered.*nope"):
        clip_ranges(["nope"], order)


def ingest_cli() -> subprocess.CompletedProcess:
    """``football-events demo --ingest-only`` in its own process, as a user runs it (this checkout's code)."""
    entry = "import sys; from football_assets.cli.main import main; sys.exit(main())"  # the console script's
    return subprocess.run([sys.executable, "-c", entry, "demo", "--ingest-only"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)


def test_demo_driver_and_sensor_batch_and_print_one_line_per_failed_clip(tmp_path, media, monkeypatch):
    """The CLI on the project's dagster.yaml (the pooled event log), as `make` sets it up. (In process under
    pytest's output capture it cannot run: every Dagster run on an instance with a dagster.yaml calls
    ``logging.config.dictConfig``, which closes all logging handlers, and absl's handler, which rouge-score
    imports, then closes the stream it was made with: pytest's own capture file.)"""
    from football_assets.cli import run as driver
    from football_assets.defs.ingest.sensors import clip_sources_sensor
    from resources import DataDirResource

    home = make_dagster_home(tmp_path / "dagster_home")
    manifest = tmp_path / "sources.yaml"
    for name, value in {"DAGSTER_HOME": home, "FOOTBALL_DATA_DIR": tmp_path / "data", "FOOTBALL_MANIFEST": manifest}.items():
        monkeypatch.setenv(name, str(value))
    clips = [media.good("a.mp4", 1.0), media.text_file(), media.good("b.mp4", 1.0)]
    manifest.write_text("sources:\n" + "".join(f"  - path: {p}\n" for p in clips))
    first = ingest_cli()
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    failed = [ln for ln in first.stdout.splitlines() if ": not a readable video" in ln]
    assert len(failed) == 1 and failed[0].startswith("file-") and failed[0].split(": ")[0].count(" ") == 0, out
    assert "Traceback" not in out and "ingest: 2 clips ok, 1 failed" in first.stdout
    bad = failed[0].split(": ")[0]
    with DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].tags[RANGE[0]] != runs[0].tags[RANGE[1]]  # one run for the three clips
    # A re-run skips the two clips that are materialized and current; only the bad one is tried again.
    again = ingest_cli()
    assert again.returncode == 0 and "2 of 3 clips up to date" in again.stdout, again.stdout + again.stderr
    with DagsterInstance.get() as instance:
        rerun = instance.get_runs(limit=1)[0]
        assert (rerun.tags[RANGE[0]], rerun.tags[RANGE[1]]) == (bad, bad)
        # The traceback-free cause is in the run's event log too, naming the clip.
        assert any("not a readable video" in (e.user_message or "") for e in instance.all_logs(runs[-1].run_id))
        # Two clips added: the sensor asks for one range run over exactly those two, which ingests them.
        more = [media.good("c.mp4", 1.0), media.good("d.mp4", 1.5)]
        manifest.write_text(manifest.read_text() + "".join(f"  - path: {p}\n" for p in more))
        sensed = clip_sources_sensor(build_sensor_context(instance=instance, resources={"storage": DataDirResource()}))
        assert len(sensed.run_requests) == 1
        tags = sensed.run_requests[0].tags
        instance.add_dynamic_partitions(clip_partitions.name, sensed.dynamic_partitions_requests[0].partition_keys)
        new = sensed.dynamic_partitions_requests[0].partition_keys
        assert (tags[RANGE[0]], tags[RANGE[1]]) == (new[0], new[1])
        result = execute_job(reconstructable(driver._ingest_job), instance=instance, tags=tags,
                             run_config=driver.INGEST_QUIET)
        assert result.success
        made = {e.event_specific_data.materialization.partition for e in result.get_asset_materialization_events()}
        assert made == set(new)


def test_ui_backfills_batch_clips_by_the_backfill_policy():
    from dagster import BackfillPolicy

    from football_assets.definitions import defs
    from football_assets.defs.ingest.partitions import CLIPS_PER_RUN

    graph = defs.resolve_asset_graph()
    for asset in CHECKS:
        assert graph.get(AssetKey(asset)).backfill_policy == BackfillPolicy.multi_run(CLIPS_PER_RUN)
