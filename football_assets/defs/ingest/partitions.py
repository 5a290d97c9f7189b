"""One dynamic partition per clip; keys come from ``core/ingest/sources.py`` (hashes, filesystem-safe)."""

from dagster import DynamicPartitionsDefinition

clip_partitions = DynamicPartitionsDefinition(name="clips")

#: Clips per ingest run: a backfill or the demo driver splits N clips into ceil(N / CLIPS_PER_RUN) runs,
#: each working through its clips with a pool sized to the cores (``defs/ingest/assets.py``).
CLIPS_PER_RUN = 100


def clip_ranges(keys: list[str], registered: list[str], per_run: int = CLIPS_PER_RUN) -> list[tuple[str, str]]:
    """Split ``keys`` into (first, last) partition key ranges of at most ``per_run`` clips, each covering
    only ``keys`` in the registration order ``registered`` (what a range of a dynamic partition means)."""
    position = {k: i for i, k in enumerate(registered)}
    missing = [k for k in keys if k not in position]
    if missing:
        raise ValueError(f"clip partition(s) not registered: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    ranges: list[list[int]] = []
    for i in sorted({position[k] for k in keys}):
        if ranges and ranges[-1][1] == i - 1 and ranges[-1][1] - ranges[-1][0] + 1 < per_run:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    return [(registered[a], registered[b]) for a, b in ranges]
