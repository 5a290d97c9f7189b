"""clips_4fps -> Label Studio tasks -> annotation snapshot. Thin wiring around ``core.annotations`` and
``core.label_studio_client``; with no Label Studio configured, ``annotations`` reads export files from
``<data>/labels/`` instead (the demo's ground truth lives there)."""

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetKey,
                     DataVersion, MaterializeResult, MetadataValue, asset)

from football_assets.core import annotations as ann
from football_assets.core import ingest
from football_assets.core.fsutil import read_json
from resources import DataDirResource
from resources.label_studio import LabelStudioResource

TASK_CHECKS = {
    "one_task_per_clip": "Every 4 fps clip has exactly one Label Studio task (keyed by clip id).",
    "task_fps_matches_clip": "Each task's fps equals its clip's fps.",
}
ANNOTATION_CHECKS = {
    "labels_known": "Every label is one of EVENT_CLASSES.",
    "start_before_end": "Every event starts before it ends.",
    "inside_clip": "Every event lies inside its clip's duration (within one frame).",
    "task_fps_matches_clip": "Each annotated task's fps equals its clip's fps.",
    "counts_reconcile": "Clips, tasks and annotated tasks are counted and no annotated clip is lost on the way.",
}


def _predictions(storage: DataDirResource):
    return read_json(storage.layout.root / "predictions" / "latest.json")


@asset(
    group_name="annotation",
    kinds={"labelstudio"},
    deps=[AssetKey("clips_4fps")],
    description="One Label Studio task per 4 fps clip (clip id, fps, video URL), created once; the latest model "
                "predictions (<data>/predictions/latest.json) go in as pre-annotations. No-op without a server.",
    check_specs=[AssetCheckSpec(n, asset="label_studio_tasks", description=d) for n, d in TASK_CHECKS.items()],
)
def label_studio_tasks(context: AssetExecutionContext, storage: DataDirResource,
                       label_studio: LabelStudioResource) -> MaterializeResult:
    clips = ingest.list_clips(storage.layout)
    if not label_studio.configured:
        context.log.info("no Label Studio configured (LABEL_STUDIO_URL): nothing to push")
        return MaterializeResult(
            metadata={"mode": "embedded (no server)", "clips": len(clips)}, data_version=DataVersion("embedded"),
            check_results=[AssetCheckResult(check_name=n, passed=True, metadata={"skipped": "no server"})
                           for n in TASK_CHECKS])
    client = label_studio.client()
    project = client.ensure_project()
    client.ensure_local_storage(project, storage.layout.clips_dir)
    pushed = client.push_tasks(project, clips)
    tasks = client.tasks_by_clip(project)
    preds = _predictions(storage)
    n_preds = client.push_predictions(project, preds, tasks) if preds else 0
    fps = {c["clip_id"]: float(c["fps"]) for c in clips}
    dupes = sorted(k for k, v in tasks.items() if len(v) > 1)
    no_task = sorted(set(fps) - set(tasks))
    bad_fps = sorted(k for k, v in tasks.items() if k in fps and any(float(t["data"].get("fps", 0)) != fps[k] for t in v))
    context.log.info(f"project {project}: {pushed['created']} tasks created, {n_preds} predictions added")
    return MaterializeResult(
        metadata={"mode": "server", "url": label_studio.url, "project_id": project, "clips": len(clips),
                  "tasks": sum(len(v) for v in tasks.values()), "tasks_created": pushed["created"],
                  "predictions_added": n_preds,
                  "model_version": (preds or {}).get("model_version", "")},
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
                "kept annotation (rule in core/annotations.py). Immutable snapshot annotations/<version>/.",
    check_specs=[AssetCheckSpec(n, asset="annotations", blocking=n != "counts_reconcile", description=d)
                 for n, d in ANNOTATION_CHECKS.items()],
)
def annotations(context: AssetExecutionContext, storage: DataDirResource,
                label_studio: LabelStudioResource) -> MaterializeResult:
    layout = storage.layout
    clips = {c["clip_id"]: c for c in ingest.list_clips(layout)}
    if label_studio.configured:
        client = label_studio.client()
        export = client.export(client.ensure_project())
        tasks = ann.parse_export(export, f"Label Studio project {label_studio.project_title!r}")
        source = f"server {label_studio.url}"
    else:
        tasks = ann.read_export_dir(layout.labels_dir)
        source = f"export files under {layout.labels_dir}"
    annotated = [t for t in tasks if t.annotations]
    events, task_df, orphans = ann.build_frames(tasks, clips)
    snap = ann.write_snapshot(layout, events, task_df)
    problems = ann.check_snapshot(events, task_df)
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
    checks = [AssetCheckResult(check_name=name, passed=not found, severity=AssetCheckSeverity.ERROR,
                               metadata={"failures": len(found), "examples": "; ".join(found[:10])})
              for name, found in problems.items()]
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
