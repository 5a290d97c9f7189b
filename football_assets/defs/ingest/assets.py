"""raw_clips -> clips_4fps, one partition per clip, many partitions per run. Thin wiring around
``core/ingest`` (batch and catalog).

One op makes both assets so each clip flows raw -> 4 fps in one worker of a pool sized to the cores.
Every clip is reported on its own partition as it completes (materializations and check results
carry ``partition=<clip>``); a failing clip logs its cause (and, for a bug, the traceback) and the
others go on. At the end the step fails if any clip failed, naming each one, so Dagster marks just the
unmaterialized partitions failed. A backfill of N clips becomes ceil(N / CLIPS_PER_RUN) such runs.
"""

import warnings

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    BackfillPolicy,
    Config,
    Failure,
    MetadataValue,
    multi_asset,
)

from football_assets.core.checks import CheckResult
from football_assets.core.ingest import batch, catalog
from football_assets.core.ingest.video import CLIP_CHECKS
from football_assets.core.layout import DataLayout
from football_assets.defs.ingest.partitions import CLIPS_PER_RUN, clip_partitions
from football_assets.defs.placement import CPU_TAGS
from resources import DataDirResource, environment

RAW, CLIPS = AssetKey("raw_clips"), AssetKey("clips_4fps")

class IngestConfig(Config):
    workers: int = 0  # clips at once; 0 = the cores this run may use (FOOTBALL_INGEST_WORKERS overrides)
    verify: bool = False  # decode each fresh 4 fps clip again with ffprobe (the encoder's frame count otherwise)


with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # partitions_def on AssetCheckSpec is a preview feature
    CHECK_SPECS = [AssetCheckSpec("has_video_stream", asset=RAW, blocking=True, partitions_def=clip_partitions,
                                  description="The raw file probes as a video of positive duration.")] + \
                  [AssetCheckSpec(name, asset=CLIPS, blocking=True, partitions_def=clip_partitions, description=d)
                   for name, d in CLIP_CHECKS.items()]


@multi_asset(
    name="ingest_clips",
    specs=[
        AssetSpec(RAW, group_name="ingest", kinds={"video", "ffmpeg"}, code_version="1", skippable=True,
                  partitions_def=clip_partitions,
                  description="The source clip as fetched: yt-dlp download (<=720p, mp4), local copy, or the "
                              "synthetic demo; cut to the manifest's start/end."),
        AssetSpec(CLIPS, group_name="ingest", kinds={"video", "ffmpeg"}, code_version=catalog.CLIP_FORMAT_VERSION,
                  deps=[RAW], skippable=True, partitions_def=clip_partitions,
                  description="The model clip: constant 4 fps, 720x480 (aspect kept with black padding), H.264 "
                              "yuv420p, faststart, rotation applied, no audio."),
    ],
    check_specs=CHECK_SPECS,
    partitions_def=clip_partitions,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=CLIPS_PER_RUN),
    can_subset=True,
    op_tags=CPU_TAGS,
)
def ingest_clips(context: AssetExecutionContext, config: IngestConfig, storage: DataDirResource):
    keys = context.partition_keys
    steps = [s for s, k in (("raw", RAW), ("clip", CLIPS)) if k in context.selected_asset_keys]
    workers = min(config.workers or batch.default_workers(environment.ingest_workers()), len(keys))
    context.log.info(f"ingesting {len(keys)} clip(s) ({' -> '.join(steps)}), {workers} at a time")
    failed: list[batch.ClipOutcome] = []
    for outcome in batch.ingest_many(DataLayout.at(storage.root), keys, steps, workers=workers, verify=config.verify):
        if "raw" in outcome.results:
            yield from _raw_events(outcome.key, outcome.results["raw"])
        if "clip" in outcome.results:
            yield from _clip_events(outcome.key, outcome.results["clip"])
        if not outcome.ok:  # (no log line per good clip: every event is instance writes, ~0.1 s each on SQLite)
            failed.append(outcome)
            context.log.error(outcome.line + (f"\n{outcome.traceback}" if outcome.traceback else ""))
    if failed:
        lines = [o.line for o in sorted(failed, key=lambda o: o.key)]
        raise Failure(
            description=lines[0] if len(keys) == 1 else f"{len(failed)} of {len(keys)} clips failed:\n" + "\n".join(lines),
            metadata={"failed_clips": MetadataValue.json({o.key: o.cause for o in failed}),
                      "failed_steps": MetadataValue.json({o.key: o.failed_step for o in failed})},
            allow_retries=False,
        )


def _versioned(facts: dict, code_version: str) -> dict:
    return {"dagster/data_version": facts["sha256"][:16], "dagster/code_version": code_version}


def _raw_events(key: str, result: catalog.StepResult):
    f = result.facts
    yield AssetMaterialization(
        RAW, partition=key, tags=_versioned(f, "1"),
        metadata={
            "source": f["source"], "source_kind": f["source_kind"], "source_id": f["source_id"],
            "title": f.get("title") or "", "duration_s": f["duration_s"], "fps": f["fps"],
            "resolution": f["resolution"], "codec": f["codec"], "sha256": f["sha256"],
            "size_bytes": f["size_bytes"], "path": MetadataValue.path(f["path"]), "cached": result.cached,
        })
    yield AssetCheckEvaluation(asset_key=RAW, check_name="has_video_stream", passed=f["duration_s"] > 0,
                               metadata={"duration_s": f["duration_s"]}, severity=AssetCheckSeverity.ERROR,
                               blocking=True, partition=key)


def _clip_events(key: str, result: catalog.StepResult):
    f = result.facts
    yield AssetMaterialization(
        CLIPS, partition=key, tags=_versioned(f, catalog.CLIP_FORMAT_VERSION),
        metadata={"frames": f["frames"], "duration_s": f["duration_s"], "padding": f["padded"],
                  "path": MetadataValue.path(f["path"]), "cached": result.cached, "sha256": f["sha256"]})
    outcomes = [CheckResult(**c) for c in f["checks"]]
    assert [o.name for o in outcomes] == list(CLIP_CHECKS)
    for o in outcomes:
        yield AssetCheckEvaluation(asset_key=CLIPS, check_name=o.name, passed=o.passed, metadata={},
                                   severity=AssetCheckSeverity.ERROR, description=o.description, blocking=True,
                                   partition=key)
