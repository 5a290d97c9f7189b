"""The main command's driver: register every manifest clip, ingest them in a few batched runs (the
ingest backfill policy's ranges of clips, each run with a worker pool sized to the cores; one bad clip
never stops the others), then materialize the downstream graph in one run.

Everything lands in the project's Dagster instance (``DAGSTER_HOME``), so the UI shows the same
materializations, checks and lineage afterwards. The console gets a progress bar over the clips and one
line per failed clip (``clip: cause``); tracebacks stay in the Dagster event log.
"""

import argparse
import sys
import time

from dagster import DagsterInstance, execute_job, reconstructable

from football_assets.core.ingest import batch, catalog
from football_assets.core.layout import DataLayout
from football_assets.defs.ingest.partitions import CLIPS_PER_RUN, clip_partitions, clip_ranges
from football_assets.defs.ingest.sensors import resolve_sources
from resources import DataDirResource

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
INGEST_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failed clips: one line each, below


def _ingest_job():
    """The ingest job from the ingest assets alone: importing the whole code location (Label Studio SDK,
    pandas, the trainer) would cost the CLI seconds before the first clip."""
    from dagster import Definitions

    from football_assets.defs.ingest.assets import ingest_clips
    from football_assets.defs.ingest.jobs import ingest_job

    return Definitions(assets=[ingest_clips], jobs=[ingest_job], resources={"storage": DataDirResource()}) \
        .resolve_job_def("ingest_job")


def _training_job():
    from football_assets.definitions import defs

    return defs.resolve_job_def("training_job")


def _first_error(result) -> str:
    for ev in result.all_events:
        if ev.is_step_failure and ev.step_failure_data and ev.step_failure_data.error:
            return ev.step_failure_data.error.message.strip().splitlines()[0]
    return "run failed"


def ingest_range(instance: DagsterInstance, first: str, last: str, workers: int | None = None):
    """One ingest run over the clip partitions ``first``..``last`` (the tags a backfill run carries)."""
    run_config = {**INGEST_QUIET, "ops": {"ingest_clips": {"config": {"workers": workers or 0}}}}
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return execute_job(reconstructable(_ingest_job), instance=instance, run_config=run_config, tags=tags,
                       raise_on_error=False)


def register_partitions(instance: DagsterInstance, storage: DataDirResource) -> list[str]:
    sources = resolve_sources(storage)
    catalog.register(DataLayout.at(storage.root), sources)
    keys = [s.key for s in sources]
    known = set(instance.get_dynamic_partitions(clip_partitions.name))
    missing = [k for k in keys if k not in known]
    if missing:
        instance.add_dynamic_partitions(clip_partitions.name, missing)
    return keys


def up_to_date(instance: DagsterInstance, keys: list[str], layout) -> set[str]:
    """Clips already materialized in this instance (both assets) whose files are current on disk: a
    re-run skips them, as "materialize missing" would, so it records and encodes nothing for them."""
    from dagster import AssetKey

    done = set(instance.get_materialized_partitions(AssetKey("raw_clips"))) & \
        set(instance.get_materialized_partitions(AssetKey("clips_4fps")))
    return {k for k in keys if k in done and catalog.is_current(layout, k)}


def ingest_all(keys: list[str], workers: int | None = None, log=print, progress: bool = True,
               skip_current: bool = True, instance: DagsterInstance | None = None) -> dict[str, str]:
    """Ingest the clips that are not up to date in runs of at most ``CLIPS_PER_RUN``; return {key: cause}
    for the clips that failed."""
    if instance is None:
        with DagsterInstance.get() as instance:
            return ingest_all(keys, workers, log, progress, skip_current, instance)
    from tqdm import tqdm

    failed: dict[str, str] = {}
    done: set[str] = set()
    if skip_current:
        current = up_to_date(instance, keys, DataLayout.at(DataDirResource().root))
        if current:
            log(f"{len(current)} of {len(keys)} clips up to date (materialized, files unchanged)")
        keys = [k for k in keys if k not in current]
    if not keys:
        return failed
    bar = tqdm(total=len(keys), unit="clip", desc="ingest", disable=not progress or None, leave=True)

    def report(outcome: batch.ClipOutcome) -> None:
        done.add(outcome.key)
        if not outcome.ok:
            failed[outcome.key] = outcome.cause
            (bar.write if progress else log)(outcome.line)
        bar.update(1)

    batch.PROGRESS_LISTENERS.append(report)
    try:
        registered = instance.get_dynamic_partitions(clip_partitions.name)
        for first, last in clip_ranges(keys, registered, CLIPS_PER_RUN):
            result = ingest_range(instance, first, last, workers)
            if not result.success:  # clips the run never reached (it failed before them) fail with its error
                span = registered[registered.index(first):registered.index(last) + 1]
                for key in (k for k in span if k not in done):
                    report(batch.ClipOutcome(key, failed_step="run", cause=_first_error(result)))
    finally:
        batch.PROGRESS_LISTENERS.remove(report)
        bar.close()
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=0, help="clips ingested at once (default: the cores)")
    parser.add_argument("--ingest-only", action="store_true", help="stop after raw_clips and clips_4fps")
    args = parser.parse_args(argv)
    t0 = time.time()
    storage = DataDirResource()
    with DagsterInstance.get() as instance:
        keys = register_partitions(instance, storage)
        print(f"{len(keys)} clips registered from {storage.manifest_path}")
        failed = ingest_all(keys, args.workers or None, instance=instance)
    print(f"ingest: {len(keys) - len(failed)} ok, {len(failed)} failed ({time.time() - t0:.0f} s)")
    if args.ingest_only:
        return 1 if len(failed) == len(keys) else 0
    from dagster import AssetSelection

    from football_assets.definitions import defs
    from football_assets.defs.training.jobs import DOWNSTREAM_GROUPS

    if not AssetSelection.groups(*DOWNSTREAM_GROUPS).resolve(defs.resolve_asset_graph()):
        print("no downstream assets defined yet")
        return 1 if failed else 0
    with DagsterInstance.get() as instance:
        result = execute_job(reconstructable(_training_job), instance=instance, run_config=QUIET,
                             raise_on_error=False)
    print(f"downstream graph: {'ok' if result.success else 'FAILED'} ({time.time() - t0:.0f} s in all)")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
