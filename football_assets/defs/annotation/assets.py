"""clips_4fps -> Label Studio tasks -> annotation snapshot, and the model's predictions back into Label
Studio as pre-annotations. Thin wiring around ``core/annotation``; with no Label Studio configured,
``annotations`` reads export files from ``<data>/labels/`` instead (the demo's ground truth lives there)."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from football_assets.core.annotation import demo_labels, snapshots
from football_assets.core.annotation.ls_client import LabelStudioClient
from football_assets.core.fsutil import read_json
from football_assets.core.ingest import catalog
from football_assets.core.layout import DataLayout
from football_assets.defs.checks import check_specs, to_asset_check
from resources import DataDirResource
from resources.label_studio import LabelStudioResource

TASK_CHECKS = {
    "one_task_per_clip": "Every 4 fps clip has exactly one Label Studio task (keyed by clip id).",
    "task_fps_matches_clip": "Each task's fps equals its clip's fps.",
}
#: The snapshot's own rules (``snapshots.SNAPSHOT_CHECKS``) plus the two that compare it with the clips.
ANNOTATION_CHECKS = {
    **snapshots.SNAPSHOT_CHECKS,
    "task_fps_matches_clip": "Each annotated task's fps equals its clip's fps.",
    "counts_reconcile": "Clips, tasks and annotated tasks are counted and no annotated clip is lost on the way.",
}


def _client(label_studio: LabelStudioResource) -> LabelStudioClient:
    return LabelStudioClient(label_studio.url, label_studio.api_key, label_studio.project_title)


@asset(
    group_name="annotation",
    kinds={"labelstudio"},
    deps=[AssetKey("clips_4fps")],
    description="One Label Studio task per 4 fps clip (clip id, fps, video URL), created once. No-op without a server.",
    check_specs=check_specs("label_studio_tasks", TASK_CHECKS),
)
def label_studio_tasks(context: AssetExecutionContext, storage: DataDirResource,
                       label_studio: LabelStudioResource) -> MaterializeResult:
    clips = catalog.list_clips(DataLayout.at(storage.root))
    if not label_studio.configured:
        context.log.info("no Label Studio configured (LABEL_STUDIO_URL): nothing to push")
        return MaterializeResult(
            metadata={"mode": "embedded (no server)", "clips": len(clips)}, data_version=DataVersion("embedded"),
            check_results=[AssetCheckResult(check_name=n, passed=True, metadata={"skipped": "no server"})
                           for n in TASK_CHECKS])
    client = _client(label_studio)
    project = client.ensure_project()
    client.ensure_local_storage(project, DataLayout.at(storage.root).clips_dir)
    pushed = client.push_tasks(project, clips)
    tasks = client.tasks_by_clip(project)
    fps = {c["clip_id"]: float(c["fps"]) for c in clips}
    dupes = sorted(k for k, v in tasks.items() if len(v) > 1)
    no_task = sorted(set(fps) - set(tasks))
    bad_fps = sorted(k for k, v in tasks.items() if k in fps and any(float(t["data"].get("fps", 0)) != fps[k] for t in v))
    context.log.info(f"project {project}: {pushed['created']} tasks created")
    return MaterializeResult(
        metadata={"mode": "server", "url": label_studio.url, "project_id": project, "clips": len(clips),
                  "tasks": sum(len(v) for v in tasks.values()), "tasks_created": pushed["created"]},
        data_version=DataVersion(f"{project}-{len(tasks)}"),
        check_results=[
            AssetCheckResult(check_name="one_task_per_clip", passed=not dupes and not no_task,
                             metadata={"duplicated": ", ".join(dupes[:20]), "without_task": ", ".join(no_task[:20])}),
            AssetCheckResult(check_name="task_fps_matches_clip", passed=not bad_fps,
                             metadata={"mismatched": ", ".join(bad_fps[:20])}),
        ],
    )


@asset(
    group_name="annotation",
    kinds={"labelstudio", "parquet"},
    deps=[label_studio_tasks, AssetKey("clips_4fps")],
    description="Submitted annotations (cancelled/skipped excluded) in seconds, one row per event with its "
                "description, annotator, lead time and updated_at; several annotators -> tIoU agreement and one "
                "kept annotation (rule in core/annotation/snapshots.py). Immutable snapshot annotations/<version>/.",
    check_specs=check_specs("annotations", ANNOTATION_CHECKS, blocking=set(ANNOTATION_CHECKS) - {"counts_reconcile"}),
)
def annotations(context: AssetExecutionContext, storage: DataDirResource,
                label_studio: LabelStudioResource) -> MaterializeResult:
    layout = DataLayout.at(storage.root)
    clips = {c["clip_id"]: c for c in catalog.list_clips(layout)}
    if label_studio.configured:
        client = _client(label_studio)
        export = client.export(client.ensure_project())
        tasks = snapshots.parse_export(export, f"Label Studio project {label_studio.project_title!r}")
        source = f"server {label_studio.url}"
    else:
        demo_labels.write_demo_labels(layout, list(clips.values()))
        tasks = snapshots.read_export_dir(layout.labels_dir)
        source = f"export files under {layout.labels_dir}"
    annotated = [t for t in tasks if t.annotations]
    events, task_df, orphans = snapshots.build_frames(tasks, clips)
    snap = snapshots.write_snapshot(layout, events, task_df)
    bad_fps = sorted(r.clip_id for r in task_df.itertuples() if float(clips[r.clip_id]["fps"]) != r.fps)
    annotated_clips = {t.clip_id for t in annotated}
    lost = sorted(annotated_clips - set(orphans) - set(task_df.clip_id))
    counts = {"clips": len(clips), "tasks": len(tasks), "annotated_tasks": len(annotated),
              "annotated_clips": len(annotated_clips), "snapshot_clips": len(task_df),
              "annotated_without_clip": len(orphans)}
    if orphans:
        context.log.warning(f"{len(orphans)} annotated clips have no 4 fps clip, left out: {orphans[:10]}")
    agreement = task_df.agreement.dropna()
    context.log.info(f"{source}: {counts}; snapshot {snap.version}")
    checks = [to_asset_check(r) for r in snapshots.check_snapshot(events, task_df)]
    checks.append(AssetCheckResult(check_name="task_fps_matches_clip", passed=not bad_fps, severity=AssetCheckSeverity.ERROR,
                                   metadata={"mismatched": ", ".join(bad_fps[:20])}))
    checks.append(AssetCheckResult(check_name="counts_reconcile", passed=not lost and len(set(task_df.clip_id)) == len(task_df),
                                   metadata={**counts, "lost": ", ".join(lost[:20])}))
    return MaterializeResult(
        metadata={"version": snap.version, "source": source, **counts, "events": len(events),
                  "events_per_class": MetadataValue.json(events.event.value_counts().to_dict()),
                  "multi_annotator_clips": int((task_df.annotators > 1).sum()),
                  **({"mean_agreement": float(agreement.mean())} if len(agreement) else {}),
                  "path": MetadataValue.path(str(layout.annotations_dir / snap.version))},
        data_version=DataVersion(snap.version),
        check_results=checks,
    )


@asset(
    group_name="annotation",
    kinds={"labelstudio"},
    deps=[label_studio_tasks, AssetKey("predictions")],
    description="The latest model predictions (<data>/predictions/latest.json) pushed to Label Studio as "
                "pre-annotations, once per task and model version. No-op without a server or predictions.",
)
def label_studio_predictions(context: AssetExecutionContext, storage: DataDirResource,
                             label_studio: LabelStudioResource) -> MaterializeResult:
    preds = read_json(DataLayout.at(storage.root).predictions_file)
    if not label_studio.configured or not preds:
        why = "no Label Studio configured (LABEL_STUDIO_URL)" if not label_studio.configured else "no predictions yet"
        context.log.info(f"{why}: nothing to push")
        return MaterializeResult(metadata={"mode": why, "predictions_added": 0}, data_version=DataVersion("none"))
    client = _client(label_studio)
    project = client.ensure_project()
    added = client.push_predictions(project, preds, client.tasks_by_clip(project))
    context.log.info(f"project {project}: {added} predictions added ({preds.get('model_version', '')})")
    return MaterializeResult(
        metadata={"project_id": project, "predictions_added": added, "model_version": preds.get("model_version", ""),
                  "clips_with_predictions": len(preds.get("clips", {}))},
        data_version=DataVersion(f"{project}-{preds.get('model_version', '')}"),
    )
