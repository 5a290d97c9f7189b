"""Jobs: asset selections the sensors, schedules and the demo driver launch."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from football_assets.partitions import clip_partitions

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.assets("raw_clips", "clips_4fps"), partitions_def=clip_partitions,
    executor_def=in_process_executor,  # one step (a pool of ffmpeg workers) per run: no subprocess per step
    description="Fetch clips and make their 4 fps model clips: one partition, or a range of them per run.",
)

#: Everything after the clips: annotations -> splits -> adapter -> evaluation report (unpartitioned).
DOWNSTREAM_GROUPS = ("annotation", "dataset", "training", "evaluation")

training_job = define_asset_job(
    "training_job", selection=AssetSelection.groups(*DOWNSTREAM_GROUPS),
    description="Annotations -> SFT splits -> LoRA adapter -> evaluation report, over all clips.",
)
