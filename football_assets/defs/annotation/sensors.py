"""Polls Label Studio for new submitted annotations: refreshes the ``annotations`` snapshot when there are
some, and requests ``training_job`` once ``FOOTBALL_RETRAIN_AFTER`` (default 20) new ones accumulated.

Cursor (JSON): the latest annotation id and updated_at seen, and how many new annotations arrived since the
last re-training request. An unreachable server is a skip with the reason, never an error (no crash loop).
"""

import json

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from football_assets.core.annotation.ls_client import LabelStudioClient, LabelStudioError
from football_assets.defs.training.jobs import training_job
from resources import environment
from resources.label_studio import LabelStudioResource

annotations_sync_job = define_asset_job(
    "annotations_sync_job", selection=AssetSelection.assets("annotations"),
    description="Pull submitted annotations from Label Studio into a new snapshot.",
)


def retrain_after() -> int:
    return environment.retrain_after()


def submitted(export: list[dict]) -> list[tuple[int, str]]:
    """(annotation id, updated_at) of every submitted (not cancelled) annotation in an export."""
    return [(int(a["id"]), str(a.get("updated_at") or "")) for t in export for a in (t.get("annotations") or [])
            if not a.get("was_cancelled")]


def evaluate(cursor: dict, export: list[dict], threshold: int) -> tuple[dict, bool, bool, int]:
    """(new cursor, refresh annotations?, retrain?, number of new or updated annotations)."""
    last_id, last_at = int(cursor.get("last_id", 0)), str(cursor.get("last_updated_at", ""))
    anns = submitted(export)
    new = [a for a in anns if a[0] > last_id or a[1] > last_at]
    pending = int(cursor.get("since_training", 0)) + len(new)
    retrain = pending >= threshold
    out = {"last_id": max([last_id] + [a[0] for a in anns]), "last_updated_at": max([last_at] + [a[1] for a in anns]),
           "since_training": 0 if retrain else pending}
    return out, bool(new), retrain, len(new)


@sensor(jobs=[annotations_sync_job, training_job], minimum_interval_seconds=120,
        default_status=DefaultSensorStatus.RUNNING,
        description="New submitted annotations in Label Studio -> annotations snapshot; enough of them -> re-train.")
def label_studio_sensor(context: SensorEvaluationContext, label_studio: LabelStudioResource):
    if not label_studio.configured:
        return SkipReason("no Label Studio configured (LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY unset)")
    client = LabelStudioClient(label_studio.url, label_studio.api_key, label_studio.project_title)
    if not client.health():
        return SkipReason(f"Label Studio at {client.url} is unreachable; will retry")
    try:
        export = client.export(client.ensure_project())
    except LabelStudioError as exc:
        return SkipReason(str(exc))
    cursor = json.loads(context.cursor) if context.cursor else {}
    new_cursor, refresh, retrain, n_new = evaluate(cursor, export, retrain_after())
    if not refresh:
        return SkipReason(f"no new submitted annotations (latest id {new_cursor['last_id']})")
    tag = f"{new_cursor['last_id']}-{new_cursor['last_updated_at']}"
    # training_job starts with the annotation group, so a re-train also refreshes the snapshot
    runs = [RunRequest(run_key=f"retrain-{tag}", job_name=training_job.name) if retrain
            else RunRequest(run_key=f"annotations-{tag}", job_name=annotations_sync_job.name)]
    context.log.info(f"{n_new} new/updated annotations; retrain={retrain}")
    return SensorResult(run_requests=runs, cursor=json.dumps(new_cursor))
