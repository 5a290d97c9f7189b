"""One dynamic partition per clip; keys come from ``core/ingest/sources.py`` (hashes, filesystem-safe)."""

from dagster import DynamicPartitionsDefinition

clip_partitions = DynamicPartitionsDefinition(name="clips")
