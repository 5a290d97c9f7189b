"""The main command's driver: register every manifest clip, ingest each clip in its own run (two at a
time, one bad clip never stops the others), then materialize the downstream graph in one run.

Everything lands in the project's Dagster instance (``DAGSTER_HOME``), so the UI shows the same
materializations, checks and lineage afterwards.
"""

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from dagster import DagsterInstance, execute_job, reconstructable

from football_assets.core.ingest import catalog
from football_assets.defs.ingest.partitions import clip_partitions
from football_assets.defs.ingest.sensors import resolve_sources
from football_assets.core.layout import DataLayout
from resources import DataDirResource


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _ingest_job():
    from football_assets.definitions import defs

    return defs.resolve_job_def("ingest_job")


def _training_job():
    from football_assets.definitions import defs

    return defs.resolve_job_def("training_job")


def ingest_partition(key: str) -> tuple[str, bool, str]:
    """Run ``ingest_job`` for one clip in this process; return (key, success, first error)."""
    with DagsterInstance.get() as instance:
        result = execute_job(reconstructable(_ingest_job), instance=instance, run_config=QUIET, tags={"dagster/partition": key},
                             raise_on_error=False)
        error = ""
        if not result.success:
            for ev in result.all_events:
                if ev.is_step_failure and ev.step_failure_data and ev.step_failure_data.error:
                    error = ev.step_failure_data.error.message.strip().splitlines()[0]
                    break
        return key, result.success, error


def register_partitions(instance: DagsterInstance, storage: DataDirResource) -> list[str]:
    sources = resolve_sources(storage)
    catalog.register(DataLayout.at(storage.root), sources)
    keys = [s.key for s in sources]
    known = set(instance.get_dynamic_partitions(clip_partitions.name))
    missing = [k for k in keys if k not in known]
    if missing:
        instance.add_dynamic_partitions(clip_partitions.name, missing)
    return keys


def ingest_all(keys: list[str], workers: int = 2, log=print) -> dict[str, str]:
    """Ingest every clip; return {key: error} for the clips that failed."""
    failed: dict[str, str] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(ingest_partition, k) for k in keys]
        for i, fut in enumerate(as_completed(futures), 1):
            key, ok, error = fut.result()
            if not ok:
                failed[key] = error
            log(f"[ingest {i}/{len(keys)}] {key}: {'ok' if ok else 'FAILED ' + error}")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="clips ingested at once")
    parser.add_argument("--ingest-only", action="store_true", help="stop after raw_clips and clips_4fps")
    args = parser.parse_args(argv)
    t0 = time.time()
    storage = DataDirResource()
    with DagsterInstance.get() as instance:
        keys = register_partitions(instance, storage)
    print(f"{len(keys)} clips registered from {storage.manifest_path}")
    failed = ingest_all(keys, args.workers)
    print(f"ingest: {len(keys) - len(failed)} ok, {len(failed)} failed ({time.time() - t0:.0f} s)")
    if args.ingest_only:
        return 1 if len(failed) == len(keys) else 0
    from football_assets.definitions import defs
    from football_assets.defs.training.jobs import DOWNSTREAM_GROUPS
    from dagster import AssetSelection

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
