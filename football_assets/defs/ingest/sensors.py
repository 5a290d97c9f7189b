"""Sensors: register manifest entries as clip partitions and ingest the new ones, in runs of up to
``CLIPS_PER_RUN`` clips (the ingest backfill policy's partition ranges)."""


from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from football_assets.core.ingest import catalog
from football_assets.core.ingest.sources import ManifestError, expand_search, load_manifest
from football_assets.core.layout import DataLayout
from football_assets.defs.ingest.jobs import ingest_job
from football_assets.defs.ingest.partitions import CLIPS_PER_RUN, clip_partitions, clip_ranges
from resources import DataDirResource


def resolve_sources(storage: DataDirResource, log=None):
    """Manifest entries with ``ytsearchN:`` expanded; a search that fails is logged and left out."""
    out = []
    for src in load_manifest(storage.manifest_path):
        try:
            out.extend(expand_search(src))
        except Exception as exc:  # network errors from yt-dlp: keep the other entries
            if log:
                log.warning(f"could not resolve {src.location}: {exc}")
    return out


@sensor(job=ingest_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Reads sources.yaml; adds a clip partition per new entry and ingests it.")
def clip_sources_sensor(context: SensorEvaluationContext, storage: DataDirResource):
    try:
        sources = resolve_sources(storage, context.log)
    except ManifestError as exc:
        return SkipReason(f"manifest error: {exc}")
    catalog.register(DataLayout.at(storage.root), sources)
    known_in_order = list(context.instance.get_dynamic_partitions(clip_partitions.name))
    known = set(known_in_order)
    new = list(dict.fromkeys(s.key for s in sources if s.key not in known))
    if not new:
        return SkipReason(f"all {len(sources)} manifest entries are registered")
    # New keys are appended to the partition list in this order, so they form contiguous ranges.
    ranges = clip_ranges(new, [*known_in_order, *new], CLIPS_PER_RUN)
    return SensorResult(
        run_requests=[RunRequest(run_key=f"ingest-{first}-{last}",
                                 tags={"dagster/asset_partition_range_start": first,
                                       "dagster/asset_partition_range_end": last})
                      for first, last in ranges],
        dynamic_partitions_requests=[clip_partitions.build_add_request(new)],
    )
