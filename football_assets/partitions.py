"""One dynamic partition per clip; keys come from ``core.sources`` (hashes, filesystem-safe)."""

from dagster import DynamicPartitionsDefinition

clip_partitions = DynamicPartitionsDefinition(name="clips")

#: Clips per ingest run: a backfill or the demo driver splits N clips into ceil(N / CLIPS_PER_RUN) runs,
#: each working through its clips with a pool sized to the cores (``assets.ingest``).
CLIPS_PER_RUN = 100
