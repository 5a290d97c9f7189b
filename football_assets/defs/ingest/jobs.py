"""The ingest job: clips' raw files and 4 fps clips, one partition or a range per run (the sources sensor and the demo driver launch it)."""

from dagster import AssetSelection, define_asset_job, in_process_executor

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.assets("raw_clips", "clips_4fps"),
    executor_def=in_process_executor,  # one step (a pool of ffmpeg workers) per run: no subprocess per step
    description="Fetch clips and make their 4 fps model clips: one partition, or a range of them per run.",
)
