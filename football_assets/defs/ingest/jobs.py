"""The ingest job: one clip's raw file and 4 fps clip (the sources sensor and the demo driver launch it)."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from football_assets.defs.ingest.partitions import clip_partitions

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.assets("raw_clips", "clips_4fps"), partitions_def=clip_partitions,
    executor_def=in_process_executor,  # one clip per run: no subprocess per step
    description="Fetch one clip and make its 4 fps model clip.",
)
