"""Sensors: register manifest entries as clip partitions and ingest the new ones."""


from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from football_assets.core.ingest import catalog
from football_assets.core.ingest.sources import ManifestError, expand_search, load_manifest
from football_assets.defs.ingest.jobs import ingest_job
from football_assets.defs.ingest.partitions import clip_partitions
from football_assets.core.layout import DataLayout
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
    known = set(context.instance.get_dynamic_partitions(clip_partitions.name))
    new = [s.key for s in sources if s.key not in known]
    if not new:
        return SkipReason(f"all {len(sources)} manifest entries are registered")
    return SensorResult(
        run_requests=[RunRequest(partition_key=k, run_key=f"ingest-{k}") for k in new],
        dynamic_partitions_requests=[clip_partitions.build_add_request(new)],
    )
