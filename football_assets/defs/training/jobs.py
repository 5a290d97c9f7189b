"""The training job: everything after the clips, over all clips (the schedule, the Label Studio sensor and
the demo driver launch it)."""

from dagster import AssetSelection, define_asset_job

#: Everything after the clips: annotations -> splits -> adapter -> evaluation report -> event index (unpartitioned).
DOWNSTREAM_GROUPS = ("annotation", "dataset", "training", "evaluation", "search")

training_job = define_asset_job(
    "training_job", selection=AssetSelection.groups(*DOWNSTREAM_GROUPS),
    description="Annotations -> SFT splits -> LoRA adapter -> evaluation report -> event index, over all clips.",
)
