"""PostgreSQL storage for a shared deployment (deploy/dagster-postgres.yaml) against a real
server: the instance loads, a partitioned clip materializes into it, pool limits work there too."""

import os
import shutil

from dagster import AssetKey, DagsterInstance, materialize

from deploy import pools
from football_assets.core.ingest import catalog
from football_assets.core.ingest.sources import demo_sources
from football_assets.core.layout import DataLayout
from football_assets.defs.ingest.assets import ingest_clips
from football_assets.defs.ingest.partitions import clip_partitions
from resources import DataDirResource
from tests.fixtures_ops import ROOT


def test_postgres_instance_runs_a_materialization(postgres_server, tmp_path, monkeypatch):
    for k, v in postgres_server.items():
        monkeypatch.setenv(k, v)
    home = tmp_path / "pg_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")

    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert pools.apply(instance) == {"gpu": 1}

        layout = DataLayout(tmp_path / "data")
        source = demo_sources(1)[0]
        catalog.register(layout, [source])
        instance.add_dynamic_partitions(clip_partitions.name, [source.key])
        result = materialize([ingest_clips], instance=instance, partition_key=source.key,
                             resources={"storage": DataDirResource(root=str(layout.root))})
        assert result.success
        run_id = result.run_id

    # a second process (another instance object) sees the same run, partition and pool limit
    with DagsterInstance.from_config(str(home)) as other:
        assert other.get_run_by_id(run_id).is_success
        assert source.key in other.get_dynamic_partitions(clip_partitions.name)
        assert other.event_log_storage.get_concurrency_info("gpu").slot_count == 1
        record = other.get_latest_materialization_event(AssetKey("clips_4fps"))
        assert record.run_id == run_id
        assert os.path.exists(record.asset_materialization.metadata["path"].value)
